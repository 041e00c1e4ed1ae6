package client

import (
	"context"
	"net/url"
	"sort"
	"strconv"

	"github.com/edgeplane/edgeplane/hub/api"
)

// ListDevicesOptions filters and pages ListDevices.
type ListDevicesOptions struct {
	// Tags keeps devices that carry every one of these tags.
	Tags map[string]string
	// Limit is the page size; 0 lets the hub choose.
	Limit int
	// PageToken continues from a previous page's NextPageToken.
	PageToken string
	// IncludeStatus asks the hub for each device's reported state in
	// Device.Status (include=status), read with the page. A hub older than
	// include=status leaves Status nil.
	IncludeStatus bool
}

// ListDevices returns one page of devices, without their keys.
func (c *Client) ListDevices(ctx context.Context, opts ListDevicesOptions) (*api.DeviceList, error) {
	q := url.Values{}
	keys := make([]string, 0, len(opts.Tags))
	for k := range opts.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Add("tag", k+"="+opts.Tags[k])
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.PageToken != "" {
		q.Set("page_token", opts.PageToken)
	}
	if opts.IncludeStatus {
		q.Set("include", "status")
	}
	var out api.DeviceList
	if err := c.do(ctx, "GET", "/v1/devices", q, 0, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllDevices follows every page of ListDevices and returns the devices that
// carry all of tags.
func (c *Client) AllDevices(ctx context.Context, tags map[string]string) ([]api.Device, error) {
	return c.allDevices(ctx, ListDevicesOptions{Tags: tags})
}

// AllDevicesWithStatus is AllDevices with each device's reported state in
// Device.Status: one request per page, however many devices it holds. A
// device's Status is nil only when the hub is older than include=status;
// GetDeviceStatus reads it then.
func (c *Client) AllDevicesWithStatus(ctx context.Context, tags map[string]string) ([]api.Device, error) {
	return c.allDevices(ctx, ListDevicesOptions{Tags: tags, IncludeStatus: true})
}

func (c *Client) allDevices(ctx context.Context, opts ListDevicesOptions) ([]api.Device, error) {
	var all []api.Device
	for {
		page, err := c.ListDevices(ctx, opts)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Devices...)
		if page.NextPageToken == "" || page.NextPageToken == opts.PageToken {
			return all, nil
		}
		opts.PageToken = page.NextPageToken
	}
}

// GetDevice returns one device including its key. It returns an error
// matching ErrNotFound when there is no such device.
func (c *Client) GetDevice(ctx context.Context, id string) (*api.Device, error) {
	var out api.Device
	if err := c.do(ctx, "GET", "/v1/devices/"+seg(id), nil, 0, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutDevice creates or replaces device d.ID and returns the stored device.
// When ifMatch is above zero the hub refuses the write with an error
// matching ErrVersionMismatch unless the stored version equals ifMatch.
func (c *Client) PutDevice(ctx context.Context, d api.Device, ifMatch int64) (*api.Device, error) {
	var out api.Device
	if err := c.do(ctx, "PUT", "/v1/devices/"+seg(d.ID), nil, ifMatch, d, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteDevice deletes a device with everything it holds. A device that does
// not exist gives an error matching ErrNotFound.
func (c *Client) DeleteDevice(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/devices/"+seg(id), nil, 0, nil, nil)
}

// GetDeviceStatus returns what device id last reported.
func (c *Client) GetDeviceStatus(ctx context.Context, id string) (*api.DeviceStatus, error) {
	var out api.DeviceStatus
	if err := c.do(ctx, "GET", "/v1/devices/"+seg(id)+"/status", nil, 0, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
