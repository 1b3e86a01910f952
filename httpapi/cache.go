package httpapi

import (
	"context"
	"net/http"

	"github.com/alluvium/alluvium/api"
)

// OpClearStale is the one cache operation the API knows.
const OpClearStale = "clearStale"

// StaleCleaner is the part of a Backend that reaches the workers: it
// starts or stops clear-stale on every member worker and reports, per
// worker id, those that did not accept, LOST ones included.
type StaleCleaner interface {
	ClearStale(ctx context.Context, start bool) (map[string]string, error)
	ClearStaleStatus(ctx context.Context) ([]api.ClearStaleStatus, error)
}

func (s *server) cacheRoutes() []route {
	return []route{
		{http.MethodGet, "/api/v1/cache", read, s.getCache}, // progress lives on the leader
		{http.MethodPost, "/api/v1/cache", local, func(r *http.Request) (any, error) { return s.cacheOp(r, true) }},
		{http.MethodDelete, "/api/v1/cache", local, func(r *http.Request) (any, error) { return s.cacheOp(r, false) }},
	}
}

func (s *server) cacheOp(r *http.Request, start bool) (any, error) {
	var req api.CacheOp
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := required("op", req.Op); err != nil {
		return nil, err
	}
	if req.Op != OpClearStale {
		return nil, errorf(http.StatusNotImplemented, "cache operation %q is not implemented (the only one is %q)", req.Op, OpClearStale)
	}
	out := api.CacheOpResult{Errors: map[string]string{}}
	errs, err := s.b.ClearStale(r.Context(), start)
	if err != nil {
		return nil, err
	}
	for id, msg := range errs {
		out.Errors[id] = msg
	}
	return out, nil
}

func (s *server) getCache(r *http.Request) (any, error) {
	if _, err := query(r); err != nil {
		return nil, err
	}
	out := api.CacheStatus{Results: []api.ClearStaleStatus{}}
	st, err := s.b.ClearStaleStatus(r.Context())
	if err != nil {
		return nil, err
	}
	out.Results = append(out.Results, st...)
	return out, nil
}
