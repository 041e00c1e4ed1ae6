package client

import (
	"context"

	"github.com/edgeplane/edgeplane/hub/api"
)

func upstreamPath(device string) string { return "/v1/devices/" + seg(device) + "/upstream" }

// GetUpstream returns a device's upstream with its secrets blanked
// (PasswordSet and ClientKeySet say whether they are stored). It returns an
// error matching ErrNotFound when the device has no upstream.
func (c *Client) GetUpstream(ctx context.Context, device string) (*api.Upstream, error) {
	var out api.Upstream
	if err := c.do(ctx, "GET", upstreamPath(device), nil, 0, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutUpstream sets a device's upstream; see PutDevice for ifMatch.
func (c *Client) PutUpstream(ctx context.Context, device string, u api.Upstream, ifMatch int64) (*api.Upstream, error) {
	var out api.Upstream
	if err := c.do(ctx, "PUT", upstreamPath(device), nil, ifMatch, u, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteUpstream removes a device's upstream.
func (c *Client) DeleteUpstream(ctx context.Context, device string) error {
	return c.do(ctx, "DELETE", upstreamPath(device), nil, 0, nil, nil)
}
