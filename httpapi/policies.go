package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/policy"
)

func (s *server) policyRoutes() []route {
	return []route{
		{http.MethodGet, "/api/v1/quota", read, s.getQuota},
		{http.MethodPost, "/api/v1/quota", write, s.postQuota},
		{http.MethodDelete, "/api/v1/quota", write, s.deleteQuota},
		{http.MethodGet, "/api/v1/ttl", read, s.getTTL},
		{http.MethodPost, "/api/v1/ttl", write, s.postTTL},
		{http.MethodDelete, "/api/v1/ttl", write, s.deleteTTL},
		{http.MethodGet, "/api/v1/priority", read, s.getPriority},
		{http.MethodPost, "/api/v1/priority", write, s.postPriority},
		{http.MethodDelete, "/api/v1/priority", write, s.deletePriority},
	}
}

// switchedOff answers 501 for a feature that is switched off.
func switchedOff(off bool, name string) error {
	if !off {
		return nil
	}
	return errorf(http.StatusNotImplemented, "%s is not enabled on this cluster", name)
}

// pathBody decodes a body with a required "path" field into v and returns it.
func decodePath(r *http.Request) (string, error) {
	var req api.PathRequest
	if err := decodeBody(r, &req); err != nil {
		return "", err
	}
	return req.Path, required("path", req.Path)
}

// applyDelete answers a removal, whose "not found" the contract answers 400.
func applyDelete(err error) (any, error) {
	if err != nil {
		if errors.Is(err, policy.ErrNotFound) {
			return nil, badRequest(err)
		}
		return nil, err
	}
	return api.Empty{}, nil
}

func (s *server) getQuota(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.Quota, "quota"); err != nil {
		return nil, err
	}
	q, err := query(r, "path")
	if err != nil {
		return nil, err
	}
	if p, ok := q["path"]; ok {
		v, found := s.b.Quota(p)
		if !found {
			return nil, errorf(http.StatusNotFound, "quota not found for %s", p)
		}
		return v, nil
	}
	return api.Quotas{Results: append([]api.Quota{}, s.b.Quotas()...)}, nil
}

func (s *server) postQuota(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.Quota, "quota"); err != nil {
		return nil, err
	}
	var req api.QuotaRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := required("path", req.Path); err != nil {
		return nil, err
	}
	if req.Quota == nil {
		return nil, errorf(http.StatusBadRequest, "field \"quota\" is required (bytes, or a size such as \"50GiB\")")
	}
	if *req.Quota <= 0 {
		return nil, errorf(http.StatusBadRequest, "quota must be positive")
	}
	return s.b.SetQuota(r.Context(), req.Path, int64(*req.Quota))
}

func (s *server) deleteQuota(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.Quota, "quota"); err != nil {
		return nil, err
	}
	p, err := decodePath(r)
	if err != nil {
		return nil, err
	}
	return applyDelete(s.b.DeleteQuota(r.Context(), p))
}

func (s *server) getTTL(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.TTL, "TTL"); err != nil {
		return nil, err
	}
	q, err := query(r, "path")
	if err != nil {
		return nil, err
	}
	if p, ok := q["path"]; ok {
		v, found := s.b.TTL(p)
		if !found {
			return nil, errorf(http.StatusNotFound, "ttl not found for %s", p)
		}
		return v, nil
	}
	return api.TTLs{Results: append([]api.TTL{}, s.b.TTLs()...)}, nil
}

func (s *server) postTTL(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.TTL, "TTL"); err != nil {
		return nil, err
	}
	var req api.TTL
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := required("path", req.Path); err != nil {
		return nil, err
	}
	if req.TTL == nil {
		return nil, errorf(http.StatusBadRequest, "field \"ttl\" is required (a duration such as \"1h\", or seconds)")
	}
	if *req.TTL <= 0 {
		return nil, errorf(http.StatusBadRequest, "ttl must be positive")
	}
	if err := s.b.SetTTL(r.Context(), req.Path, time.Duration(*req.TTL)); err != nil {
		return nil, err
	}
	return req, nil
}

func (s *server) deleteTTL(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.TTL, "TTL"); err != nil {
		return nil, err
	}
	p, err := decodePath(r)
	if err != nil {
		return nil, err
	}
	return applyDelete(s.b.DeleteTTL(r.Context(), p))
}

func priorityView(p policy.PathPriority) api.Priority {
	return api.Priority{Path: p.Path, Priority: p.Priority.String()}
}

func (s *server) getPriority(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.Priority, "priority eviction"); err != nil {
		return nil, err
	}
	q, err := query(r, "path")
	if err != nil {
		return nil, err
	}
	if p, ok := q["path"]; ok {
		v, found := s.b.Priority(p)
		if !found {
			return nil, errorf(http.StatusNotFound, "priority not found for %s", p)
		}
		return priorityView(v), nil
	}
	out := api.Priorities{Results: []api.Priority{}}
	for _, v := range s.b.Priorities() {
		out.Results = append(out.Results, priorityView(v))
	}
	return out, nil
}

func (s *server) postPriority(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.Priority, "priority eviction"); err != nil {
		return nil, err
	}
	var req api.Priority
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := required("path", req.Path); err != nil {
		return nil, err
	}
	if err := required("priority", req.Priority); err != nil {
		return nil, err
	}
	p, err := policy.ParsePriority(req.Priority)
	if err != nil {
		return nil, err
	}
	if err := s.b.SetPriority(r.Context(), policy.PathPriority{Path: req.Path, Priority: p}); err != nil {
		return nil, err
	}
	return api.Priority{Path: req.Path, Priority: strings.ToUpper(req.Priority)}, nil
}

func (s *server) deletePriority(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.Priority, "priority eviction"); err != nil {
		return nil, err
	}
	p, err := decodePath(r)
	if err != nil {
		return nil, err
	}
	return applyDelete(s.b.DeletePriority(r.Context(), p))
}
