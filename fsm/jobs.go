package fsm

import (
	"encoding/binary"
	"slices"
	"sort"
	"time"

	"github.com/oklog/ulid/v2"
)

// JobType is the kind of a job.
type JobType string

// The job types.
const (
	JobLoad      JobType = "load"
	JobFree      JobType = "free"
	JobRebalance JobType = "rebalance"
)

// JobState is where a job is in its life.
type JobState string

// The job states: WAITING -> RUNNING -> (VERIFYING ->) SUCCEEDED | FAILED |
// STOPPED. A STOPPED, FAILED or SUCCEEDED job runs again when it is
// submitted again (see SubmitJob).
const (
	JobWaiting   JobState = "WAITING"
	JobRunning   JobState = "RUNNING"
	JobVerifying JobState = "VERIFYING"
	JobSucceeded JobState = "SUCCEEDED"
	JobFailed    JobState = "FAILED"
	JobStopped   JobState = "STOPPED"
)

// Active reports whether a job in this state still has work to do.
func (s JobState) Active() bool {
	return s == JobWaiting || s == JobRunning || s == JobVerifying
}

// MaxFailedSamples bounds the failed files kept in a job; the full list goes
// to a file on the leader (FailedFileListPath).
const MaxFailedSamples = 100

// JobOptions are the options of all job types; each type reads its own.
type JobOptions struct {
	// load and free
	BatchSize       int    `json:"batchSize,omitempty" msgpack:"BatchSize"`
	FileFilterRegex string `json:"fileFilterRegex,omitempty" msgpack:"FileFilterRegex"`
	Replicas        int    `json:"replicas,omitempty" msgpack:"Replicas"`
	// load
	SkipIfExists     bool   `json:"skipIfExists,omitempty" msgpack:"SkipIfExists"`
	LoadPolicy       string `json:"loadPolicy,omitempty" msgpack:"LoadPolicy"`
	LoadMetadataOnly bool   `json:"loadMetadataOnly,omitempty" msgpack:"LoadMetadataOnly"`
	Verify           bool   `json:"verify,omitempty" msgpack:"Verify"`
	Bandwidth        int64  `json:"bandwidth,omitempty" msgpack:"Bandwidth"`
	// free
	Force bool `json:"force,omitempty" msgpack:"Force"`
	// rebalance
	LoadBatchSize  int   `json:"loadBatchSize,omitempty" msgpack:"LoadBatchSize"`
	LoadBandwidth  int64 `json:"loadBandwidth,omitempty" msgpack:"LoadBandwidth"`
	PruneBandwidth int64 `json:"pruneBandwidth,omitempty" msgpack:"PruneBandwidth"`
	SkipPrune      bool  `json:"skipPrune,omitempty" msgpack:"SkipPrune"`
}

// JobCounters are a job's progress. UpdateJob adds deltas to them, so that
// batches finishing in any order add up.
type JobCounters struct {
	ScannedFiles        int64 `json:"scannedFiles,omitempty" msgpack:"ScannedFiles"`
	LoadedNonEmptyFiles int64 `json:"loadedNonEmptyFiles,omitempty" msgpack:"LoadedNonEmptyFiles"`
	LoadedFiles         int64 `json:"loadedFiles,omitempty" msgpack:"LoadedFiles"`
	LoadedBytes         int64 `json:"loadedBytes,omitempty" msgpack:"LoadedBytes"`
	SkippedFiles        int64 `json:"skippedFiles,omitempty" msgpack:"SkippedFiles"`
	SkippedBytes        int64 `json:"skippedBytes,omitempty" msgpack:"SkippedBytes"`
	TotalBytes          int64 `json:"totalBytes,omitempty" msgpack:"TotalBytes"`
	FailedFiles         int64 `json:"failedFiles,omitempty" msgpack:"FailedFiles"`
	FreedFiles          int64 `json:"freedFiles,omitempty" msgpack:"FreedFiles"`
	FreedBytes          int64 `json:"freedBytes,omitempty" msgpack:"FreedBytes"`
	PrunedFiles         int64 `json:"prunedFiles,omitempty" msgpack:"PrunedFiles"`
	PrunedBytes         int64 `json:"prunedBytes,omitempty" msgpack:"PrunedBytes"`
	// ReloadedFiles counts the files a load's verify pass found missing on
	// an owner and loaded again.
	ReloadedFiles int64 `json:"reloadedFiles,omitempty" msgpack:"ReloadedFiles"`
}

// Add adds the counters of d.
func (c *JobCounters) Add(d JobCounters) {
	c.ScannedFiles += d.ScannedFiles
	c.LoadedNonEmptyFiles += d.LoadedNonEmptyFiles
	c.LoadedFiles += d.LoadedFiles
	c.LoadedBytes += d.LoadedBytes
	c.SkippedFiles += d.SkippedFiles
	c.SkippedBytes += d.SkippedBytes
	c.TotalBytes += d.TotalBytes
	c.FailedFiles += d.FailedFiles
	c.FreedFiles += d.FreedFiles
	c.FreedBytes += d.FreedBytes
	c.PrunedFiles += d.PrunedFiles
	c.PrunedBytes += d.PrunedBytes
	c.ReloadedFiles += d.ReloadedFiles
}

// FailedFile is one file a job could not process, with the reason.
type FailedFile struct {
	Path   string `json:"path" msgpack:"Path"`
	Reason string `json:"reason" msgpack:"Reason"`
}

// Job is a load, free or rebalance job. A job is identified by its ID (a ULID,
// so ids sort by submission time) and, among jobs of its type, by what it
// covers: its index file, its set of paths, or its rebalance target (see
// Key). A job of paths also has an alias, a second name to look it up by.
type Job struct {
	ID      string     `json:"id" msgpack:"ID"`
	Type    JobType    `json:"type" msgpack:"Type"`
	State   JobState   `json:"state" msgpack:"State"`
	Alias   string     `json:"alias,omitempty" msgpack:"Alias"`
	Index   string     `json:"index,omitempty" msgpack:"Index"`
	Paths   []string   `json:"paths,omitempty" msgpack:"Paths"`
	Target  string     `json:"target,omitempty" msgpack:"Target"`
	Options JobOptions `json:"options" msgpack:"Options"`

	SubmitTime time.Time `json:"submitTime" msgpack:"SubmitTime"`
	StartTime  time.Time `json:"startTime" msgpack:"StartTime"`
	EndTime    time.Time `json:"endTime" msgpack:"EndTime"`

	JobCounters        `msgpack:",inline"`
	FailedFileSamples  []FailedFile `json:"failedFileSamples,omitempty" msgpack:"FailedFileSamples"`
	FailedFileListPath string       `json:"failedFileListPath,omitempty" msgpack:"FailedFileListPath"`
	ErrorMessage       string       `json:"errorMessage,omitempty" msgpack:"ErrorMessage"`
	QuotaCheckError    string       `json:"quotaCheckError,omitempty" msgpack:"QuotaCheckError"`

	// Cursor is the scheduler's opaque resume point (e.g. the last listed
	// path); Phase names the pass in progress (e.g. "load", "prune").
	Cursor string `json:"-" msgpack:"Cursor"`
	Phase  string `json:"-" msgpack:"Phase"`
	// Attempts counts the runs: 1 at submission, plus one per resume.
	Attempts int `json:"attempts" msgpack:"Attempts"`
}

func (j *Job) clone() *Job {
	c := *j
	c.Paths = slices.Clone(j.Paths)
	c.FailedFileSamples = slices.Clone(j.FailedFileSamples)
	return &c
}

// SubmitJob submits a job. Job carries the type, what the job covers (index
// file, paths with their alias, or rebalance target) and options; the state
// machine assigns the id (see nextJobID) and sets the state and times.
//
// By RulesByCoverage (what every proposer of this version sends), Job.Paths
// are Alluxio paths, cleaned, UFS URIs mapped through the mount table by the
// proposer; Apply keeps them in canonical form (CanonicalPaths). When a job
// covers the same index file or the same set of paths, whatever the alias,
// Apply answers a *JobExistsError (ErrConflict) naming it and changes it so:
//   - WAITING, RUNNING or VERIFYING: it goes on, unchanged (Resumed false);
//   - STOPPED with the same options: it resumes from its cursor, counters
//     kept, so a stop and a resubmit redo no work;
//   - STOPPED with other options, FAILED or SUCCEEDED: it runs again from the
//     start with the submit's options (counters, cursor, samples and error
//     reset). A cursor and counters of a run with other options (another
//     filter, batch size or replica count) do not describe the new run.
//     Files already cached are not loaded again unless the options say so.
//
// A rerun adds one to Attempts, which fences the updates of the earlier run.
// The job keeps its id and its alias: the submit's alias is not recorded.
// Otherwise, when the alias names another job (over other paths), Apply
// answers a *JobAliasError (ErrConflict) naming that job and changes nothing.
// By RulesByAlias (commands of earlier versions), see resubmitLegacy.
type SubmitJob struct {
	Job Job       `msgpack:"Job"`
	Now time.Time `msgpack:"Now"`
	// Rules are the rules the proposer submits by: set RulesByCoverage (as
	// httpapi does). Commands of earlier versions lack the field and decode
	// as RulesByAlias, the zero value, which applies the rules of then.
	Rules SubmitRules `msgpack:"Rules"`
	// GivenIndex and GivenPaths are the index and paths as the request spelled
	// them, when the proposer's normalization changed them: a job persisted
	// by an earlier version kept them so, and is found by them when no job
	// has the normalized identity.
	GivenIndex string   `msgpack:"GivenIndex,omitempty"`
	GivenPaths []string `msgpack:"GivenPaths,omitempty"`
}

// UpdateJob records progress: counter deltas, a new cursor and phase, failed
// files, and optionally a new state. It fails with ErrGone once the job has
// stopped or finished, so a deposed leader's late progress is refused.
type UpdateJob struct {
	ID string `msgpack:"ID"`
	// Attempt, when not 0, is the run (Job.Attempts) the update is from: an
	// update from an earlier run, one that was stopped and then resumed by
	// a newer run, fails with ErrGone.
	Attempt            int          `msgpack:"Attempt"`
	State              JobState     `msgpack:"State"` // "" keeps the state
	Delta              JobCounters  `msgpack:"Delta"`
	Cursor             *string      `msgpack:"Cursor"`
	Phase              *string      `msgpack:"Phase"`
	Failed             []FailedFile `msgpack:"Failed"`
	FailedFileListPath string       `msgpack:"FailedFileListPath"`
	ErrorMessage       string       `msgpack:"ErrorMessage"`
	QuotaCheckError    *string      `msgpack:"QuotaCheckError"`
	Now                time.Time    `msgpack:"Now"`
	// Observed records what the page's tasks saw the workers hold (see
	// holdings.go): the page's progress and its file-index changes are
	// one command, so neither is ever committed without the other.
	Observed []WorkerObservation `msgpack:"Observed,omitempty"`
}

// StopJob stops an active job, found by ID or by Key. It fails with ErrGone
// when there is no such job or it is no longer active.
type StopJob struct {
	ID  string    `msgpack:"ID"`
	Key JobKey    `msgpack:"Key"`
	Now time.Time `msgpack:"Now"`
}

// PruneJobs deletes finished jobs that ended before Before, then the oldest
// finished jobs beyond the newest Keep. Active jobs are never pruned.
type PruneJobs struct {
	Before time.Time `msgpack:"Before"`
	Keep   int       `msgpack:"Keep"`
}

func (*SubmitJob) Type() CommandType { return CmdSubmitJob }
func (*UpdateJob) Type() CommandType { return CmdUpdateJob }
func (*StopJob) Type() CommandType   { return CmdStopJob }
func (*PruneJobs) Type() CommandType { return CmdPruneJobs }

func checkNewJob(j *Job) error {
	switch j.Type {
	case JobLoad, JobFree:
		if (j.Index == "") == (len(j.Paths) == 0) {
			return invalidf("exactly one of index and paths must be given")
		}
		if (len(j.Paths) == 0) != (j.Alias == "") {
			return invalidf("paths and alias must be given together")
		}
		if j.Target != "" {
			return invalidf("a %s job takes no target", j.Type)
		}
	case JobRebalance:
		if j.Target == "" {
			return invalidf("a rebalance job needs a target")
		}
		if j.Index != "" || j.Alias != "" || len(j.Paths) > 0 {
			return invalidf("a rebalance job takes a target only")
		}
	default:
		return invalidf("job type %q is not one of load, free, rebalance", j.Type)
	}
	return nil
}

func (f *FSM) applySubmitJob(index uint64, c *SubmitJob) any {
	in := c.Job.clone()
	if err := checkNewJob(in); err != nil {
		return err
	}
	switch c.Rules {
	case RulesByAlias:
		if id, ok := f.s.jobKeys[in.legacyKey()]; ok {
			return f.s.resubmitLegacy(id, in)
		}
	case RulesByCoverage:
		in.Paths = CanonicalPaths(in.Paths)
		if id, ok := f.s.findJob(in, c); ok {
			return f.s.resubmit(id, in)
		}
		if in.Alias != "" {
			if id, taken := f.s.jobKeys[KeyByAlias(in.Type, in.Alias)]; taken {
				return &JobAliasError{Type: in.Type, Alias: in.Alias, ID: id}
			}
		}
	default:
		return invalidf("submit rules %d are not known to this version", c.Rules)
	}
	now := c.Now.UTC()
	j := in
	j.ID = f.s.nextJobID(index, now)
	j.State = JobWaiting
	j.SubmitTime, j.StartTime, j.EndTime = now, time.Time{}, time.Time{}
	j.JobCounters = JobCounters{}
	j.FailedFileSamples, j.FailedFileListPath, j.ErrorMessage, j.QuotaCheckError = nil, "", "", ""
	j.Cursor, j.Phase, j.Attempts = "", "", 1
	f.s.jobs[j.ID] = j
	f.s.setJobKeys(j)
	return *j.clone()
}

// resubmit applies a submit (RulesByCoverage) of the existing job id; see
// SubmitJob.
func (s *state) resubmit(id string, in *Job) error {
	old := s.jobs[id]
	if old.State.Active() {
		return &JobExistsError{ID: id, State: old.State, Alias: old.Alias}
	}
	j := old.clone()
	if old.State == JobStopped && old.Options == in.Options {
		j.State, j.EndTime, j.ErrorMessage = JobWaiting, time.Time{}, ""
	} else {
		j.Options = in.Options
		j.restart()
	}
	j.Attempts++
	s.jobs[id] = j
	return &JobExistsError{ID: id, State: j.State, Resumed: true, Alias: j.Alias}
}

// resubmitLegacy applies a submit written by an earlier version (RulesByAlias)
// of the existing job id as that version did: a STOPPED job resumes from its
// cursor with its own options, a FAILED or SUCCEEDED one runs again from the
// start with the submit's options, an active one goes on. Never change it:
// replaying old logs must give the state the earlier version reached.
func (s *state) resubmitLegacy(id string, in *Job) error {
	old := s.jobs[id]
	j := old.clone()
	switch old.State {
	case JobStopped:
		j.State, j.EndTime, j.ErrorMessage = JobWaiting, time.Time{}, ""
	case JobFailed, JobSucceeded:
		j.Options = in.Options
		j.restart()
	default:
		return &JobExistsError{ID: id, State: old.State, Alias: old.Alias}
	}
	j.Attempts++
	s.jobs[id] = j
	return &JobExistsError{ID: id, State: j.State, Resumed: true, Alias: j.Alias}
}

// restart readies a job to run again from the start: WAITING, its progress,
// failures and cursor cleared; its id, submission time and attempts kept.
func (j *Job) restart() {
	j.State, j.StartTime, j.EndTime = JobWaiting, time.Time{}, time.Time{}
	j.JobCounters = JobCounters{}
	j.FailedFileSamples, j.FailedFileListPath, j.ErrorMessage, j.QuotaCheckError = nil, "", "", ""
	j.Cursor, j.Phase = "", ""
}

// nextJobID returns a new job id: a ULID whose time is the command's time
// (never earlier than the previous id's, whatever the leaders' clocks did) and
// whose entropy is the log index. It is deterministic, unique and sorts by
// submission, which is what listing by id and key ownership rely on.
func (s *state) nextJobID(index uint64, now time.Time) string {
	// Clamp to the ULID range (year 10889); the log index in the entropy
	// keeps ids at the clamp unique and increasing.
	ms := min(uint64(max(now.UnixMilli(), 0)), ulid.MaxTime())
	if prev, err := ulid.ParseStrict(s.lastJobID); err == nil && prev.Time() > ms {
		ms = prev.Time()
	}
	var id ulid.ULID
	_ = id.SetTime(ms)
	var entropy [10]byte
	binary.BigEndian.PutUint64(entropy[2:], index)
	_ = id.SetEntropy(entropy[:])
	s.lastJobID = id.String()
	return s.lastJobID
}

// allowedTransition says which states UpdateJob may move an active job to.
func allowedTransition(from, to JobState) bool {
	if to == "" || to == from {
		return true
	}
	switch to {
	case JobRunning:
		return from == JobWaiting
	case JobVerifying:
		return from == JobRunning
	case JobSucceeded, JobFailed:
		return from.Active()
	}
	return false // STOPPED goes through StopJob; WAITING through a resubmit
}

func (f *FSM) applyUpdateJob(_ uint64, c *UpdateJob) any {
	old, ok := f.s.jobs[c.ID]
	if !ok {
		return gonef("job %s does not exist", c.ID)
	}
	if !old.State.Active() {
		return gonef("job %s is %s", c.ID, old.State)
	}
	if c.Attempt != 0 && c.Attempt != old.Attempts {
		return gonef("job %s: run %d was superseded by run %d", c.ID, c.Attempt, old.Attempts)
	}
	if !allowedTransition(old.State, c.State) {
		return invalidf("job %s cannot go from %s to %s", c.ID, old.State, c.State)
	}
	now := c.Now.UTC()
	j := old.clone()
	j.JobCounters.Add(c.Delta)
	if c.Cursor != nil {
		j.Cursor = *c.Cursor
	}
	if c.Phase != nil {
		j.Phase = *c.Phase
	}
	if c.QuotaCheckError != nil {
		j.QuotaCheckError = *c.QuotaCheckError
	}
	if c.FailedFileListPath != "" {
		j.FailedFileListPath = c.FailedFileListPath
	}
	if c.ErrorMessage != "" {
		j.ErrorMessage = c.ErrorMessage
	}
	for _, ff := range c.Failed {
		if len(j.FailedFileSamples) >= MaxFailedSamples {
			break
		}
		j.FailedFileSamples = append(j.FailedFileSamples, ff)
	}
	if c.State != "" && c.State != j.State {
		j.State = c.State
		if c.State == JobRunning && j.StartTime.IsZero() {
			j.StartTime = now
		}
		if !c.State.Active() {
			j.EndTime = now
		}
	}
	f.s.jobs[j.ID] = j
	f.s.applyObserved(c.Observed)
	return *j.clone()
}

func (f *FSM) applyStopJob(_ uint64, c *StopJob) any {
	id := c.ID
	if id == "" {
		id = f.s.jobKeys[c.Key]
	}
	old, ok := f.s.jobs[id]
	if !ok {
		return gonef("no such job")
	}
	if !old.State.Active() {
		return gonef("job %s has already ended (%s)", id, old.State)
	}
	j := old.clone()
	j.State, j.EndTime = JobStopped, c.Now.UTC()
	f.s.jobs[id] = j
	return *j.clone()
}

func (f *FSM) applyPruneJobs(_ uint64, c *PruneJobs) any {
	var finished []string
	removed := 0
	for _, id := range sortedKeys(f.s.jobs) {
		j := f.s.jobs[id]
		if j.State.Active() {
			continue
		}
		if j.EndTime.Before(c.Before) {
			delete(f.s.jobs, id)
			removed++
			continue
		}
		finished = append(finished, id)
	}
	if c.Keep >= 0 && len(finished) > c.Keep {
		for _, id := range finished[:len(finished)-c.Keep] {
			delete(f.s.jobs, id)
			removed++
		}
	}
	if removed > 0 {
		f.s.rebuildJobKeys()
	}
	return removed
}

// Job returns a job by id.
func (f *FSM) Job(id string) (Job, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	j, ok := f.s.jobs[id]
	if !ok {
		return Job{}, false
	}
	return *j.clone(), true
}

// Jobs lists jobs of type t (all types when t is ""), ordered by id, after
// lastKey (exclusive), at most count of them (all when count <= 0). next is
// the id to pass as lastKey for the following page, "" at the end.
func (f *FSM) Jobs(t JobType, lastKey string, count int) (jobs []Job, next string) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	ids := sortedKeys(f.s.jobs)
	start := sort.SearchStrings(ids, lastKey)
	if start < len(ids) && ids[start] == lastKey {
		start++
	}
	for _, id := range ids[start:] {
		j := f.s.jobs[id]
		if t != "" && j.Type != t {
			continue
		}
		if count > 0 && len(jobs) == count {
			return jobs, jobs[len(jobs)-1].ID
		}
		jobs = append(jobs, *j.clone())
	}
	return jobs, ""
}

// ActiveJobs lists the jobs that still have work to do, ordered by id: the
// leader's scheduler runs these.
func (f *FSM) ActiveJobs() []Job {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []Job
	for _, id := range sortedKeys(f.s.jobs) {
		if j := f.s.jobs[id]; j.State.Active() {
			out = append(out, *j.clone())
		}
	}
	return out
}
