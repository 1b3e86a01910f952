package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/coordinator/coordinatortest"
	"github.com/hashicorp/raft"
)

// gatedTransport is an in-memory transport that, while its gate is shut,
// fails every AppendEntries that carries entries but lets heartbeats and
// votes through: a leader keeps its lease and its followers, yet commits
// nothing, so the barrier that starts its term is never answered while
// Raft runs.
type gatedTransport struct {
	*raft.InmemTransport
	shut *atomic.Bool
}

var errGateShut = errors.New("gated transport: entries are not delivered")

func (g gatedTransport) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}

func (g gatedTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	if g.shut.Load() && len(args.Entries) > 0 {
		return errGateShut
	}
	return g.InmemTransport.AppendEntries(id, target, args, resp)
}

// gatedCluster starts n coordinators on gated in-memory transports that
// share one gate. Every coordinator is shut down when the test ends.
func gatedCluster(t *testing.T, n int, shutdownTimeout time.Duration) ([]*coordinator.Coordinator, []*raft.InmemTransport, *atomic.Bool) {
	t.Helper()
	shut := new(atomic.Bool)
	var peers []coordinator.Peer
	var trans []*raft.InmemTransport
	for i := range n {
		addr := raft.ServerAddress(fmt.Sprintf("inmem-c%d", i+1))
		_, tr := raft.NewInmemTransportWithTimeout(addr, time.Second)
		trans = append(trans, tr)
		peers = append(peers, coordinator.Peer{ID: fmt.Sprintf("c%d", i+1), Address: string(addr)})
	}
	for i, a := range trans {
		for j, b := range trans {
			if i != j {
				a.Connect(b.LocalAddr(), b)
			}
		}
	}
	var coords []*coordinator.Coordinator
	t.Cleanup(func() {
		for _, c := range coords {
			_ = c.Shutdown()
		}
	})
	for i := range n {
		cfg := coordinatortest.FastConfig()
		cfg.ID, cfg.HTTPAddress, cfg.Bootstrap = peers[i].ID, "inmem-http-"+peers[i].ID, peers
		cfg.ShutdownTimeout = shutdownTimeout
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		store := raft.NewInmemStore()
		cfg.Raft = &coordinator.RaftParts{
			Transport: gatedTransport{trans[i], shut},
			LogStore:  store, StableStore: store, SnapshotStore: raft.NewInmemSnapshotStore(),
		}
		c, err := coordinator.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		coords = append(coords, c)
	}
	return coords, trans, shut
}

// poll calls cond every 10ms until it is true, failing the test after d.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("after %s: %s", d, what)
		case <-tick.C:
		}
	}
}

// A coordinator elected while no entry can commit (so the barrier that
// starts its term is never answered while Raft runs) must still shut down
// within its bound. Before the fix, Shutdown waited in stepDown for that
// barrier for ever.
func TestShutdownEndsWhileTheTermBarrierCannotCommit(t *testing.T) {
	const bound = 6 * time.Second
	coords, trans, shut := gatedCluster(t, 3, bound)
	var first *coordinator.Coordinator
	poll(t, 20*time.Second, "no leader", func() bool {
		for _, c := range coords {
			if c.IsLeader() {
				first = c
				return true
			}
		}
		return false
	})
	firstTerm := first.Raft().CurrentTerm()

	// Nothing commits from now on; cut the leader off, so that one of the
	// two others wins an election and starts its term with a barrier.
	shut.Store(true)
	fi := indexOf(coords, first)
	trans[fi].DisconnectAll()
	for j, tr := range trans {
		if j != fi {
			tr.Disconnect(trans[fi].LocalAddr())
		}
	}
	var elected *coordinator.Coordinator
	poll(t, 20*time.Second, "no new leader among the connected nodes", func() bool {
		for _, c := range coords {
			if c != first && c.Raft().State() == raft.Leader && c.Raft().CurrentTerm() > firstTerm {
				elected = c
				return true
			}
		}
		return false
	})
	if elected.IsLeader() {
		t.Fatalf("%s completed its term's barrier with commits gated off", elected.ID())
	}

	// The elected node first, then the two others (a candidate cut off
	// and a follower) at once, as a whole cluster going down does.
	shutdownWithin(t, bound, elected)
	var rest []*coordinator.Coordinator
	for _, c := range coords {
		if c != elected {
			rest = append(rest, c)
		}
	}
	shutdownWithin(t, bound, rest...)
}

// shutdownWithin shuts the coordinators down at once and fails the test
// unless each Shutdown returns, without error, within bound (plus a
// margin for a loaded machine).
func shutdownWithin(t *testing.T, bound time.Duration, coords ...*coordinator.Coordinator) {
	t.Helper()
	start := time.Now()
	type result struct {
		c     *coordinator.Coordinator
		state raft.RaftState
		err   error
	}
	done := make(chan result, len(coords))
	for _, c := range coords {
		state := c.Raft().State()
		go func() { done <- result{c, state, c.Shutdown()} }()
	}
	limit := time.After(bound + 2*time.Second)
	for range coords {
		select {
		case r := <-done:
			if r.err != nil {
				t.Errorf("Shutdown of %s: %v", r.c.ID(), r.err)
			}
			t.Logf("Shutdown of %s (%s) took %s (bound %s)", r.c.ID(), r.state, time.Since(start).Round(time.Millisecond), bound)
		case <-limit:
			t.Errorf("Shutdown did not return within %s", bound+2*time.Second)
			// Release it (Raft answers the barrier once stopped), so
			// that the test ends and leaves no goroutine behind.
			for _, c := range coords {
				_ = c.Raft().Shutdown().Error()
			}
			for range coords {
				select {
				case <-done:
				case <-time.After(time.Minute):
					t.Fatal("Shutdown did not return even with Raft stopped")
				}
			}
			return
		}
	}
}

// A leader loop that ignores its context cannot hold Shutdown past its
// bound: Shutdown stops Raft anyway and says what it left running.
func TestShutdownBoundsALeaderLoopThatDoesNotReturn(t *testing.T) {
	const bound = 2 * time.Second
	cluster := coordinatortest.New(t, 1, coordinatortest.WithConfig(func(cfg *coordinator.Config) {
		cfg.ShutdownTimeout = bound
	}))
	co := cluster.WaitLeader()
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	co.OnLeader("deaf", func(context.Context) {
		close(started)
		<-release
	})
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the leader loop did not start")
	}
	begin := time.Now()
	done := make(chan error, 1)
	go func() { done <- co.Shutdown() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(bound + 2*time.Second):
		t.Errorf("Shutdown did not return within %s", bound+2*time.Second)
		unblock()
		err = <-done
	}
	if took := time.Since(begin); took > bound+2*time.Second {
		t.Errorf("Shutdown took %s, bound %s", took, bound)
	}
	if !errors.Is(err, coordinator.ErrTimeout) || !strings.Contains(err.Error(), "deaf") {
		t.Errorf("Shutdown = %v, want ErrTimeout naming the loop left running", err)
	}
	if co.Raft().State() != raft.Shutdown {
		t.Errorf("raft is %s after Shutdown, want Shutdown", co.Raft().State())
	}
}

func indexOf(coords []*coordinator.Coordinator, c *coordinator.Coordinator) int {
	for i, x := range coords {
		if x == c {
			return i
		}
	}
	return -1
}
