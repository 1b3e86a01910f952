package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/alluvium/alluvium/api"
)

// Mounts lists the mount points; secret options are answered as "***".
func (c *Client) Mounts(ctx context.Context) (api.Mounts, error) {
	var out api.Mounts
	return out, c.get(ctx, "/api/v1/mount", nil, &out)
}

// Mount returns one mount point (IsNotFound when path is not one).
func (c *Client) Mount(ctx context.Context, path string) (api.Mount, error) {
	var out api.Mount
	return out, c.get(ctx, "/api/v1/mount", url.Values{"path": {path}}, &out)
}

// AddMount mounts m.UFS at m.Path. IsConflict when the path is mounted, lies
// inside or above a mount point, or the UFS is mounted elsewhere.
func (c *Client) AddMount(ctx context.Context, m api.Mount) (api.Mount, error) {
	var out api.Mount
	return out, c.send(ctx, http.MethodPost, "/api/v1/mount", m, &out)
}

// RemoveMount unmounts path, with the policies under it (IsGone when it is
// not mounted).
func (c *Client) RemoveMount(ctx context.Context, path string) error {
	return c.send(ctx, http.MethodDelete, "/api/v1/mount", api.PathRequest{Path: path}, nil)
}
