package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/jsonhttp"
)

// ReadReplicas is how many owners a read tries, in ring order.
const ReadReplicas = 3

// Reader is an open file of the cache: its bytes, and the worker that
// served them.
type Reader struct {
	io.ReadCloser
	Size   int64  // -1 when unknown
	Worker string // the worker that answered
}

// Open reads an Alluxio path through the workers: it locates the owners on
// the ring of the LIVE workers (the ring every worker computes too) and
// asks the owner, falling back to the next replica when a worker cannot be
// reached or fails. rangeHeader, when set, is sent as the HTTP Range
// header (e.g. "bytes=0-1023"). With WithRingCache, a read that failed on
// every owner of a cached ring is tried once more on a fresh one.
func (c *Client) Open(ctx context.Context, path, rangeHeader string) (*Reader, error) {
	v, cached, err := c.liveView(ctx)
	if err != nil {
		return nil, err
	}
	rd, err := c.openOwners(ctx, v, path, rangeHeader)
	if err != nil && cached && errors.Is(err, ErrUnavailable) {
		if v, _, err = c.liveView(ctx); err != nil {
			return nil, err
		}
		rd, err = c.openOwners(ctx, v, path, rangeHeader)
	}
	return rd, err
}

// openOwners asks path's owners on v's ring in turn.
func (c *Client) openOwners(ctx context.Context, v *ringView, path, rangeHeader string) (*Reader, error) {
	var buf [ReadReplicas]string
	owners := v.ring.AppendOwners(buf[:0], path, ReadReplicas)
	if len(owners) == 0 {
		return nil, fmt.Errorf("%w: no live worker to read %s from", ErrUnavailable, path)
	}
	var errs []error
	for i, id := range owners {
		u := "http://" + v.addr[id] + api.PathWorkerDataRoot + escapePath(path)
		if i > 0 {
			u += "?local=true" // a replica serves without redirecting to the owner
		}
		rd, err := c.openData(ctx, u, rangeHeader)
		if err == nil {
			rd.Worker = id
			return rd, nil
		}
		var ce *Error
		if errors.As(err, &ce) && ce.StatusCode < 500 {
			return nil, err // 404, 416: the answer, not a failure of the worker
		}
		c.forgetView(v)
		if ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", id, err))
	}
	return nil, fmt.Errorf("%w: every owner of %s failed: %w", ErrUnavailable, path, errors.Join(errs...))
}

func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

func (c *Client) openData(ctx context.Context, u, rangeHeader string) (*Reader, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if rangeHeader != "" {
		req.Header.Set("Range", rangeHeader)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.data.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		e := jsonhttp.ReadError(resp)
		return nil, &Error{StatusCode: e.StatusCode, Message: e.Reason()}
	}
	return &Reader{ReadCloser: resp.Body, Size: resp.ContentLength}, nil
}

// List returns a page of the UFS files at or under an Alluxio path,
// recursively, as a LIVE worker lists them (with whether it caches each).
// Pass the returned cursor back for the next page; "" is the end.
func (c *Client) List(ctx context.Context, path, cursor string, count int) (api.Listing, error) {
	v, cached, err := c.liveView(ctx)
	if err != nil {
		return api.Listing{}, err
	}
	out, err := c.listOn(ctx, v, path, cursor, count)
	if err != nil && cached && errors.Is(err, ErrUnavailable) {
		if v, _, err = c.liveView(ctx); err != nil {
			return api.Listing{}, err
		}
		out, err = c.listOn(ctx, v, path, cursor, count)
	}
	return out, err
}

// listOn asks the workers of v in turn for a page of the listing.
func (c *Client) listOn(ctx context.Context, v *ringView, path, cursor string, count int) (api.Listing, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if count > 0 {
		q.Set("count", strconv.Itoa(count))
	}
	var errs []error
	for _, id := range v.ids {
		u := "http://" + v.addr[id] + api.PathList + escapePath(path)
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		var out api.Listing
		err := c.getWorkerJSON(ctx, u, &out)
		if err == nil {
			return out, nil
		}
		var ce *Error
		if errors.As(err, &ce) && ce.StatusCode < 500 {
			return api.Listing{}, err
		}
		c.forgetView(v)
		if ctx.Err() != nil {
			return api.Listing{}, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", id, err))
	}
	return api.Listing{}, fmt.Errorf("%w: no live worker could list %s: %w", ErrUnavailable, path, errors.Join(errs...))
}

func (c *Client) getWorkerJSON(ctx context.Context, u string, out any) error {
	rd, err := c.openData(ctx, u, "")
	if err != nil {
		return err
	}
	defer rd.Close()
	return json.NewDecoder(io.LimitReader(rd, 64<<20)).Decode(out)
}
