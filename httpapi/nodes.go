package httpapi

import (
	"net/http"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
)

// NodeReporter is the part of a Backend that receives workers'
// heartbeats: the usage a worker last reported, and when (ok false when
// none is known, answered as zero).
type NodeReporter interface {
	NodeStats(id string) (usedBytes, pages int64, lastHeartbeat time.Time, ok bool)
}

func (s *server) nodeRoutes() []route {
	return []route{
		{http.MethodGet, "/api/v1/nodes", read, s.getNodes},
		{http.MethodDelete, "/api/v1/nodes", write, s.deleteNode},
	}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *server) nodeView(w fsm.Worker) api.Node {
	n := api.Node{ID: w.ID, Address: w.Address, State: string(w.State), CapacityBytes: w.CapacityBytes,
		StartTime: rfc3339(w.StartTime), Version: w.Version}
	if used, pages, last, ok := s.b.NodeStats(w.ID); ok {
		n.UsedBytes, n.Pages, n.LastHeartbeat = used, pages, rfc3339(last)
	}
	return n
}

func (s *server) getNodes(r *http.Request) (any, error) {
	q, err := query(r, "id")
	if err != nil {
		return nil, err
	}
	if id, ok := q["id"]; ok {
		w, found := s.b.FSM().Worker(id)
		if !found {
			return nil, errorf(http.StatusNotFound, "worker %s not found", id)
		}
		return s.nodeView(w), nil
	}
	out := api.Nodes{Results: []api.Node{}}
	for _, w := range s.b.FSM().Workers() {
		out.Results = append(out.Results, s.nodeView(w))
	}
	return out, nil
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
	if _, found := s.b.FSM().Worker(id); !found {
		return nil, errorf(http.StatusNotFound, "worker %s not found", id)
	}
	// Removed in one command: the worker leaves the membership and the
	// ring, and the file index forgets what it held. The answer is the
	// node as it was, by the state the command removed.
	res, err := s.b.Apply(r.Context(), &fsm.RemoveWorker{ID: id})
	if err != nil {
		return nil, err
	}
	return s.nodeView(res.(fsm.Worker)), nil
}
