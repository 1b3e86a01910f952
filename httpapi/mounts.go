package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/policy"
)

// UFSChecker is the part of a Backend that reaches a UFS before a mount is
// committed, so that an unreachable one is refused with 400 (a backend that
// cannot check answers nil).
type UFSChecker interface {
	CheckUFS(ctx context.Context, m policy.Mount) error
}

func (s *server) mountRoutes() []route {
	return []route{
		{http.MethodGet, "/api/v1/mount", read, s.getMounts},
		{http.MethodPost, "/api/v1/mount", write, s.postMount},
		{http.MethodDelete, "/api/v1/mount", write, s.deleteMount},
	}
}

func (s *server) getMounts(r *http.Request) (any, error) {
	q, err := query(r, "path")
	if err != nil {
		return nil, err
	}
	if p, ok := q["path"]; ok {
		m, found := s.b.Mount(p)
		if !found {
			return nil, errorf(http.StatusNotFound, "%s is not a mount point", p)
		}
		return maskMount(m), nil
	}
	list := api.Mounts{Results: []api.Mount{}}
	for _, m := range s.b.Mounts() {
		list.Results = append(list.Results, maskMount(m))
	}
	return list, nil
}

func (s *server) postMount(r *http.Request) (any, error) {
	if s.opts.StaticMounts {
		return nil, errStaticMounts
	}
	var req api.Mount
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := required("path", req.Path); err != nil {
		return nil, err
	}
	if err := required("ufs", req.UFS); err != nil {
		return nil, err
	}
	m := policy.Mount{Path: req.Path, UFS: req.UFS, Options: req.Options}
	if err := s.b.CheckUFS(r.Context(), m); errors.Is(err, policy.ErrForbidden) {
		return nil, errorf(http.StatusForbidden, "mount %s refused: %v", req.Path, err)
	} else if err != nil {
		return nil, errorf(http.StatusBadRequest, "ufs %s cannot be reached: %v", req.UFS, err)
	}
	m, err := s.b.AddMount(r.Context(), m)
	if err != nil {
		return nil, err
	}
	return maskMount(m), nil
}

func (s *server) deleteMount(r *http.Request) (any, error) {
	if s.opts.StaticMounts {
		return nil, errStaticMounts
	}
	var req api.PathRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := required("path", req.Path); err != nil {
		return nil, err
	}
	if err := s.b.RemoveMount(r.Context(), req.Path); err != nil {
		return nil, err
	}
	return api.Empty{}, nil
}

var errStaticMounts = errorf(http.StatusNotImplemented, "the mount table is static (loaded from a file at start) and cannot be changed through the API")

// secretWords mark mount options whose values are never answered.
var secretWords = []string{"secret", "password", "passwd", "token", "accesskey", "credential", "privatekey"}

// IsSecretOption reports whether a mount option's value is a secret.
func IsSecretOption(key string) bool {
	k := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

func maskMount(m policy.Mount) api.Mount {
	out := api.Mount{Path: m.Path, UFS: m.UFS}
	if len(m.Options) > 0 {
		out.Options = make(map[string]string, len(m.Options))
		for k, v := range m.Options {
			if IsSecretOption(k) {
				v = "***"
			}
			out.Options[k] = v
		}
	}
	return out
}
