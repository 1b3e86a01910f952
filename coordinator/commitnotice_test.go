package coordinator_test

import (
	"context"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/coordinator/coordinatortest"
	"github.com/alluvium/alluvium/fsm"
)

// TestCommitNoticeTellsIdleFollowers: with raft's own commit propagation
// out of the way (CommitTimeout of an hour), an isolated write reaches the
// followers' state only through the commit notice.
func TestCommitNoticeTellsIdleFollowers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		notice   time.Duration
		wantSeen bool
	}{
		{"with the notice, followers apply an isolated write at once", 5 * time.Millisecond, true},
		{"without it, they wait for the next append", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := coordinatortest.New(t, 3, coordinatortest.WithConfig(func(cfg *coordinator.Config) {
				cfg.CommitTimeout = time.Hour
				cfg.CommitNotice = tc.notice
				cfg.AnnounceInterval = time.Hour // no writes of the nodes' own
			}))
			leader := c.WaitLeader()
			waitQuietLog(t, leader)
			ctx := context.Background()
			if _, err := leader.Apply(ctx, &fsm.AddMount{Mount: fsm.Mount{Path: "/m1", UFS: "file:///data/m1"}}); err != nil {
				t.Fatal(err)
			}
			index := leader.FSM().AppliedIndex()
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			err := c.WaitApplied(wctx, index)
			if seen := err == nil; seen != tc.wantSeen {
				t.Fatalf("every follower applied index %d within 2s: %t, want %t (%v)", index, seen, tc.wantSeen, err)
			}
		})
	}
}

// waitQuietLog waits until the leader's log has not grown for 300ms: the
// writes of a new term (its barrier, the job retention's first prune, the
// notice) are behind it.
func waitQuietLog(t *testing.T, leader *coordinator.Coordinator) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last, since := leader.Raft().LastIndex(), time.Now()
	for time.Since(since) < 300*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatal("the leader's log kept growing for 10s")
		}
		time.Sleep(10 * time.Millisecond)
		if now := leader.Raft().LastIndex(); now != last {
			last, since = now, time.Now()
		}
	}
}
