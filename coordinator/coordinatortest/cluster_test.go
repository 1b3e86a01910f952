package coordinatortest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/coordinator/coordinatortest"
	"github.com/alluvium/alluvium/fsm"
)

func mount(i int) *fsm.AddMount {
	return &fsm.AddMount{Mount: fsm.Mount{Path: fmt.Sprintf("/m%d", i), UFS: fmt.Sprintf("file:///data/m%d", i)}}
}

// snapshotBytes returns a node's state as snapshot bytes, less the header
// (whose applied index may differ between equal states).
func stateOf(t *testing.T, co *coordinator.Coordinator) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := co.FSM().Snapshot().WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// waitEqual waits until every running node holds the same state.
func waitEqual(t *testing.T, c *coordinatortest.Cluster) {
	t.Helper()
	leader := c.WaitLeader()
	// A write on the leader gives every node the same last index to reach.
	if _, err := leader.Apply(context.Background(), &fsm.SetCoordinator{Coordinator: fsm.Coordinator{ID: "sync", HTTPAddress: "x"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitApplied(context.Background(), leader.FSM().AppliedIndex()); err != nil {
		t.Fatal(err)
	}
	// Background writes (a leader announcing itself) may still land, so
	// compare all replicas with each other until they agree.
	deadline := time.Now().Add(10 * time.Second)
	for {
		cos := c.Coordinators()
		want, same := stateOf(t, cos[0]), true
		for _, co := range cos[1:] {
			same = same && bytes.Equal(stateOf(t, co), want)
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replicas' states still differ after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPartitionedLeaderFailsFastAndMajorityElects(t *testing.T) {
	c := coordinatortest.New(t, 3)
	old := c.WaitLeader()
	ctx := context.Background()
	for i := range 10 {
		if _, err := old.Apply(ctx, mount(i)); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
	}

	c.Partition(old.ID())

	// On the minority side, writes fail with a typed error within their
	// deadline: no hang.
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err := old.Apply(wctx, mount(100))
	cancel()
	if err == nil {
		t.Fatal("a write on the isolated leader succeeded")
	}
	if !errors.Is(err, coordinator.ErrNotLeader) && !errors.Is(err, coordinator.ErrNoLeader) &&
		!errors.Is(err, coordinator.ErrLeadershipLost) && !errors.Is(err, coordinator.ErrTimeout) {
		t.Fatalf("write on the minority: untyped error %v", err)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Fatalf("write on the minority took %s, past its deadline", waited)
	}

	// The majority elects a new leader and takes writes.
	next := c.WaitLeader()
	if next.ID() == old.ID() {
		t.Fatalf("the isolated node %s still leads", old.ID())
	}
	if _, err := next.Apply(ctx, mount(200)); err != nil {
		t.Fatalf("write on the majority: %v", err)
	}

	c.Heal()
	waitEqual(t, c)
	for _, co := range c.Coordinators() {
		if _, ok := co.FSM().Mount("/m200"); !ok {
			t.Errorf("%s lacks the majority's write", co.ID())
		}
		if _, ok := co.FSM().Mount("/m9"); !ok {
			t.Errorf("%s lost a write acknowledged before the partition", co.ID())
		}
	}
}

func TestKillAndRestartKeepsState(t *testing.T) {
	t.Parallel()
	c := coordinatortest.New(t, 3)
	leader := c.WaitLeader()
	ctx := context.Background()
	for i := range 20 {
		if _, err := leader.Apply(ctx, mount(i)); err != nil {
			t.Fatal(err)
		}
	}
	c.Kill(leader.ID())
	next := c.WaitLeader()
	if _, err := next.Apply(ctx, mount(20)); err != nil {
		t.Fatal(err)
	}
	c.Restart(leader.ID())
	waitEqual(t, c)
	for _, co := range c.Coordinators() {
		if got := len(co.FSM().Mounts()); got != 21 {
			t.Errorf("%s has %d mounts, want 21", co.ID(), got)
		}
	}
}

func TestFollowerApplyNamesTheLeader(t *testing.T) {
	t.Parallel()
	c := coordinatortest.New(t, 3)
	leader := c.WaitLeader()
	for _, co := range c.Coordinators() {
		if co == leader {
			continue
		}
		_, err := co.Apply(context.Background(), mount(1))
		var nl *coordinator.NotLeaderError
		if errors.As(err, &nl) {
			if nl.LeaderID != leader.ID() {
				t.Errorf("follower %s names leader %q, want %q", co.ID(), nl.LeaderID, leader.ID())
			}
		} else if !errors.Is(err, coordinator.ErrNoLeader) {
			t.Errorf("follower %s: Apply = %v, want a NotLeaderError", co.ID(), err)
		}
	}
}

func TestStateErrorsPassThrough(t *testing.T) {
	t.Parallel()
	c := coordinatortest.New(t, 1)
	leader := c.WaitLeader()
	ctx := context.Background()
	if _, err := leader.Apply(ctx, mount(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.Apply(ctx, mount(1)); !errors.Is(err, fsm.ErrConflict) {
		t.Fatalf("duplicate mount: %v, want fsm.ErrConflict", err)
	}
}

func TestLeaderLoopsRunOnlyOnTheLeader(t *testing.T) {
	t.Parallel()
	c := coordinatortest.New(t, 3)
	running := make(chan string, 16)
	for _, co := range c.Coordinators() {
		co.OnLeader("probe", func(ctx context.Context) {
			running <- co.ID()
			<-ctx.Done()
		})
	}
	leader := c.WaitLeader()
	select {
	case id := <-running:
		if id != leader.ID() {
			t.Fatalf("the loop started on %s, not on the leader %s", id, leader.ID())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the leader loop never started")
	}
	c.Kill(leader.ID())
	next := c.WaitLeader()
	select {
	case id := <-running:
		if id != next.ID() {
			t.Fatalf("after failover the loop started on %s, not on %s", id, next.ID())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the leader loop did not move to the new leader")
	}
}

func TestStaticMountTableIsInstalledByTheLeader(t *testing.T) {
	t.Parallel()
	table := []fsm.Mount{
		{Path: "/a", UFS: "file:///srv/a/"},
		{Path: "/b", UFS: "s3://bucket/b", Options: map[string]string{"s3.region": "eu"}},
	}
	c := coordinatortest.New(t, 3, coordinatortest.WithConfig(func(cfg *coordinator.Config) {
		cfg.StaticMounts = table
	}))
	leader := c.WaitLeader()
	deadline := time.Now().Add(10 * time.Second)
	for len(leader.FSM().Mounts()) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the static table was not installed: %+v", leader.FSM().Mounts())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if m, _ := leader.FSM().Mount("/a"); m.UFS != "file:///srv/a" {
		t.Fatalf("mount /a = %+v", m)
	}
	// A change made behind the table's back is undone by the next leader.
	if _, err := leader.Apply(context.Background(), mount(9)); err != nil {
		t.Fatal(err)
	}
	c.Kill(leader.ID())
	next := c.WaitLeader()
	for len(next.FSM().Mounts()) != 2 {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("the new leader did not restore the static table: %+v", next.FSM().Mounts())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
