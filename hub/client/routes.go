package client

import (
	"context"

	"github.com/edgeplane/edgeplane/hub/api"
)

func routePath(device, name string) string {
	return "/v1/devices/" + seg(device) + "/routes/" + seg(name)
}

// ListRoutes returns every route of a device, in name order.
func (c *Client) ListRoutes(ctx context.Context, device string) ([]api.Route, error) {
	var out api.RouteList
	if err := c.do(ctx, "GET", "/v1/devices/"+seg(device)+"/routes", nil, 0, nil, &out); err != nil {
		return nil, err
	}
	return out.Routes, nil
}

// GetRoute returns one route.
func (c *Client) GetRoute(ctx context.Context, device, name string) (*api.Route, error) {
	var out api.Route
	if err := c.do(ctx, "GET", routePath(device, name), nil, 0, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutRoute creates or replaces route r.Name of device; see PutDevice for
// ifMatch.
func (c *Client) PutRoute(ctx context.Context, device string, r api.Route, ifMatch int64) (*api.Route, error) {
	var out api.Route
	if err := c.do(ctx, "PUT", routePath(device, r.Name), nil, ifMatch, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteRoute deletes a route.
func (c *Client) DeleteRoute(ctx context.Context, device, name string) error {
	return c.do(ctx, "DELETE", routePath(device, name), nil, 0, nil, nil)
}
