package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/alluvium/alluvium/api"
)

// Nodes lists the workers with their state and reported usage.
func (c *Client) Nodes(ctx context.Context) (api.Nodes, error) {
	var out api.Nodes
	return out, c.get(ctx, "/api/v1/nodes", nil, &out)
}

// Node returns one worker (IsNotFound when unknown).
func (c *Client) Node(ctx context.Context, id string) (api.Node, error) {
	var out api.Node
	return out, c.get(ctx, "/api/v1/nodes", url.Values{"id": {id}}, &out)
}

// RemoveNode removes a worker from the membership for good (it leaves the
// ring, and the file index forgets what it held) and returns it as it was.
// A worker that is not a member answers IsNotFound.
func (c *Client) RemoveNode(ctx context.Context, id string) (api.Node, error) {
	var out api.Node
	return out, c.do(ctx, call{method: http.MethodDelete, path: "/api/v1/nodes", query: url.Values{"id": {id}}, out: &out})
}

// Decommission is RemoveNode, by its earlier name.
//
// Deprecated: use RemoveNode.
func (c *Client) Decommission(ctx context.Context, id string) (api.Node, error) {
	return c.RemoveNode(ctx, id)
}

// FileIndex returns a page of the global file index: entries whose path
// starts with prefix, after lastKey (exclusive), at most count of them (0:
// all). NextKey is set when more remain; pass it as the next lastKey.
func (c *Client) FileIndex(ctx context.Context, prefix, lastKey string, count int) (api.FileIndex, error) {
	var out api.FileIndex
	return out, c.get(ctx, "/api/v1/file_index", api.PageQuery(prefix, lastKey, count), &out)
}

// FileIndexAdd records paths in the file index (with unknown sizes) and
// returns how many were new.
func (c *Client) FileIndexAdd(ctx context.Context, paths ...string) (int, error) {
	var out api.FileIndexAdded
	return out.Added, c.send(ctx, http.MethodPost, "/api/v1/file_index", api.FileIndexRequest{Paths: paths}, &out)
}

// FileIndexAddEntries records paths with their sizes and returns how many
// were new. Holders are recorded by the workers, so entries carry none.
func (c *Client) FileIndexAddEntries(ctx context.Context, entries ...api.FileEntry) (int, error) {
	var out api.FileIndexAdded
	return out.Added, c.send(ctx, http.MethodPost, "/api/v1/file_index", api.FileIndexRequest{Entries: entries}, &out)
}

// FileIndexRemove removes paths from the file index and returns how many
// were there.
func (c *Client) FileIndexRemove(ctx context.Context, paths ...string) (int, error) {
	var out api.FileIndexRemoved
	return out.Removed, c.send(ctx, http.MethodDelete, "/api/v1/file_index", api.FileIndexRequest{Paths: paths}, &out)
}

// opClearStale is the one operation of /api/v1/cache.
const opClearStale = "clearStale"

// ClearStale tells every live worker to delete the cached data it no longer
// owns on the ring. Workers that did not accept are listed in Errors.
func (c *Client) ClearStale(ctx context.Context) (api.CacheOpResult, error) {
	var out api.CacheOpResult
	return out, c.send(ctx, http.MethodPost, "/api/v1/cache", api.CacheOp{Op: opClearStale}, &out)
}

// StopClearStale tells every live worker to stop clearing stale data.
func (c *Client) StopClearStale(ctx context.Context) (api.CacheOpResult, error) {
	var out api.CacheOpResult
	return out, c.send(ctx, http.MethodDelete, "/api/v1/cache", api.CacheOp{Op: opClearStale}, &out)
}

// ClearStaleStatus reports, per worker, whether a clear is running and what
// it did.
func (c *Client) ClearStaleStatus(ctx context.Context) (api.CacheStatus, error) {
	var out api.CacheStatus
	return out, c.get(ctx, "/api/v1/cache", nil, &out)
}
