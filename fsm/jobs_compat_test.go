package fsm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"
)

// The files testdata/legacy-v1-jobs.* were written by the code of commit
// 093d77c, which keyed a job of paths by its alias: a Raft log (entries of
// uvarint index, uvarint length, encoded command), the snapshot of the state
// after it, and what each entry answered then. They stand for logs and
// snapshots on disk today: never regenerate them with newer code. The log:
//
//	1-2   mounts /s3 -> s3://bucket/data, /local -> file:///srv/local
//	3 A   load paths [/s3/b /s3/a /s3/a] alias set-1, batch 10
//	4 B   load paths [/s3/a /s3/b] alias set-2 (the same set: a second job then)
//	5 C   load paths [s3://bucket/data/train/] alias s3://bucket/data/train/
//	6 D   load index s3://bucket/data/list.txt
//	7 E   free paths [/local/x] alias set-1
//	8-9   A runs (cursor, counters), then is stopped by alias
//	10    load [/s3/c] alias set-2: 409 B (the new paths were dropped then)
//	11-13 C succeeds, and a resubmit runs it again with skipIfExists
//	14-15 D fails
//	16 R  rebalance ALL
//	17    stop by index s3://bucket/data/list.txt: gone (D had failed)
//	18    load [/s3/a /s3/b] alias set-1, batch 50: A resumed, batch 10 kept
//	19-21 F free index /local/list.txt, succeeds
type legacyGolden struct {
	IDs     map[string]string `json:"ids"`
	Results []struct {
		Index    uint64 `json:"index"`
		Command  string `json:"command"`
		JobID    string `json:"jobId"`
		State    string `json:"state"`
		Attempts int    `json:"attempts"`
		Err      string `json:"err"`
		Resumed  bool   `json:"resumed"`
	} `json:"results"`
}

func readLegacy(t *testing.T) (entries [][]byte, snap []byte, golden legacyGolden) {
	t.Helper()
	log, err := os.ReadFile("testdata/legacy-v1-jobs.log")
	if err != nil {
		t.Fatal(err)
	}
	for r := bytes.NewReader(log); r.Len() > 0; {
		idx, err1 := binary.ReadUvarint(r)
		n, err2 := binary.ReadUvarint(r)
		if err1 != nil || err2 != nil || idx != uint64(len(entries)+1) || n > uint64(r.Len()) {
			t.Fatalf("legacy log: entry %d is malformed", len(entries)+1)
		}
		e := make([]byte, n)
		_, _ = r.Read(e)
		entries = append(entries, e)
	}
	if snap, err = os.ReadFile("testdata/legacy-v1-jobs.snap"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/legacy-v1-jobs.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Results) != len(entries) {
		t.Fatalf("legacy golden has %d results for %d entries", len(golden.Results), len(entries))
	}
	return entries, snap, golden
}

// TestLegacyLogReplaysAsBefore: a log of the earlier version, replayed by
// this one, answers every entry as the earlier version did and reaches the
// state of the earlier version's snapshot, so replicas that replay the log
// and replicas that restore the snapshot agree.
func TestLegacyLogReplaysAsBefore(t *testing.T) {
	entries, snap, golden := readLegacy(t)
	replayed := New()
	for i, e := range entries {
		want := golden.Results[i]
		res := replayed.Apply(uint64(i+1), e)
		var je *JobExistsError
		var got struct {
			id, state, err string
			resumed        bool
			attempts       int
		}
		switch v := res.(type) {
		case Job:
			got.id, got.state, got.attempts = v.ID, string(v.State), v.Attempts
		case error:
			switch {
			case errors.As(v, &je):
				got.err, got.id, got.state, got.resumed = "conflict", je.ID, string(je.State), je.Resumed
			case errors.Is(v, ErrGone):
				got.err = "gone"
			default:
				got.err = v.Error()
			}
		}
		if got.id != want.JobID || got.state != want.State || got.err != want.Err || got.resumed != want.Resumed || got.attempts != want.Attempts {
			t.Fatalf("entry %d (%s) answered %+v; the earlier version answered %+v", i+1, want.Command, got, want)
		}
	}
	restored := New()
	if err := restored.Restore(bytes.NewReader(snap)); err != nil {
		t.Fatalf("Restore of the earlier version's snapshot: %v", err)
	}
	requireSameView(t, restored, replayed)
	if !bytes.Equal(snapshotBytes(t, replayed), currentSnapshot(t, snap)) {
		t.Errorf("the replayed state writes another snapshot than the earlier version did")
	}
}

// TestLegacyJobsKeepWorking: jobs that the earlier version persisted are
// found by their alias, their index and their set of paths, and a submit of
// this version (RulesByCoverage) over what they cover names them.
func TestLegacyJobsKeepWorking(t *testing.T) {
	entries, snap, golden := readLegacy(t)
	id := golden.IDs
	a := &applier{t: t, f: New(), idx: uint64(len(entries))}
	if err := a.f.Restore(bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct {
		key  JobKey
		want string
	}{
		{KeyByAlias(JobLoad, "set-1"), id["A"]},
		{KeyByAlias(JobLoad, "set-2"), id["B"]},
		{KeyByAlias(JobLoad, "s3://bucket/data/train/"), id["C"]},
		{KeyByAlias(JobFree, "set-1"), id["E"]},
		{KeyByIndex(JobLoad, "s3://bucket/data/list.txt"), id["D"]},
		{KeyByIndex(JobFree, "/local/list.txt"), id["F"]},
		{KeyByTarget("ALL"), id["R"]},
		// A and B cover one set: the newest owns its key.
		{KeyByPaths(JobLoad, []string{"/s3/a", "/s3/b"}), id["B"]},
		{KeyByPaths(JobLoad, []string{"s3://bucket/data/train/"}), id["C"]},
		{KeyByPaths(JobFree, []string{"/local/x"}), id["E"]},
	} {
		if j, ok := a.f.JobByKey(l.key); !ok || j.ID != l.want {
			t.Errorf("JobByKey(%v) = %q, %v; want %s", l.key, j.ID, ok, l.want)
		}
	}

	// A set of Alluxio paths, in any order, under another alias: B goes on.
	jobExists(t, a.fail(submitBy(Job{Type: JobLoad, Paths: []string{"/s3/b", "/s3/a"}, Alias: "new"}, at(time.Hour)), ErrConflict), id["B"], JobWaiting, false)
	// UFS URIs, mapped by the proposer, found by their spelling: C goes on.
	c := submitBy(Job{Type: JobLoad, Paths: []string{"/s3/train"}, Alias: "train"}, at(time.Hour))
	c.GivenPaths = []string{"s3://bucket/data/train/"}
	jobExists(t, a.fail(c, ErrConflict), id["C"], JobWaiting, false)
	// The alias of an old job over other paths is refused.
	var ae *JobAliasError
	if err := a.fail(submitBy(Job{Type: JobLoad, Paths: []string{"/s3/z"}, Alias: "set-1"}, at(time.Hour)), ErrConflict); !errors.As(err, &ae) || ae.ID != id["A"] {
		t.Fatalf("a submit under set-1 over other paths = %v, want a JobAliasError naming A", err)
	}
	// The failed index job D, by its index as the request spells it, runs
	// again with the new options.
	opts := JobOptions{BatchSize: 20, Replicas: 1, Verify: true}
	d := submitBy(Job{Type: JobLoad, Index: "/s3/list.txt", Options: opts}, at(time.Hour))
	d.GivenIndex = "s3://bucket/data/list.txt"
	jobExists(t, a.apply(d), id["D"], JobWaiting, true)
	if j, _ := a.f.Job(id["D"]); j.Options != opts || j.Attempts != 2 || j.Index != "s3://bucket/data/list.txt" {
		t.Fatalf("D after the rerun = %+v", j)
	}
	// Stopped by its alias, B resumes on a submit of its paths.
	a.job(&StopJob{Key: KeyByAlias(JobLoad, "set-2"), Now: at(2 * time.Hour)})
	jobExists(t, a.apply(submitBy(Job{Type: JobLoad, Paths: []string{"/s3/a", "/s3/b"}, Alias: "set-2", Options: JobOptions{BatchSize: 200, Replicas: 1}}, at(3*time.Hour))),
		id["B"], JobWaiting, true)
	// The succeeded free job F runs again.
	jobExists(t, a.apply(submitBy(Job{Type: JobFree, Index: "/local/list.txt"}, at(3*time.Hour))), id["F"], JobWaiting, true)
	if js, _ := a.f.Jobs("", "", 0); len(js) != len(id) {
		t.Fatalf("%d jobs, want the %d of the earlier version", len(js), len(id))
	}
	requireSameView(t, a.f, restored(t, a.f))
}
