package httpapi

import (
	"net/http"

	"github.com/alluvium/alluvium/api"
)

func (s *server) clusterRoutes() []route {
	return []route{
		{http.MethodGet, "/api/v1/coordinators", local, s.getCoordinators},
		{http.MethodPost, "/api/v1/coordinators", write, s.postCoordinator},
		{http.MethodDelete, "/api/v1/coordinators", write, s.deleteCoordinator},
		{http.MethodGet, "/api/v1/health", local, s.getHealth},
	}
}

func (s *server) getCoordinators(r *http.Request) (any, error) {
	if _, err := query(r); err != nil {
		return nil, err
	}
	return s.b.Status()
}

func (s *server) postCoordinator(r *http.Request) (any, error) {
	var req api.JoinRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"id", req.ID}, {"raftAddress", req.RaftAddress}, {"httpAddress", req.HTTPAddress}} {
		if err := required(f.name, f.v); err != nil {
			return nil, err
		}
	}
	if err := s.b.AddCoordinator(r.Context(), req); err != nil {
		return nil, err
	}
	return req, nil
}

func (s *server) getHealth(r *http.Request) (any, error) {
	if _, err := query(r); err != nil {
		return nil, err
	}
	h, err := s.b.Health()
	if err != nil {
		return nil, errorf(http.StatusServiceUnavailable, "%s", h.Status)
	}
	return h, nil
}

func (s *server) deleteCoordinator(r *http.Request) (any, error) {
	q, err := query(r, "id")
	if err != nil {
		return nil, err
	}
	id := q["id"]
	if err := required("id", id); err != nil {
		return nil, err
	}
	if id == s.b.ID() {
		return nil, errorf(http.StatusBadRequest, "%s is the leader; transfer leadership or stop it first", id)
	}
	known := false
	if st, err := s.b.Status(); err == nil {
		for _, c := range st.Results {
			known = known || c.ID == id
		}
	}
	if !known {
		return nil, errorf(http.StatusNotFound, "coordinator %s is not a member", id)
	}
	if err := s.b.RemoveCoordinator(r.Context(), id); err != nil {
		return nil, err
	}
	return api.Empty{}, nil
}
