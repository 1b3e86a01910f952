package workerclient

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/jsonhttp"
)

// Bounds of one call.
const (
	// CallTimeout bounds a short call: clear-stale, its status, a page of
	// cached files.
	CallTimeout = 10 * time.Second
	// TaskTimeout bounds a load, free or prune task: a load of a batch may
	// read many files from the UFS.
	TaskTimeout = 10 * time.Minute
)

// Client calls workers' task APIs. It is safe for concurrent use.
type Client struct {
	token string
	hc    *http.Client
}

// New returns a client that sends token (the cluster token; none when "")
// with every call, over hc (a new http.Client when nil). Calls are bounded
// by context deadlines, so hc needs no timeout of its own.
func New(token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{token: token, hc: hc}
}

// Close closes the idle connections to workers.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Load asks the worker at addr ("host:port", or a base URL) to load files
// into its cache, and returns one result per file.
func (c *Client) Load(ctx context.Context, addr string, t api.LoadTask) (api.TaskResult, error) {
	return c.task(ctx, addr, api.PathTaskLoad, t)
}

// Free asks the worker at addr to drop files (or directories) from its
// cache, and returns one result per path.
func (c *Client) Free(ctx context.Context, addr string, t api.FreeTask) (api.TaskResult, error) {
	return c.task(ctx, addr, api.PathTaskFree, t)
}

// Prune asks the worker at addr to drop the copies a rebalance moved to
// their owners, and returns one result per path.
func (c *Client) Prune(ctx context.Context, addr string, t api.FreeTask) (api.TaskResult, error) {
	return c.task(ctx, addr, api.PathTaskPrune, t)
}

func (c *Client) task(ctx context.Context, addr, path string, t any) (api.TaskResult, error) {
	var res api.TaskResult
	err := c.do(ctx, http.MethodPost, URL(addr, path), t, &res, TaskTimeout)
	return res, err
}

// ClearStale starts (or, with start false, stops) the worker's scan that
// drops the cached data it no longer owns, and returns its status. A scan
// already running answers 409.
func (c *Client) ClearStale(ctx context.Context, addr string, start bool) (api.ClearStaleStatus, error) {
	var st api.ClearStaleStatus
	err := c.do(ctx, http.MethodPost, URL(addr, api.PathClearStale), api.ClearStaleRequest{Start: start}, &st, CallTimeout)
	return st, err
}

// ClearStaleStatus returns the worker's last clear-stale progress.
func (c *Client) ClearStaleStatus(ctx context.Context, addr string) (api.ClearStaleStatus, error) {
	var st api.ClearStaleStatus
	err := c.do(ctx, http.MethodGet, URL(addr, api.PathClearStale), nil, &st, CallTimeout)
	return st, err
}

// CachedFiles lists a page of the files cached under prefix ("" for all),
// in path order after lastKey, count at a time (the worker's default when
// 0); NextKey of the answer continues the listing.
func (c *Client) CachedFiles(ctx context.Context, addr, prefix, lastKey string, count int) (api.CachedFiles, error) {
	q := api.PageQuery(prefix, lastKey, count)
	u := URL(addr, api.PathCachedFiles)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var res api.CachedFiles
	err := c.do(ctx, http.MethodGet, u, nil, &res, CallTimeout)
	return res, err
}

func (c *Client) do(ctx context.Context, method, u string, in, out any, timeout time.Duration) error {
	return jsonhttp.Do(ctx, c.hc, jsonhttp.Request{Method: method, URL: u, Token: c.token, In: in, Out: out, Timeout: timeout})
}

// URL is the URL of path on the node at addr: a "host:port" (http), or a
// base URL.
func URL(addr, path string) string {
	if strings.Contains(addr, "://") {
		return strings.TrimSuffix(addr, "/") + path
	}
	return "http://" + addr + path
}
