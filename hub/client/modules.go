package client

import (
	"context"
	"encoding/json"

	"github.com/edgeplane/edgeplane/hub/api"
)

func modulePath(device, module string) string {
	return "/v1/devices/" + seg(device) + "/modules/" + seg(module)
}

// ListModules returns every module of a device, in name order.
func (c *Client) ListModules(ctx context.Context, device string) ([]api.Module, error) {
	var out api.ModuleList
	if err := c.do(ctx, "GET", "/v1/devices/"+seg(device)+"/modules", nil, 0, nil, &out); err != nil {
		return nil, err
	}
	return out.Modules, nil
}

// GetModule returns one module; ErrNotFound when it or its device is gone.
func (c *Client) GetModule(ctx context.Context, device, name string) (*api.Module, error) {
	var out api.Module
	if err := c.do(ctx, "GET", modulePath(device, name), nil, 0, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutModule creates or replaces module m.Name of device; see PutDevice for
// ifMatch.
func (c *Client) PutModule(ctx context.Context, device string, m api.Module, ifMatch int64) (*api.Module, error) {
	var out api.Module
	if err := c.do(ctx, "PUT", modulePath(device, m.Name), nil, ifMatch, m, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteModule deletes a module and its twin.
func (c *Client) DeleteModule(ctx context.Context, device, name string) error {
	return c.do(ctx, "DELETE", modulePath(device, name), nil, 0, nil, nil)
}

// GetTwin returns a module's twin.
func (c *Client) GetTwin(ctx context.Context, device, module string) (*api.Twin, error) {
	var out api.Twin
	if err := c.do(ctx, "GET", modulePath(device, module)+"/twin", nil, 0, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutTwinDesired replaces a twin's desired properties with the JSON object
// desired. ifMatch, when above zero, is compared with the desired version.
func (c *Client) PutTwinDesired(ctx context.Context, device, module string, desired json.RawMessage,
	ifMatch int64,
) (*api.Twin, error) {
	var out api.Twin
	body := api.TwinDesiredUpdate{Desired: desired}
	if err := c.do(ctx, "PUT", modulePath(device, module)+"/twin", nil, ifMatch, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PatchTwinDesired applies a JSON merge patch (RFC 7396) to a twin's desired
// properties.
func (c *Client) PatchTwinDesired(ctx context.Context, device, module string, patch json.RawMessage,
	ifMatch int64,
) (*api.Twin, error) {
	var out api.Twin
	body := api.TwinDesiredUpdate{Desired: patch}
	if err := c.do(ctx, "PATCH", modulePath(device, module)+"/twin", nil, ifMatch, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
