package jobplan

import (
	"reflect"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
)

// threeRing: /a is owned by w1 then w2 then w3, /b by w2, w3, w1, /c by
// w3, w1, w2.
var threeRing = fakeRing{members: []string{"w1", "w2", "w3"}, owners: map[string][]string{
	"/a": {"w1", "w2", "w3"}, "/b": {"w2", "w3", "w1"}, "/c": {"w3", "w1", "w2"},
}}

func TestPlaceLoad(t *testing.T) {
	files := []File{{"/a", 1}, {"/b", 2}, {"/c", 3}}
	for _, tc := range []struct {
		name     string
		rg       fakeRing
		files    []File
		replicas int
		want     map[string][]string
	}{
		{"one replica: each file to its owner", threeRing, files, 1,
			map[string][]string{"w1": {"/a"}, "w2": {"/b"}, "w3": {"/c"}}},
		{"two replicas: owner and successor, in page order", threeRing, files, 2,
			map[string][]string{"w1": {"/a", "/c"}, "w2": {"/a", "/b"}, "w3": {"/b", "/c"}}},
		{"more replicas than workers: every worker once", fakeRing{members: []string{"w1", "w2"}, owners: threeRing.owners}, files[:1], 5,
			map[string][]string{"w1": {"/a"}, "w2": {"/a"}}},
		{"empty page", threeRing, nil, 1, map[string][]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlaceLoad(tc.rg, tc.files, tc.replicas); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReplicasAndVerifies(t *testing.T) {
	for _, tc := range []struct {
		opts     fsm.JobOptions
		typ      fsm.JobType
		failed   int64
		replicas int
		verifies bool
	}{
		{fsm.JobOptions{}, fsm.JobLoad, 0, 1, false},
		{fsm.JobOptions{Replicas: 3, Verify: true}, fsm.JobLoad, 0, 3, true},
		{fsm.JobOptions{Replicas: -2, Verify: true}, fsm.JobLoad, 1, 1, false}, // a file failed: no verify
		{fsm.JobOptions{Verify: true, LoadMetadataOnly: true}, fsm.JobLoad, 0, 1, false},
		{fsm.JobOptions{Verify: true}, fsm.JobFree, 0, 1, false},
	} {
		j := fsm.Job{Type: tc.typ, Options: tc.opts}
		if got := Replicas(j); got != tc.replicas {
			t.Errorf("Replicas(%+v) = %d, want %d", tc.opts, got, tc.replicas)
		}
		if got := Verifies(j, tc.failed); got != tc.verifies {
			t.Errorf("Verifies(%s %+v, %d) = %v, want %v", tc.typ, tc.opts, tc.failed, got, tc.verifies)
		}
	}
}

func TestLoadTask(t *testing.T) {
	j := fsm.Job{ID: "j1", Options: fsm.JobOptions{SkipIfExists: false, LoadPolicy: "IF_CHANGED", LoadMetadataOnly: true, Bandwidth: 1 << 20}}
	want := api.LoadTask{JobID: "j1", IfChanged: true, LoadMetadataOnly: true, BandwidthBytes: 1 << 20}
	if got := LoadTask(j, false); !reflect.DeepEqual(got, want) {
		t.Errorf("first pass: got %+v, want %+v", got, want)
	}
	// A verify pass loads only what an owner lacks, whatever the policy.
	want.SkipIfExists, want.IfChanged = true, false
	if got := LoadTask(j, true); !reflect.DeepEqual(got, want) {
		t.Errorf("verify pass: got %+v, want %+v", got, want)
	}
	j.Options = fsm.JobOptions{SkipIfExists: true, LoadPolicy: "ALWAYS"}
	if got := LoadTask(j, false); !got.SkipIfExists || got.IfChanged {
		t.Errorf("skipIfExists job: got %+v", got)
	}
}

func TestReplace(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rg          fakeRing
		unreachable map[string][]api.FileResult
		answered    map[string][]api.FileResult
		replicas    int
		want        map[string][]string
	}{
		{"the lost worker's files go to their new owner",
			fakeRing{members: []string{"w2", "w3"}, owners: map[string][]string{"/a": {"w2", "w3"}, "/c": {"w3", "w2"}}},
			map[string][]api.FileResult{"w1": {failed("/a", "worker w1: refused"), failed("/c", "worker w1: refused")}},
			nil, 1, map[string][]string{"w2": {"/a"}, "w3": {"/c"}}},
		{"an owner that answered for the file already is not asked again",
			fakeRing{members: []string{"w2", "w3"}, owners: map[string][]string{"/a": {"w2", "w3"}}},
			map[string][]api.FileResult{"w1": {failed("/a", "worker w1: refused")}},
			map[string][]api.FileResult{"w2": {loaded("/a", 4)}}, 2, map[string][]string{"w3": {"/a"}}},
		{"a worker still on the ring gets its files back",
			threeRing,
			map[string][]api.FileResult{"w1": {failed("/a", "worker w1: 503")}},
			map[string][]api.FileResult{"w2": {loaded("/b", 1)}}, 1, map[string][]string{"w1": {"/a"}}},
		{"a file of two unreachable workers goes once to each owner",
			fakeRing{members: []string{"w3"}, owners: map[string][]string{"/a": {"w3"}}},
			map[string][]api.FileResult{"w1": {failed("/a", "x")}, "w2": {failed("/a", "y")}},
			nil, 2, map[string][]string{"w3": {"/a"}}},
		{"nothing unreachable", threeRing, nil, nil, 1, map[string][]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Replace(tc.rg, tc.unreachable, tc.answered, tc.replicas); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTallyLoad(t *testing.T) {
	st := fakeState{quotas: []fsm.Quota{{Path: "/other", QuotaBytes: 1}, {Path: "/q", QuotaBytes: 1 << 20}}}
	quota := func(p string) api.FileResult {
		return api.FileResult{Path: p, Error: "quota exceeded", QuotaExceeded: true}
	}
	heldBy := func(p string, size int64, seq uint64) api.FileResult {
		return api.FileResult{Path: p, Bytes: size, Size: size, Held: true, HoldEpoch: 1, HoldSeq: seq}
	}
	for _, tc := range []struct {
		name     string
		files    []File
		results  map[string][]api.FileResult
		replicas int
		verify   bool
		want     Outcome
	}{
		{"loaded, skipped, empty file", []File{{"/a", 10}, {"/b", 20}, {"/e", 0}},
			map[string][]api.FileResult{"w1": {loaded("/a", 10), skipped("/b"), loaded("/e", 0)}}, 1, false,
			Outcome{Delta: fsm.JobCounters{ScannedFiles: 3, TotalBytes: 30, LoadedFiles: 2, LoadedBytes: 10,
				LoadedNonEmptyFiles: 1, SkippedFiles: 1, SkippedBytes: 20}}},
		{"one replica loaded, the other held it: loaded once, at its listed size", []File{{"/a", 10}},
			map[string][]api.FileResult{"w1": {skipped("/a")}, "w2": {loaded("/a", 7)}}, 2, false,
			Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, TotalBytes: 10, LoadedFiles: 1, LoadedBytes: 10, LoadedNonEmptyFiles: 1}}},
		{"a replica failed: the file fails even though another loaded it", []File{{"/a", 10}},
			map[string][]api.FileResult{"w1": {loaded("/a", 10)}, "w2": {failed("/a", "read: EIO")}}, 2, false,
			Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, TotalBytes: 10, FailedFiles: 1}, Failed: []fsm.FailedFile{ff("/a", "read: EIO")}}},
		{"several replicas failed: the last worker in id order gives the reason", []File{{"/a", 1}},
			map[string][]api.FileResult{"w2": {failed("/a", "two")}, "w1": {failed("/a", "one")}}, 2, false,
			Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, TotalBytes: 1, FailedFiles: 1}, Failed: []fsm.FailedFile{ff("/a", "two")}}},
		{"files answered by no worker fail", []File{{"/a", 1}, {"/b", 2}},
			map[string][]api.FileResult{"w1": {loaded("/a", 1)}}, 1, false,
			Outcome{Delta: fsm.JobCounters{ScannedFiles: 2, TotalBytes: 3, LoadedFiles: 1, LoadedBytes: 1, LoadedNonEmptyFiles: 1, FailedFiles: 1},
				Failed: []fsm.FailedFile{ff("/b", "no worker answered")}}},
		{"an unreachable worker's files fail with its error", []File{{"/a", 1}},
			map[string][]api.FileResult{"w1": {failed("/a", "worker w1: connection refused")}}, 1, false,
			Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, TotalBytes: 1, FailedFiles: 1}, Failed: []fsm.FailedFile{ff("/a", "worker w1: connection refused")}}},
		{"quota exceeded: failed, and the first such file explains the quota", []File{{"/x", 1}, {"/q/a", 5}, {"/q/b", 6}},
			map[string][]api.FileResult{"w1": {failed("/x", "EIO"), quota("/q/a"), quota("/q/b")}}, 1, false,
			Outcome{Delta: fsm.JobCounters{ScannedFiles: 3, TotalBytes: 12, FailedFiles: 3},
				Failed:   []fsm.FailedFile{ff("/x", "EIO"), ff("/q/a", "quota exceeded"), ff("/q/b", "quota exceeded")},
				QuotaErr: "quota of /q (1MiB) is full: /q/a and possibly other files were not cached"}},
		{"verify pass: only failures and reloads count", []File{{"/a", 10}, {"/b", 20}, {"/c", 30}},
			map[string][]api.FileResult{"w1": {skipped("/a"), loaded("/b", 20), failed("/c", "EIO")}}, 1, true,
			Outcome{Delta: fsm.JobCounters{ReloadedFiles: 1, FailedFiles: 1}, Failed: []fsm.FailedFile{ff("/c", "EIO")}}},
		{"observations record the job's replicas", []File{{"/a", 4}},
			map[string][]api.FileResult{"w2": {heldBy("/a", 4, 9)}, "w1": {heldBy("/a", 4, 3)}}, 2, false,
			Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, TotalBytes: 4, LoadedFiles: 1, LoadedBytes: 4, LoadedNonEmptyFiles: 1},
				Observed: []fsm.WorkerObservation{
					{Worker: "w1", Epoch: 1, Files: []fsm.ObservedFile{{Path: "/a", Size: 4, Seq: 3, Held: true, Replicas: 2}}},
					{Worker: "w2", Epoch: 1, Files: []fsm.ObservedFile{{Path: "/a", Size: 4, Seq: 9, Held: true, Replicas: 2}}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TallyLoad(st, tc.files, tc.results, tc.replicas, tc.verify); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestQuotaError(t *testing.T) {
	quotas := []fsm.Quota{{Path: "/a", QuotaBytes: 1 << 30}, {Path: "/a/b", QuotaBytes: 1}}
	for _, tc := range []struct{ path, want string }{
		{"/a/b/c", "quota of /a (1GiB) is full: /a/b/c and possibly other files were not cached"},
		{"/z", "a quota is full: /z was not cached"},
	} {
		if got := QuotaError(quotas, tc.path); got != tc.want {
			t.Errorf("QuotaError(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
