package e2e

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/internal/testcluster"
)

// Clear stale answers for every member of the ring, as API.md says: a LOST
// worker is listed with "worker is LOST" (it was skipped silently, the
// answer {"errors":{}}), a LIVE worker that accepted is not listed, and a
// removed worker, no member any more, is neither asked nor listed. The same through every coordinator, for POST and DELETE.
func TestClearStaleListsLostWorkers(t *testing.T) {
	t.Parallel()
	e, ws := clusterWith(t, 3)
	ctx := context.Background()
	lost, gone, live := ws[0], ws[1], ws[2]
	if _, err := e.c.RemoveNode(ctx, gone.Worker.ID()); err != nil {
		t.Fatal(err)
	}
	if err := lost.Close(); err != nil {
		t.Fatal(err)
	}
	e.eventually("every coordinator has the stopped worker LOST", func() bool {
		for _, m := range e.tc.Nodes {
			if w, ok := m.Node.Coordinator.FSM().Worker(lost.Worker.ID()); !ok || w.State != fsm.WorkerLost {
				return false
			}
		}
		return true
	})
	want := map[string]map[string]string{"errors": {lost.Worker.ID(): "worker is LOST"}}
	for _, m := range e.tc.Nodes {
		for _, method := range []string{http.MethodPost, http.MethodDelete} {
			code, got := cacheOp(t, method, m.URL())
			if code != http.StatusOK || len(got) != 1 || !maps.Equal(got["errors"], want["errors"]) {
				t.Fatalf("%s /api/v1/cache on %s: %d %v, want 200 %v", method, m.ID, code, got, want)
			}
		}
	}
	// The live worker was asked (and ran a clear): it reports it.
	e.eventually("the live worker reports its clear", func() bool {
		st, err := e.c.ClearStaleStatus(ctx)
		if err != nil {
			return false
		}
		return slices.ContainsFunc(st.Results, func(s api.ClearStaleStatus) bool { return s.Worker == live.Worker.ID() })
	})
}

// cacheOp sends {"op":"clearStale"} to a coordinator and decodes the answer
// as raw JSON maps, so that the wire shape itself is checked.
func cacheOp(t *testing.T, method, base string) (int, map[string]map[string]string) {
	t.Helper()
	req, err := http.NewRequest(method, base+"/api/v1/cache", strings.NewReader(`{"op":"clearStale"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := testcluster.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]map[string]string
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s %s: %d %s: %v", method, base, resp.StatusCode, body, err)
	}
	return resp.StatusCode, out
}
