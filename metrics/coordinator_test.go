package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/coordinator/coordinatortest"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func apply(t *testing.T, co *coordinator.Coordinator, cmd fsm.Command) any {
	t.Helper()
	v, err := co.Apply(context.Background(), cmd)
	if err != nil {
		t.Fatalf("apply %T: %v", cmd, err)
	}
	return v
}

// TestCoordinatorCollector reads a real one-node cluster's state: raft,
// jobs by type and state, job counters (which go down when jobs are
// pruned), workers by state and apply latency.
func TestCoordinatorCollector(t *testing.T) {
	c := coordinatortest.New(t, 1, coordinatortest.WithConfig(func(cfg *coordinator.Config) { cfg.NoScheduler = true }))
	co := c.WaitLeader()
	reg := metrics.NewRegistry()
	if _, err := metrics.RegisterCoordinator(reg, co); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	load := apply(t, co, &fsm.SubmitJob{Job: fsm.Job{Type: fsm.JobLoad, Alias: "a", Paths: []string{"/d/a"}}, Now: now}).(fsm.Job)
	apply(t, co, &fsm.SubmitJob{Job: fsm.Job{Type: fsm.JobLoad, Alias: "b", Paths: []string{"/d/b"}}, Now: now})
	apply(t, co, &fsm.SubmitJob{Job: fsm.Job{Type: fsm.JobFree, Alias: "c", Paths: []string{"/d/c"}}, Now: now})
	apply(t, co, &fsm.UpdateJob{ID: load.ID, State: fsm.JobSucceeded, Now: now,
		Delta: fsm.JobCounters{ScannedFiles: 3, LoadedFiles: 3, LoadedBytes: 300, SkippedFiles: 1, SkippedBytes: 7}})
	for _, id := range []string{"worker-1", "worker-2", "worker-3"} {
		apply(t, co, &fsm.RegisterWorker{Worker: fsm.Worker{ID: id, Address: "127.0.0.1:1"}, Now: now})
	}
	apply(t, co, &fsm.SetWorkerState{ID: "worker-2", State: fsm.WorkerLost, Now: now})
	apply(t, co, &fsm.SetWorkerState{ID: "worker-3", State: fsm.WorkerDecommissioned, Now: now})

	err := testutil.GatherAndCompare(reg, lines(
		`# HELP alluvium_workers Workers by committed membership state (LIVE, LOST, DECOMMISSIONED).`,
		`# TYPE alluvium_workers gauge`,
		`alluvium_workers{state="DECOMMISSIONED"} 1`,
		`alluvium_workers{state="LIVE"} 1`,
		`alluvium_workers{state="LOST"} 1`,
		`# HELP alluvium_job_loaded_bytes Bytes loaded by the jobs the state machine retains, by job type. A gauge: it goes down when retention prunes a job.`,
		`# TYPE alluvium_job_loaded_bytes gauge`,
		`alluvium_job_loaded_bytes{type="free"} 0`,
		`alluvium_job_loaded_bytes{type="load"} 300`,
		`alluvium_job_loaded_bytes{type="rebalance"} 0`,
		`# HELP alluvium_job_skipped_files Files skipped (already cached) by the jobs the state machine retains, by job type. A gauge: it goes down when retention prunes a job.`,
		`# TYPE alluvium_job_skipped_files gauge`,
		`alluvium_job_skipped_files{type="free"} 0`,
		`alluvium_job_skipped_files{type="load"} 1`,
		`alluvium_job_skipped_files{type="rebalance"} 0`,
	), "alluvium_workers", "alluvium_job_loaded_bytes", "alluvium_job_skipped_files")
	if err != nil {
		t.Error(err)
	}

	jobs := []struct {
		typ, state string
		want       float64
	}{
		{"load", "SUCCEEDED", 1}, {"load", "WAITING", 1}, {"free", "WAITING", 1},
		{"load", "RUNNING", 0}, {"free", "SUCCEEDED", 0}, {"rebalance", "WAITING", 0},
	}
	for _, j := range jobs {
		if got := value(t, reg, "alluvium_jobs", map[string]string{"type": j.typ, "state": j.state}); got != j.want {
			t.Errorf("alluvium_jobs{type=%s,state=%s} = %v, want %v", j.typ, j.state, got, j.want)
		}
	}
	if n := len(labelValues(t, reg, "alluvium_jobs", "state")); n != 6 {
		t.Errorf("alluvium_jobs reports %d states, want all 6 (zeros too)", n)
	}

	raftSeries := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"alluvium_raft_state", map[string]string{"state": "Leader"}, 1},
		{"alluvium_raft_state", map[string]string{"state": "Follower"}, 0},
		{"alluvium_raft_state", map[string]string{"state": "Candidate"}, 0},
		{"alluvium_raft_term", nil, float64(co.Raft().CurrentTerm())},
		{"alluvium_raft_apply_duration_seconds", map[string]string{"command": "SubmitJob", "result": "ok"}, 3},
		{"alluvium_raft_apply_duration_seconds", map[string]string{"command": "RegisterWorker", "result": "ok"}, 3},
		{"alluvium_raft_apply_duration_seconds", map[string]string{"command": "SetWorkerState", "result": "ok"}, 2},
	}
	for _, s := range raftSeries {
		if got := value(t, reg, s.name, s.labels); got != s.want {
			t.Errorf("%s%v = %v, want %v", s.name, s.labels, got, s.want)
		}
	}
	// The leader's own loops (job retention, announcements) may commit an
	// entry at any time: an index is read between the node's before and after.
	for _, s := range []struct {
		name string
		get  func() uint64
	}{{"alluvium_raft_applied_index", co.FSM().AppliedIndex}, {"alluvium_raft_commit_index", co.Raft().CommitIndex}} {
		before := float64(s.get())
		got := value(t, reg, s.name, nil)
		if after := float64(s.get()); got < before || got > after {
			t.Errorf("%s = %v, want %v..%v", s.name, got, before, after)
		}
	}
	if first, last, err := co.LogBounds(); err != nil || value(t, reg, "alluvium_raft_log_last_index", nil) != float64(last) ||
		value(t, reg, "alluvium_raft_log_first_index", nil) != float64(first) {
		t.Errorf("log bounds %d..%d (%v) are not reported", first, last, err)
	}
	if applied := value(t, reg, "alluvium_raft_applied_index", nil); applied < 10 {
		t.Errorf("applied index %v after 10 commands", applied)
	}

	// Retention prunes the finished job: its counters leave the sums.
	apply(t, co, &fsm.PruneJobs{Before: now.Add(time.Hour), Keep: 0})
	if got := value(t, reg, "alluvium_job_loaded_bytes", map[string]string{"type": "load"}); got != 0 {
		t.Errorf("loaded bytes of pruned jobs: %v, want 0", got)
	}
	if got := value(t, reg, "alluvium_jobs", map[string]string{"type": "load", "state": "SUCCEEDED"}); got != 0 {
		t.Errorf("a pruned job is still counted: %v", got)
	}
	lint(t, reg)
}

// TestApplyErrorsAreLabelled cuts the leader off from its followers: its
// proposals then time out and are counted with result="error". Slow
// timeouts keep it leading (and proposing) meanwhile.
func TestApplyErrorsAreLabelled(t *testing.T) {
	c := coordinatortest.New(t, 3, coordinatortest.WithConfig(func(cfg *coordinator.Config) {
		cfg.NoScheduler = true
		cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = time.Second, time.Second, time.Second
	}))
	co := c.WaitLeader()
	reg := metrics.NewRegistry()
	if _, err := metrics.RegisterCoordinator(reg, co); err != nil {
		t.Fatal(err)
	}
	c.Partition(co.ID())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := co.Apply(ctx, &fsm.AddMount{Mount: fsm.Mount{Path: "/x", UFS: "file:///x"}}); err == nil {
		t.Fatal("a partitioned leader committed a write")
	}
	if got := value(t, reg, "alluvium_raft_apply_duration_seconds", map[string]string{"command": "AddMount", "result": "error"}); got != 1 {
		t.Errorf("failed proposals counted: %v, want 1", got)
	}
	if got := value(t, reg, "alluvium_raft_apply_duration_seconds", map[string]string{"command": "AddMount", "result": "ok"}); got != 0 {
		t.Errorf("a failed proposal counted as ok: %v", got)
	}
}
