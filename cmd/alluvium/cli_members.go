package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/alluvium/alluvium/api"
	alluvium "github.com/alluvium/alluvium/client"
)

// probeTimeout bounds the health check of one coordinator: one that does
// not answer within it is shown as down.
const probeTimeout = 3 * time.Second

// coordinatorsReport is the answer of GET /api/v1/coordinators (the Raft
// configuration as the answering coordinator knows it), with what each
// coordinator said when asked for its health itself. With --output json
// it is printed as is: the API's answer, with "reach", "health" and
// "error" added to each coordinator.
type coordinatorsReport struct {
	api.Coordinators
	Results []memberReport `json:"results"`
}

// memberReport is a coordinator and its own health.
type memberReport struct {
	api.Coordinator
	// Reach is "up" when it answered (healthy or not), "down" when it could
	// not be reached, "unknown" when its API address is not known.
	Reach  string      `json:"reach"`
	Health *api.Health `json:"health,omitempty"`
	// Error is why it is down or unhealthy.
	Error string `json:"error,omitempty"`
}

// state is how a coordinator is shown: up, unhealthy, down or unknown.
func (m memberReport) state() string {
	if m.Reach == "up" && m.Error != "" {
		return "unhealthy"
	}
	return m.Reach
}

// probeCoordinators asks every coordinator of st for its health, all at
// once, each directly (no failover) and within probeTimeout.
func (cf *clientFlags) probeCoordinators(ctx context.Context, st api.Coordinators) coordinatorsReport {
	r := coordinatorsReport{Coordinators: st, Results: make([]memberReport, len(st.Results))}
	var wg sync.WaitGroup
	for i, c := range st.Results {
		r.Results[i] = memberReport{Coordinator: c, Reach: "unknown"}
		if c.HTTPAddress == "" {
			continue
		}
		wg.Go(func() { r.Results[i] = cf.probe(ctx, c) })
	}
	wg.Wait()
	return r
}

func (cf *clientFlags) probe(ctx context.Context, c api.Coordinator) memberReport {
	m := memberReport{Coordinator: c}
	cl, err := cf.newClient([]string{"http://" + c.HTTPAddress}, alluvium.WithRetries(0),
		alluvium.WithHTTPClient(&http.Client{Timeout: probeTimeout}))
	if err != nil {
		m.Reach, m.Error = "unknown", err.Error()
		return m
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	h, err := cl.Health(ctx)
	var answered *alluvium.Error
	switch {
	case err == nil:
		m.Reach, m.Health = "up", &h
		m.CommitIndex, m.AppliedIndex = h.CommitIndex, h.AppliedIndex
	case errors.As(err, &answered):
		m.Reach, m.Error = "up", answered.Message
	default:
		// The client's failover wording adds nothing for one coordinator.
		msg := err.Error()
		if i := strings.LastIndex(msg, "last error: "); i >= 0 {
			msg = msg[i+len("last error: "):]
		}
		m.Reach, m.Error = "down", msg
	}
	return m
}

func writeCoordinators(w io.Writer, r coordinatorsReport) {
	fmt.Fprintf(w, "Leader: %s (term %d), answered by %s\n", orDash(r.Leader), r.Term, orDash(r.ServedBy))
	rows := make([][]string, 0, len(r.Results))
	for _, c := range r.Results {
		idx := "-"
		if c.CommitIndex > 0 || c.AppliedIndex > 0 {
			idx = fmt.Sprintf("%d/%d", c.AppliedIndex, c.CommitIndex)
		}
		rows = append(rows, []string{c.ID, role(c.Coordinator), c.state(), c.RaftAddress, orDash(c.HTTPAddress), idx})
	}
	table(w, []string{"ID", "ROLE", "STATE", "RAFT ADDRESS", "HTTP ADDRESS", "APPLIED/COMMITTED"}, rows)
	writeMemberErrors(w, r.Results)
}

func role(c api.Coordinator) string {
	r := "follower"
	if c.Leader {
		r = "leader"
	}
	if !c.Voter {
		r += " (non-voter)"
	}
	return r
}

// writeMemberErrors says why coordinators are down or unhealthy.
func writeMemberErrors(w io.Writer, ms []memberReport) {
	for _, m := range ms {
		if m.Error != "" {
			fmt.Fprintf(w, "%s is %s: %s\n", m.ID, m.state(), m.Error)
		}
	}
}
