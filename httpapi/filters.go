package httpapi

import (
	"net/http"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/policy"
)

func (s *server) filterRoutes() []route {
	return []route{
		{http.MethodGet, "/api/v1/cache-filter", read, s.getFilter},
		{http.MethodPost, "/api/v1/cache-filter", write, s.postFilter},
		{http.MethodDelete, "/api/v1/cache-filter", write, s.deleteFilter},
	}
}

func durationPtr(d time.Duration) *api.Duration {
	if d == 0 {
		return nil
	}
	v := api.Duration(d)
	return &v
}

func (s *server) getFilter(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.CacheFilter, "cache filter"); err != nil {
		return nil, err
	}
	if _, err := query(r); err != nil {
		return nil, err
	}
	p := s.b.Filter()
	out := api.CacheFilter{Rules: []api.FilterRule{}, DefaultRule: string(p.Default.Rule), DefaultTime: durationPtr(p.Default.Time)}
	for _, rule := range p.Rules {
		out.Rules = append(out.Rules, api.FilterRule{Rule: string(rule.Rule), Pattern: rule.Pattern, Time: durationPtr(rule.Time)})
	}
	return out, nil
}

func (s *server) postFilter(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.CacheFilter, "cache filter"); err != nil {
		return nil, err
	}
	req, kind, err := decodeFilterRequest(r)
	if err != nil {
		return nil, err
	}
	rule := policy.FilterRule{Rule: kind, Pattern: req.Pattern}
	if req.Time != nil {
		rule.Time = time.Duration(*req.Time)
	}
	if kind == policy.RuleMaxAge && rule.Time <= 0 {
		return nil, errorf(http.StatusBadRequest, "a maxAge rule needs field \"time\" (a positive duration)")
	}
	if req.UpdateDefault {
		if req.Pattern != "" {
			return nil, errorf(http.StatusBadRequest, "the default rule takes no pattern")
		}
		err = s.b.SetDefaultFilter(r.Context(), rule)
	} else {
		if err := required("pattern", req.Pattern); err != nil {
			return nil, err
		}
		err = s.b.AddFilterRule(r.Context(), rule)
	}
	if err != nil {
		return nil, err
	}
	return api.FilterRule{Rule: string(rule.Rule), Pattern: rule.Pattern, Time: durationPtr(rule.Time)}, nil
}

func (s *server) deleteFilter(r *http.Request) (any, error) {
	if err := switchedOff(s.opts.Disabled.CacheFilter, "cache filter"); err != nil {
		return nil, err
	}
	req, kind, err := decodeFilterRequest(r)
	if err != nil {
		return nil, err
	}
	if req.UpdateDefault {
		return nil, errorf(http.StatusBadRequest, "the default rule cannot be removed; change it with POST and updateDefault")
	}
	return applyDelete(s.b.RemoveFilterRule(r.Context(), kind, req.Pattern))
}

// decodeFilterRequest reads a rule request and its rule kind.
func decodeFilterRequest(r *http.Request) (api.FilterRequest, policy.RuleKind, error) {
	var req api.FilterRequest
	if err := decodeBody(r, &req); err != nil {
		return req, "", err
	}
	if err := required("rule", req.Rule); err != nil {
		return req, "", err
	}
	kind, err := policy.ParseRuleKind(req.Rule)
	return req, kind, err
}
