package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
)

// UsageReporter is the part of a Backend that knows what workers cache
// (from their heartbeats); a backend that does not answers 0.
type UsageReporter interface {
	// UsedBytesUnder sums the bytes cached under an Alluxio directory.
	UsedBytesUnder(path string) int64
}

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

// applyDelete applies a removal whose "not found" the contract answers 400.
func (s *server) applyDelete(ctx context.Context, cmd fsm.Command) (any, error) {
	if _, err := s.b.Apply(ctx, cmd); err != nil {
		if errors.Is(err, fsm.ErrNotFound) {
			return nil, badRequest(err)
		}
		return nil, err
	}
	return api.Empty{}, nil
}

func (s *server) quotaView(q fsm.Quota) api.Quota {
	used := s.b.UsedBytesUnder(q.Path)
	return api.Quota{Path: q.Path, QuotaBytes: q.QuotaBytes, UsedBytes: used, RemainingBytes: max(q.QuotaBytes-used, 0)}
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
		v, found := s.b.FSM().Quota(p)
		if !found {
			return nil, errorf(http.StatusNotFound, "quota not found for %s", p)
		}
		return s.quotaView(v), nil
	}
	out := api.Quotas{Results: []api.Quota{}}
	for _, v := range s.b.FSM().Quotas() {
		out.Results = append(out.Results, s.quotaView(v))
	}
	return out, nil
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
	if _, err := s.b.Apply(r.Context(), &fsm.SetQuota{Path: req.Path, Bytes: int64(*req.Quota)}); err != nil {
		return nil, err
	}
	v, _ := s.b.FSM().Quota(req.Path)
	return s.quotaView(v), nil
}

func (s *server) deleteQuota(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.Quota, "quota"); err != nil {
		return nil, err
	}
	p, err := decodePath(r)
	if err != nil {
		return nil, err
	}
	return s.applyDelete(r.Context(), &fsm.DeleteQuota{Path: p})
}

func ttlView(t fsm.TTL) api.TTL {
	d := api.Duration(t.TTL)
	return api.TTL{Path: t.Path, TTL: &d}
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
		v, found := s.b.FSM().TTL(p)
		if !found {
			return nil, errorf(http.StatusNotFound, "ttl not found for %s", p)
		}
		return ttlView(v), nil
	}
	out := api.TTLs{Results: []api.TTL{}}
	for _, v := range s.b.FSM().TTLs() {
		out.Results = append(out.Results, ttlView(v))
	}
	return out, nil
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
	if _, err := s.b.Apply(r.Context(), &fsm.SetTTL{Path: req.Path, TTL: time.Duration(*req.TTL)}); err != nil {
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
	return s.applyDelete(r.Context(), &fsm.DeleteTTL{Path: p})
}

func priorityView(p fsm.PathPriority) api.Priority {
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
		v, found := s.b.FSM().Priority(p)
		if !found {
			return nil, errorf(http.StatusNotFound, "priority not found for %s", p)
		}
		return priorityView(v), nil
	}
	out := api.Priorities{Results: []api.Priority{}}
	for _, v := range s.b.FSM().Priorities() {
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
	p, err := fsm.ParsePriority(req.Priority)
	if err != nil {
		return nil, err
	}
	if _, err := s.b.Apply(r.Context(), &fsm.SetPriority{Path: req.Path, Priority: p}); err != nil {
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
	return s.applyDelete(r.Context(), &fsm.DeletePriority{Path: p})
}
