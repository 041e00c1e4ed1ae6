package client

import (
	"context"

	"github.com/edgeplane/edgeplane/hub/api"
)

func registryPath(device, name string) string {
	return "/v1/devices/" + seg(device) + "/registries/" + seg(name)
}

// ListRegistries returns a device's registry credentials without passwords.
func (c *Client) ListRegistries(ctx context.Context, device string) ([]api.Registry, error) {
	var out api.RegistryList
	if err := c.do(ctx, "GET", "/v1/devices/"+seg(device)+"/registries", nil, 0, nil, &out); err != nil {
		return nil, err
	}
	return out.Registries, nil
}

// GetRegistry returns one registry credential with its password blanked.
func (c *Client) GetRegistry(ctx context.Context, device, name string) (*api.Registry, error) {
	var out api.Registry
	if err := c.do(ctx, "GET", registryPath(device, name), nil, 0, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutRegistry creates or replaces registry credential r.Name of device; see
// PutDevice for ifMatch.
func (c *Client) PutRegistry(ctx context.Context, device string, r api.Registry, ifMatch int64) (*api.Registry, error) {
	var out api.Registry
	if err := c.do(ctx, "PUT", registryPath(device, r.Name), nil, ifMatch, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteRegistry deletes a registry credential.
func (c *Client) DeleteRegistry(ctx context.Context, device, name string) error {
	return c.do(ctx, "DELETE", registryPath(device, name), nil, 0, nil, nil)
}
