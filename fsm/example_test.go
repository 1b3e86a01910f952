package fsm_test

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/alluvium/alluvium/fsm"
)

// apply encodes a command and applies it at a log index, as a coordinator
// does with each committed Raft entry.
func apply(f *fsm.FSM, index uint64, c fsm.Command) any {
	data, err := fsm.Encode(c)
	if err != nil {
		panic(err)
	}
	return f.Apply(index, data)
}

// A state machine takes encoded commands at increasing log indexes and
// answers queries; a command that does not fit the state answers a typed
// error and changes nothing.
func Example() {
	f := fsm.New()
	apply(f, 1, &fsm.AddMount{Mount: fsm.Mount{Path: "/s3", UFS: "s3://bucket/data/"}})
	apply(f, 2, &fsm.SetQuota{Path: "/s3/team-a", Bytes: 1 << 30})

	for _, m := range f.Mounts() {
		fmt.Println(m.Path, "->", m.UFS)
	}
	r, _ := f.Resolve("/s3/team-a/part-0.parquet")
	fmt.Println(r.UFS)
	q, _ := f.Quota("/s3/team-a")
	fmt.Println(q.QuotaBytes)

	err, _ := apply(f, 3, &fsm.AddMount{Mount: fsm.Mount{Path: "/s3/inner", UFS: "s3://other/"}}).(error)
	fmt.Println(errors.Is(err, fsm.ErrConflict), len(f.Mounts()))
	version, _ := f.PolicyWatch()
	fmt.Println("policy version", version, "applied", f.AppliedIndex())
	// Output:
	// /s3 -> s3://bucket/data
	// s3://bucket/data/team-a/part-0.parquet
	// 1073741824
	// true 1
	// policy version 2 applied 3
}

// Submitting a job that exists answers a *JobExistsError; a stopped job is
// resumed by it.
func ExampleJobExistsError() {
	f := fsm.New()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	job := fsm.Job{Type: fsm.JobLoad, Index: "/s3/index.txt"}
	submitted := apply(f, 1, &fsm.SubmitJob{Job: job, Now: now, Rules: fsm.RulesByCoverage}).(fsm.Job)
	fmt.Println(submitted.State, submitted.Attempts)

	apply(f, 2, &fsm.StopJob{Key: fsm.KeyByIndex(fsm.JobLoad, "/s3/index.txt"), Now: now})
	err := apply(f, 3, &fsm.SubmitJob{Job: job, Now: now, Rules: fsm.RulesByCoverage}).(error)
	var exists *fsm.JobExistsError
	if errors.As(err, &exists) {
		fmt.Println(exists.ID == submitted.ID, exists.Resumed, exists.State)
	}
	j, _ := f.Job(submitted.ID)
	fmt.Println(j.State, j.Attempts)
	// Output:
	// WAITING 1
	// true true WAITING
	// WAITING 2
}

// A snapshot captures the state at once and is written later; Restore
// replaces the whole state of another state machine with it.
func ExampleFSM_Restore() {
	f := fsm.New()
	apply(f, 1, &fsm.AddMount{Mount: fsm.Mount{Path: "/local", UFS: "file:///srv/data"}})
	apply(f, 2, &fsm.FileIndexAdd{Entries: []fsm.FileEntry{{Path: "/local/a.csv", Size: 42}}, Worker: "worker-1"})
	snap := f.Snapshot()
	apply(f, 3, &fsm.FileIndexRemove{Paths: []string{"/local/a.csv"}}) // not in the snapshot

	var buf bytes.Buffer
	if _, err := snap.WriteTo(&buf); err != nil {
		panic(err)
	}
	g := fsm.New()
	if err := g.Restore(&buf); err != nil {
		panic(err)
	}
	e, _ := g.FileIndexGet("/local/a.csv")
	fmt.Println(g.AppliedIndex(), len(g.Mounts()), e.Path, e.Size, e.Workers)
	fmt.Println(f.FileIndexLen(), g.FileIndexLen())
	// Output:
	// 2 1 /local/a.csv 42 [worker-1]
	// 0 1
}
