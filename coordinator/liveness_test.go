package coordinator

import (
	"slices"
	"testing"
	"time"

	"github.com/alluvium/alluvium/fsm"
)

// TestLivenessCheck: which LIVE workers are lost, and when the loop next
// needs to look (it sleeps until then instead of ticking).
func TestLivenessCheck(t *testing.T) {
	const timeout = 5 * time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	live := func(id string) fsm.Worker { return fsm.Worker{ID: id, State: fsm.WorkerLive} }
	for _, tc := range []struct {
		name      string
		termStart time.Time
		seen      map[string]time.Time
		workers   []fsm.Worker
		now       time.Time
		wantLost  []string
		wantNext  time.Time
	}{
		{"no workers: look again after a timeout", t0, nil, nil, t0.Add(time.Second), nil, t0.Add(6 * time.Second)},
		{"the earliest deadline", t0, map[string]time.Time{"a": t0.Add(2 * time.Second), "b": t0.Add(time.Second)},
			[]fsm.Worker{live("a"), live("b")}, t0.Add(3 * time.Second), nil, t0.Add(6*time.Second + time.Millisecond)},
		{"silent past the timeout: lost", t0, map[string]time.Time{"a": t0.Add(time.Second), "b": t0.Add(4 * time.Second)},
			[]fsm.Worker{live("a"), live("b")}, t0.Add(7 * time.Second), []string{"a"}, t0.Add(9*time.Second + time.Millisecond)},
		{"exactly at the timeout: not yet", t0, map[string]time.Time{"a": t0.Add(time.Second)},
			[]fsm.Worker{live("a")}, t0.Add(6 * time.Second), nil, t0.Add(6*time.Second + time.Millisecond)},
		{"never seen this term: counted from the term's start", t0.Add(10 * time.Second), map[string]time.Time{"a": t0},
			[]fsm.Worker{live("a"), live("b")}, t0.Add(12 * time.Second), nil, t0.Add(15*time.Second + time.Millisecond)},
		{"only LIVE workers count", t0, nil,
			[]fsm.Worker{{ID: "l", State: fsm.WorkerLost}, {ID: "d", State: fsm.WorkerDecommissioned}}, t0.Add(20 * time.Second), nil, t0.Add(25 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLiveness()
			l.termStart = tc.termStart
			for id, at := range tc.seen {
				l.seen[id] = workerSeen{at: at}
			}
			lost, next := l.check(tc.now, tc.workers, timeout)
			var ids []string
			for _, w := range lost {
				ids = append(ids, w.id)
			}
			if !slices.Equal(ids, tc.wantLost) || !next.Equal(tc.wantNext) {
				t.Fatalf("check = lost %v, next %v; want %v, %v", ids, next.Sub(t0), tc.wantLost, tc.wantNext.Sub(t0))
			}
		})
	}
}
