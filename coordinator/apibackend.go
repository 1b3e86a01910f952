package coordinator

import (
	"context"
	"errors"
	"time"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
)

// This file implements what httpapi.Backend asks of a coordinator, in the
// REST API's types (api) and the shared vocabulary (policy): reads of this
// node's replica and writes committed through Apply. It is the one place
// where the persisted types of fsm become the wire types of api, so that a
// change of the Raft encoding never changes the REST answers.

// ---- cluster

// Leader returns the leader's id and published addresses. It fails with
// ErrNoLeader when no leader is known or the leader has not published its
// HTTP address yet (the id and Raft address are set then).
func (c *Coordinator) Leader() (api.Coordinator, error) {
	l, err := c.leaderInfo()
	return api.Coordinator{ID: l.ID, RaftAddress: l.RaftAddress, HTTPAddress: l.HTTPAddress, Leader: l.ID != ""}, err
}

// ---- jobs

// Jobs lists the jobs of a type ("load", "free", "rebalance") in key order,
// count at most (0: all), after lastKey; next is the key to go on from.
func (c *Coordinator) Jobs(jobType, lastKey string, count int) ([]api.Job, string) {
	jobs, next := c.fsm.Jobs(fsm.JobType(jobType), lastKey, count)
	out := make([]api.Job, 0, len(jobs))
	now := time.Now()
	for _, j := range jobs {
		out = append(out, c.jobView(j, now))
	}
	return out, next
}

// FindJob finds one job by the one field of sel that is set: its ID (of
// any type), or, among jobs of jobType, its alias, index file or rebalance
// target. An index file is looked up in its normalized form, or else as
// spelled (a job submitted by an earlier version kept it as spelled).
func (c *Coordinator) FindJob(jobType string, sel api.JobSelector) (api.Job, bool) {
	j, ok := c.findJob(fsm.JobType(jobType), sel)
	if !ok {
		return api.Job{}, false
	}
	return c.jobView(j, time.Now()), true
}

func (c *Coordinator) findJob(t fsm.JobType, sel api.JobSelector) (fsm.Job, bool) {
	switch {
	case sel.ID != "":
		return c.fsm.Job(sel.ID)
	case sel.Alias != "":
		return c.fsm.JobByKey(fsm.KeyByAlias(t, sel.Alias))
	case sel.Target != "":
		return c.fsm.JobByKey(fsm.KeyByTarget(sel.Target))
	case sel.Index != "":
		if r, err := c.fsm.Resolve(sel.Index); err == nil {
			if j, ok := c.fsm.JobByKey(fsm.KeyByIndex(t, r.Path)); ok {
				return j, true
			}
		}
		return c.fsm.JobByKey(fsm.KeyByIndex(t, sel.Index))
	}
	return fsm.Job{}, false
}

// ResolvePath maps a location (an Alluxio path or a UFS URI, cleaned) to
// its Alluxio path through the mount table; it fails with policy.ErrInvalid
// when no mount point covers it.
func (c *Coordinator) ResolvePath(location string) (string, error) {
	r, err := c.fsm.Resolve(location)
	if err != nil {
		return "", err
	}
	return r.Path, nil
}

// SubmitJob proposes a job by the rules of this version
// (fsm.RulesByCoverage) and answers it as it stands after the submit. A
// job that exists already is an *api.JobConflictError.
func (c *Coordinator) SubmitJob(ctx context.Context, spec api.JobSpec) (api.Job, error) {
	cmd := &fsm.SubmitJob{
		Job: fsm.Job{Type: fsm.JobType(spec.Type), Index: spec.Index, Alias: spec.Alias, Paths: spec.Paths,
			Target: spec.Target, Options: fsm.JobOptions(spec.Options)},
		GivenIndex: spec.GivenIndex, GivenPaths: spec.GivenPaths, Rules: fsm.RulesByCoverage,
	}
	res, err := c.Apply(ctx, cmd)
	if err != nil {
		return api.Job{}, jobConflict(err)
	}
	j, _ := res.(fsm.Job)
	return c.jobView(j, time.Now()), nil
}

// StopJob stops the job sel names (see FindJob; an index file is stopped
// under the key its job is stored by) and answers it as it stands after.
func (c *Coordinator) StopJob(ctx context.Context, jobType string, sel api.JobSelector) (api.Job, error) {
	t := fsm.JobType(jobType)
	var cmd fsm.StopJob
	switch {
	case sel.ID != "":
		cmd.ID = sel.ID
	case sel.Alias != "":
		cmd.Key = fsm.KeyByAlias(t, sel.Alias)
	case sel.Target != "":
		cmd.Key = fsm.KeyByTarget(sel.Target)
	default:
		cmd.Key = fsm.KeyByIndex(t, sel.Index)
		if j, ok := c.findJob(t, sel); ok {
			cmd.Key = fsm.KeyByIndex(t, j.Index) // the key it is stored under
		}
	}
	res, err := c.Apply(ctx, &cmd)
	if err != nil {
		return api.Job{}, err
	}
	j, _ := res.(fsm.Job)
	return c.jobView(j, time.Now()), nil
}

// jobConflict turns the state machine's job conflicts into the API's.
func jobConflict(err error) error {
	var exists *fsm.JobExistsError
	var aliasUsed *fsm.JobAliasError
	switch {
	case errors.As(err, &exists):
		return &api.JobConflictError{Body: api.Error{Status: err.Error(), ID: exists.ID, State: string(exists.State), Resumed: exists.Resumed, Alias: exists.Alias}}
	case errors.As(err, &aliasUsed):
		return &api.JobConflictError{Body: api.Error{Status: err.Error(), ID: aliasUsed.ID}}
	}
	return err
}

// jobView is a job as the API answers it, with the computed fields (elapsed
// time, throughput, the tightest quota).
func (c *Coordinator) jobView(j fsm.Job, now time.Time) api.Job {
	v := api.Job{
		ID: j.ID, Type: string(j.Type), State: string(j.State), Alias: j.Alias, Index: j.Index,
		Paths: j.Paths, Target: j.Target, Options: api.JobOptions(j.Options),
		SubmitTime: rfc3339(j.SubmitTime), StartTime: rfc3339(j.StartTime), EndTime: rfc3339(j.EndTime),
		JobCounters: api.JobCounters(j.JobCounters), FailedFileSamples: apiFailedFiles(j.FailedFileSamples),
		FailedFileListPath: j.FailedFileListPath,
		ErrorMessage:       j.ErrorMessage, QuotaCheckError: j.QuotaCheckError, Attempts: j.Attempts,
	}
	v.Quota = c.jobQuota(j)
	if !j.StartTime.IsZero() {
		end := now
		if !j.EndTime.IsZero() {
			end = j.EndTime
		}
		elapsed := end.Sub(j.StartTime)
		v.TimeElapsedMilliseconds = elapsed.Milliseconds()
		if elapsed > 0 {
			moved := j.LoadedBytes + j.FreedBytes
			v.ThroughputBytesPerSecond = int64(float64(moved) / elapsed.Seconds())
		}
	}
	return v
}

// The api types of a job mirror fsm's field for field: these Go struct
// conversions compile only while they do, so a field added to or renamed in
// fsm is a decision made here, never a silent change of the REST answers
// (the JSON names are api's own tags).
func apiFailedFiles(fs []fsm.FailedFile) []api.FailedFile {
	if fs == nil {
		return nil
	}
	out := make([]api.FailedFile, len(fs))
	for i, f := range fs {
		out[i] = api.FailedFile(f)
	}
	return out
}

// jobQuota is the tightest quota over a load job's Alluxio paths (a quota on
// a path, on one of its ancestors or on a directory under it): the one with
// the least room left, nil when none applies.
func (c *Coordinator) jobQuota(j fsm.Job) *api.JobQuota {
	if j.Type != fsm.JobLoad || len(j.Paths) == 0 {
		return nil
	}
	var tightest *api.JobQuota
	for _, q := range c.fsm.Quotas() {
		for _, p := range j.Paths {
			if apath.Validate(p) != nil || !(apath.Contains(q.Path, p) || apath.Contains(p, q.Path)) {
				continue
			}
			left := max(q.QuotaBytes-c.UsedBytesUnder(q.Path), 0)
			if tightest == nil || left < tightest.Remaining {
				tightest = &api.JobQuota{TotalBytes: q.QuotaBytes, Remaining: left}
			}
			break
		}
	}
	return tightest
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
