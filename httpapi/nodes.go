package httpapi

import (
	"net/http"

	"github.com/alluvium/alluvium/api"
)

func (s *server) nodeRoutes() []route {
	return []route{
		{http.MethodGet, "/api/v1/nodes", read, s.getNodes},
		{http.MethodDelete, "/api/v1/nodes", write, s.deleteNode},
	}
}

func (s *server) getNodes(r *http.Request) (any, error) {
	q, err := query(r, "id")
	if err != nil {
		return nil, err
	}
	if id, ok := q["id"]; ok {
		n, found := s.b.Node(id)
		if !found {
			return nil, errorf(http.StatusNotFound, "worker %s not found", id)
		}
		return n, nil
	}
	return api.Nodes{Results: append([]api.Node{}, s.b.Nodes()...)}, nil
}

func (s *server) deleteNode(r *http.Request) (any, error) {
	q, err := query(r, "id")
	if err != nil {
		return nil, err
	}
	id := q["id"]
	if err := required("id", id); err != nil {
		return nil, err
	}
	if _, found := s.b.Node(id); !found {
		return nil, errorf(http.StatusNotFound, "worker %s not found", id)
	}
	// Removed in one command: the worker leaves the membership and the
	// ring, and the file index forgets what it held. The answer is the
	// node as it was, by the state the command removed.
	return s.b.RemoveWorker(r.Context(), id)
}
