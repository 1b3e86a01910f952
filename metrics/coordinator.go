package metrics

import (
	"time"

	"github.com/alluvium/alluvium/fsm"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// Coordinator is what the coordinator metrics read and observe;
// *coordinator.Coordinator implements it. An interface, not the type, so
// that this package imports neither coordinator nor worker: their own
// tests start whole nodes, which import this package.
type Coordinator interface {
	Raft() *raft.Raft
	FSM() *fsm.FSM
	LogBounds() (first, last uint64, err error)
	ObserveApply(fn func(t fsm.CommandType, d time.Duration, err error))
}

// RegisterCoordinator registers a coordinator's metrics on reg: its Raft
// state and indexes, the jobs and workers of its replica (read at scrape
// time), and Raft apply latency. It returns the HTTP metrics to pass as
// httpapi.Options.Metrics.
func RegisterCoordinator(reg prometheus.Registerer, c Coordinator) (*HTTP, error) {
	apply := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "alluvium_raft_apply_duration_seconds",
		Help: "Time from proposing a command on the leader to its being committed and applied, by command type and result (error: raft failed, timed out or lost leadership).",
		// 0.5 ms .. 8 s: a group-committed fsync'd write is a few ms.
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15),
	}, []string{"command", "result"})
	if err := reg.Register(apply); err != nil {
		return nil, err
	}
	if err := reg.Register(&coordinatorCollector{c: c}); err != nil {
		return nil, err
	}
	c.ObserveApply(func(t fsm.CommandType, d time.Duration, err error) {
		result := "ok"
		if err != nil {
			result = "error"
		}
		apply.WithLabelValues(t.String(), result).Observe(d.Seconds())
	})
	return newHTTP(reg, true)
}

var (
	raftStates   = []raft.RaftState{raft.Follower, raft.Candidate, raft.Leader, raft.Shutdown}
	jobTypes     = []fsm.JobType{fsm.JobLoad, fsm.JobFree, fsm.JobRebalance}
	jobStates    = []fsm.JobState{fsm.JobWaiting, fsm.JobRunning, fsm.JobVerifying, fsm.JobSucceeded, fsm.JobFailed, fsm.JobStopped}
	workerStates = []fsm.WorkerState{fsm.WorkerLive, fsm.WorkerLost, fsm.WorkerDecommissioned}
)

var (
	descRaftState   = prometheus.NewDesc("alluvium_raft_state", "1 for this coordinator's Raft state (Follower, Candidate, Leader, Shutdown), 0 for the others.", []string{"state"}, nil)
	descRaftTerm    = prometheus.NewDesc("alluvium_raft_term", "The Raft term this coordinator is in.", nil, nil)
	descRaftCommit  = prometheus.NewDesc("alluvium_raft_commit_index", "The last Raft log index this coordinator knows committed.", nil, nil)
	descRaftApplied = prometheus.NewDesc("alluvium_raft_applied_index", "The last Raft log index applied to this coordinator's state machine.", nil, nil)
	descLogFirst    = prometheus.NewDesc("alluvium_raft_log_first_index", "The first index held in the Raft log; earlier entries were compacted into a snapshot.", nil, nil)
	descLogLast     = prometheus.NewDesc("alluvium_raft_log_last_index", "The last index held in the Raft log.", nil, nil)
	descLastContact = prometheus.NewDesc("alluvium_raft_last_contact_seconds", "Seconds since this follower last heard from the leader (absent on the leader and before any contact).", nil, nil)
	descJobs        = prometheus.NewDesc("alluvium_jobs", "Jobs the state machine retains, by type and state.", []string{"type", "state"}, nil)
	descWorkers     = prometheus.NewDesc("alluvium_workers", "Workers by committed membership state (LIVE, LOST, DECOMMISSIONED).", []string{"state"}, nil)
)

// jobCounters are the job counters exported as gauges by job type: sums
// over the retained jobs, which go down when retention prunes a job.
var jobCounters = []struct {
	desc *prometheus.Desc
	get  func(*fsm.JobCounters) int64
}{
	{jobDesc("scanned_files", "Files listed"), func(c *fsm.JobCounters) int64 { return c.ScannedFiles }},
	{jobDesc("loaded_files", "Files loaded"), func(c *fsm.JobCounters) int64 { return c.LoadedFiles }},
	{jobDesc("loaded_bytes", "Bytes loaded"), func(c *fsm.JobCounters) int64 { return c.LoadedBytes }},
	{jobDesc("skipped_files", "Files skipped (already cached)"), func(c *fsm.JobCounters) int64 { return c.SkippedFiles }},
	{jobDesc("skipped_bytes", "Bytes skipped (already cached)"), func(c *fsm.JobCounters) int64 { return c.SkippedBytes }},
	{jobDesc("failed_files", "Files that failed"), func(c *fsm.JobCounters) int64 { return c.FailedFiles }},
	{jobDesc("freed_files", "Files freed"), func(c *fsm.JobCounters) int64 { return c.FreedFiles }},
	{jobDesc("freed_bytes", "Bytes freed"), func(c *fsm.JobCounters) int64 { return c.FreedBytes }},
	{jobDesc("pruned_files", "Files pruned from former owners"), func(c *fsm.JobCounters) int64 { return c.PrunedFiles }},
	{jobDesc("pruned_bytes", "Bytes pruned from former owners"), func(c *fsm.JobCounters) int64 { return c.PrunedBytes }},
	{jobDesc("reloaded_files", "Files a verify pass loaded again"), func(c *fsm.JobCounters) int64 { return c.ReloadedFiles }},
}

func jobDesc(name, what string) *prometheus.Desc {
	return prometheus.NewDesc("alluvium_job_"+name, what+" by the jobs the state machine retains, by job type. A gauge: it goes down when retention prunes a job.", []string{"type"}, nil)
}

// coordinatorCollector reads a coordinator's state at scrape time.
type coordinatorCollector struct {
	c Coordinator
}

func (cc *coordinatorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRaftState, descRaftTerm, descRaftCommit, descRaftApplied, descLogFirst, descLogLast, descLastContact, descJobs, descWorkers} {
		ch <- d
	}
	for _, jc := range jobCounters {
		ch <- jc.desc
	}
}

func (cc *coordinatorCollector) Collect(ch chan<- prometheus.Metric) {
	r, f := cc.c.Raft(), cc.c.FSM()
	state := r.State()
	for _, s := range raftStates {
		ch <- prometheus.MustNewConstMetric(descRaftState, prometheus.GaugeValue, bool01(s == state), s.String())
	}
	ch <- prometheus.MustNewConstMetric(descRaftTerm, prometheus.GaugeValue, float64(r.CurrentTerm()))
	ch <- prometheus.MustNewConstMetric(descRaftCommit, prometheus.GaugeValue, float64(r.CommitIndex()))
	ch <- prometheus.MustNewConstMetric(descRaftApplied, prometheus.GaugeValue, float64(f.AppliedIndex()))
	if first, last, err := cc.c.LogBounds(); err == nil {
		ch <- prometheus.MustNewConstMetric(descLogFirst, prometheus.GaugeValue, float64(first))
		ch <- prometheus.MustNewConstMetric(descLogLast, prometheus.GaugeValue, float64(last))
	}
	if lc := r.LastContact(); state != raft.Leader && !lc.IsZero() {
		ch <- prometheus.MustNewConstMetric(descLastContact, prometheus.GaugeValue, time.Since(lc).Seconds())
	}

	type key struct {
		t fsm.JobType
		s fsm.JobState
	}
	counts := map[key]int{}
	sums := map[fsm.JobType]*fsm.JobCounters{}
	for _, t := range jobTypes {
		sums[t] = &fsm.JobCounters{}
	}
	jobs, _ := f.Jobs("", "", 0)
	for i := range jobs {
		j := &jobs[i]
		counts[key{j.Type, j.State}]++
		if s, ok := sums[j.Type]; ok {
			s.Add(j.JobCounters)
		}
	}
	for _, t := range jobTypes {
		for _, s := range jobStates {
			ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(counts[key{t, s}]), string(t), string(s))
		}
		for _, jc := range jobCounters {
			ch <- prometheus.MustNewConstMetric(jc.desc, prometheus.GaugeValue, float64(jc.get(sums[t])), string(t))
		}
	}

	workers := map[fsm.WorkerState]int{}
	for _, w := range f.Workers() {
		workers[w.State]++
	}
	for _, s := range workerStates {
		ch <- prometheus.MustNewConstMetric(descWorkers, prometheus.GaugeValue, float64(workers[s]), string(s))
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
