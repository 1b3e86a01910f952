package fsm

import (
	"errors"
	"testing"
	"time"
)

// submitBy is a SubmitJob as this version's proposers send it.
func submitBy(j Job, now time.Time) *SubmitJob {
	return &SubmitJob{Job: j, Now: now, Rules: RulesByCoverage}
}

// identityFixture submits the jobs TestApplySubmitJobIdentity starts from
// and returns their ids by name. "set" is left in state st, with progress,
// a failure and a cursor.
func identityFixture(a *applier, st JobState) map[string]string {
	a.t.Helper()
	ids := map[string]string{}
	for name, j := range map[string]Job{
		"set":   {Type: JobLoad, Paths: []string{"/s3/b", "/s3/a"}, Alias: "set-1", Options: JobOptions{BatchSize: 10, Replicas: 1}},
		"other": {Type: JobLoad, Paths: []string{"/s3/c"}, Alias: "other", Options: JobOptions{BatchSize: 200, Replicas: 1}},
		"index": {Type: JobLoad, Index: "/s3/list.txt", Options: JobOptions{BatchSize: 200, Replicas: 1}},
		"free":  {Type: JobFree, Paths: []string{"/s3/a", "/s3/b"}, Alias: "set-1", Options: JobOptions{BatchSize: 200, Replicas: 1}},
	} {
		ids[name] = a.job(submitBy(j, t0)).ID
	}
	id := ids["set"]
	cursor := `{"r":1}`
	if st != JobWaiting {
		a.job(&UpdateJob{ID: id, State: JobRunning, Cursor: &cursor, Delta: JobCounters{ScannedFiles: 4, LoadedBytes: 40, FailedFiles: 1},
			Failed: []FailedFile{{Path: "/s3/a/x", Reason: "denied"}}, Now: at(time.Minute)})
	}
	switch st {
	case JobVerifying, JobSucceeded, JobFailed:
		if st == JobVerifying {
			a.job(&UpdateJob{ID: id, State: JobVerifying, Now: at(2 * time.Minute)})
		} else {
			a.job(&UpdateJob{ID: id, State: st, ErrorMessage: "ended", Now: at(2 * time.Minute)})
		}
	case JobStopped:
		a.job(&StopJob{ID: id, Now: at(2 * time.Minute)})
	}
	return ids
}

// TestApplySubmitJobIdentity: a load or free job is identified by its index
// file or its set of paths, whatever alias a submit gives; the alias is a
// second name that names one job; a rerun of an ended job takes the submit's
// options.
func TestApplySubmitJobIdentity(t *testing.T) {
	setOpts := JobOptions{BatchSize: 10, Replicas: 1}
	newOpts := JobOptions{BatchSize: 50, Replicas: 1, SkipIfExists: true}
	type outcome int
	const (
		created   outcome = iota // a new job
		goesOn                   // 409, the named job unchanged
		rerun                    // 409, the named job runs again (Resumed)
		aliasUsed                // 409 JobAliasError naming the job, nothing changed
	)
	for _, tc := range []struct {
		name  string
		state JobState // of "set"
		job   Job
		want  outcome
		names string // the job the answer names ("" for a new one)
		check func(t *testing.T, before, after Job)
	}{
		{name: "same paths, another alias", state: JobWaiting, want: goesOn, names: "set",
			job: Job{Type: JobLoad, Paths: []string{"/s3/a", "/s3/b"}, Alias: "set-2", Options: setOpts}},
		{name: "same paths reordered and repeated, no alias of its own", state: JobRunning, want: goesOn, names: "set",
			job: Job{Type: JobLoad, Paths: []string{"/s3/b", "/s3/a", "/s3/b", "/s3/a"}, Alias: "/s3/b", Options: newOpts}},
		{name: "same paths, the alias of a job over other paths", state: JobVerifying, want: goesOn, names: "set",
			job: Job{Type: JobLoad, Paths: []string{"/s3/a", "/s3/b"}, Alias: "other", Options: setOpts}},
		{name: "same index", state: JobWaiting, want: goesOn, names: "index",
			job: Job{Type: JobLoad, Index: "/s3/list.txt", Options: newOpts}},
		{name: "alias of a job over other paths", state: JobWaiting, want: aliasUsed, names: "set",
			job: Job{Type: JobLoad, Paths: []string{"/s3/d"}, Alias: "set-1", Options: setOpts}},
		{name: "alias of an ended job over a subset", state: JobSucceeded, want: aliasUsed, names: "set",
			job: Job{Type: JobLoad, Paths: []string{"/s3/a"}, Alias: "set-1", Options: setOpts}},
		{name: "alias of another job, new paths", state: JobStopped, want: aliasUsed, names: "other",
			job: Job{Type: JobLoad, Paths: []string{"/s3/c", "/s3/d"}, Alias: "other", Options: setOpts}},
		{name: "same paths and alias, another type", state: JobWaiting, want: created,
			job: Job{Type: JobFree, Paths: []string{"/s3/c"}, Alias: "other", Options: setOpts}},
		{name: "a superset is another job", state: JobWaiting, want: created,
			job: Job{Type: JobLoad, Paths: []string{"/s3/a", "/s3/b", "/s3/c"}, Alias: "set-3", Options: setOpts}},
		{name: "stopped, same options: resumed from its cursor", state: JobStopped, want: rerun, names: "set",
			job: Job{Type: JobLoad, Paths: []string{"/s3/a", "/s3/b"}, Alias: "set-2", Options: setOpts},
			check: func(t *testing.T, before, after Job) {
				eq(t, "Cursor", after.Cursor, before.Cursor)
				eq(t, "counters", after.JobCounters, before.JobCounters)
				eq(t, "samples", after.FailedFileSamples, before.FailedFileSamples)
				eq(t, "StartTime", after.StartTime, before.StartTime)
				eq(t, "Options", after.Options, setOpts)
			}},
		{name: "stopped, other options: run again from the start with them", state: JobStopped, want: rerun, names: "set",
			job: Job{Type: JobLoad, Paths: []string{"/s3/b", "/s3/a"}, Alias: "set-1", Options: newOpts},
			check: func(t *testing.T, before, after Job) {
				eq(t, "Cursor", after.Cursor, "")
				eq(t, "counters", after.JobCounters, JobCounters{})
				eq(t, "samples", len(after.FailedFileSamples), 0)
				eq(t, "StartTime", after.StartTime, time.Time{})
				eq(t, "Options", after.Options, newOpts)
			}},
		{name: "failed: run again with the submit's options", state: JobFailed, want: rerun, names: "set",
			job: Job{Type: JobLoad, Paths: []string{"/s3/a", "/s3/b"}, Alias: "set-9", Options: newOpts},
			check: func(t *testing.T, before, after Job) {
				eq(t, "Cursor", after.Cursor, "")
				eq(t, "counters", after.JobCounters, JobCounters{})
				eq(t, "ErrorMessage", after.ErrorMessage, "")
				eq(t, "Options", after.Options, newOpts)
			}},
		{name: "failed, same options: run again from the start", state: JobFailed, want: rerun, names: "set",
			job: Job{Type: JobLoad, Paths: []string{"/s3/a", "/s3/b"}, Alias: "set-1", Options: setOpts},
			check: func(t *testing.T, before, after Job) {
				eq(t, "Cursor", after.Cursor, "")
				eq(t, "counters", after.JobCounters, JobCounters{})
			}},
		{name: "succeeded: run again with the submit's options", state: JobSucceeded, want: rerun, names: "set",
			job: Job{Type: JobLoad, Paths: []string{"/s3/b", "/s3/a", "/s3/a"}, Alias: "set-1", Options: newOpts},
			check: func(t *testing.T, before, after Job) {
				eq(t, "Cursor", after.Cursor, "")
				eq(t, "counters", after.JobCounters, JobCounters{})
				eq(t, "EndTime", after.EndTime, time.Time{})
				eq(t, "Options", after.Options, newOpts)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApplier(t)
			ids := identityFixture(a, tc.state)
			before, _ := a.f.Job(ids[tc.names])
			jobsBefore, _ := a.f.Jobs("", "", 0)
			c := submitBy(tc.job, at(time.Hour))
			switch tc.want {
			case created:
				j := a.job(c)
				eq(t, "Paths", j.Paths, CanonicalPaths(tc.job.Paths))
				for _, k := range []JobKey{KeyByPaths(j.Type, tc.job.Paths), KeyByAlias(j.Type, tc.job.Alias)} {
					if got, ok := a.f.JobByKey(k); !ok || got.ID != j.ID {
						t.Fatalf("JobByKey(%v) = %s, %v; want the new job %s", k, got.ID, ok, j.ID)
					}
				}
				return
			case goesOn:
				jobExists(t, a.fail(c, ErrConflict), ids[tc.names], before.State, false)
				var je *JobExistsError
				_ = errors.As(a.apply(c).(error), &je)
				eq(t, "Alias in the answer", je.Alias, before.Alias)
			case aliasUsed:
				var ae *JobAliasError
				if err := a.fail(c, ErrConflict); !errors.As(err, &ae) || ae.ID != ids[tc.names] || ae.Alias != tc.job.Alias {
					t.Fatalf("submit = %v, want a JobAliasError naming %s", err, ids[tc.names])
				}
			case rerun:
				jobExists(t, a.apply(c), ids[tc.names], JobWaiting, true)
				after, _ := a.f.Job(ids[tc.names])
				eq(t, "State", after.State, JobWaiting)
				eq(t, "Attempts", after.Attempts, before.Attempts+1)
				eq(t, "Alias kept", after.Alias, before.Alias)
				eq(t, "Paths kept", after.Paths, before.Paths)
				eq(t, "SubmitTime kept", after.SubmitTime, before.SubmitTime)
				tc.check(t, before, after)
				// The earlier run is fenced off.
				a.fail(&UpdateJob{ID: after.ID, Attempt: before.Attempts, Delta: JobCounters{LoadedFiles: 1}, Now: at(2 * time.Hour)}, ErrGone)
			}
			if jobs, _ := a.f.Jobs("", "", 0); len(jobs) != len(jobsBefore) {
				t.Fatalf("%d jobs after the submit, want %d", len(jobs), len(jobsBefore))
			}
			// Every name of every job still names it.
			for name, id := range ids {
				j, _ := a.f.Job(id)
				for _, k := range j.keys() {
					if got, ok := a.f.JobByKey(k); !ok || got.ID != id {
						t.Fatalf("job %s: JobByKey(%v) = %s, %v", name, k, got.ID, ok)
					}
				}
			}
			requireSameView(t, a.f, restored(t, a.f))
		})
	}
}

// TestCanonicalPaths: order and repetition never matter to a job's identity;
// anything else does.
func TestCanonicalPaths(t *testing.T) {
	eq(t, "nil", CanonicalPaths(nil), []string(nil))
	in := []string{"/b", "/a", "/b", "/a/x"}
	eq(t, "canonical", CanonicalPaths(in), []string{"/a", "/a/x", "/b"})
	eq(t, "input kept", in, []string{"/b", "/a", "/b", "/a/x"})
	k := KeyByPaths(JobLoad, []string{"/a", "/b"})
	for _, same := range [][]string{{"/b", "/a"}, {"/a", "/b", "/a"}, {"/b", "/b", "/a"}} {
		eq(t, "key of a reordered set", KeyByPaths(JobLoad, same), k)
	}
	for _, other := range [][]string{{"/a"}, {"/a", "/b", "/c"}, {"/a/b"}, {"/a\x00/b"}} {
		if KeyByPaths(JobLoad, other) == k {
			t.Errorf("KeyByPaths(%q) equals the key of another set", other)
		}
	}
	if KeyByPaths(JobFree, []string{"/a", "/b"}) == k {
		t.Errorf("a free job's key equals a load job's")
	}
}

// FuzzKeyByPaths: a key depends on the set of paths only.
func FuzzKeyByPaths(f *testing.F) {
	f.Add("/a", "/b", "/a")
	f.Add("/s3/x", "/s3/x", "/s3/x")
	f.Add("", "/", "s3://b/k")
	f.Fuzz(func(t *testing.T, p, q, r string) {
		k := KeyByPaths(JobLoad, []string{p, q, r})
		for _, perm := range [][]string{{r, q, p}, {q, p, r, p}, {r, r, q, p, q}} {
			if got := KeyByPaths(JobLoad, perm); got != k {
				t.Fatalf("KeyByPaths(%q) = %v, KeyByPaths(%q) = %v", []string{p, q, r}, k, perm, got)
			}
		}
		c := CanonicalPaths([]string{p, q, r})
		for i := 1; i < len(c); i++ {
			if c[i-1] >= c[i] {
				t.Fatalf("CanonicalPaths = %q: not sorted or not deduplicated", c)
			}
		}
	})
}

// TestApplySubmitJobUnknownRules: rules of a later version are refused, not
// guessed at.
func TestApplySubmitJobUnknownRules(t *testing.T) {
	a := newApplier(t)
	a.fail(&SubmitJob{Job: Job{Type: JobLoad, Index: "/i"}, Now: t0, Rules: RulesByCoverage + 1}, ErrInvalid)
}
