package jobplan

import (
	"errors"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/ring"
)

// fakeRing is a ring whose owners the test chooses: owners[path] in order
// (a path not listed has none).
type fakeRing struct {
	members []string
	owners  map[string][]string
}

func (r fakeRing) Owners(key string, n int) []string {
	list := r.owners[key]
	n = min(n, len(list), len(r.members))
	if n <= 0 {
		return nil
	}
	return slices.Clone(list[:n])
}
func (r fakeRing) Members() []string  { return slices.Sorted(slices.Values(r.members)) }
func (r fakeRing) Has(id string) bool { return slices.Contains(r.members, id) }
func (r fakeRing) Len() int           { return len(r.members) }

// fakeState is a file index and a quota table.
type fakeState struct {
	index  map[string]fsm.FileEntry
	quotas []fsm.Quota
}

func (s fakeState) FileIndexGet(p string) (fsm.FileEntry, bool) {
	e, ok := s.index[p]
	return e, ok
}
func (s fakeState) Quotas() []fsm.Quota { return s.quotas }

// answer helpers: what a worker said of one file.
func loaded(p string, size int64) api.FileResult {
	return api.FileResult{Path: p, Bytes: size, Size: size}
}
func skipped(p string) api.FileResult     { return api.FileResult{Path: p, Skipped: true} }
func failed(p, why string) api.FileResult { return api.FileResult{Path: p, Error: why} }

func ff(path, reason string) fsm.FailedFile { return fsm.FailedFile{Path: path, Reason: reason} }

func TestFailPage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		paths  []string
		verify bool
		want   Outcome
	}{
		{"empty page", nil, false, Outcome{}},
		{"first pass scans and fails", []string{"/a", "/b"}, false, Outcome{
			Delta:  fsm.JobCounters{ScannedFiles: 2, FailedFiles: 2},
			Failed: []fsm.FailedFile{ff("/a", "no live worker"), ff("/b", "no live worker")}}},
		{"verify pass only fails", []string{"/a"}, true, Outcome{
			Delta:  fsm.JobCounters{FailedFiles: 1},
			Failed: []fsm.FailedFile{ff("/a", "no live worker")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FailPage(tc.paths, "no live worker", tc.verify); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestListFailed(t *testing.T) {
	got := ListFailed("/m/dir", errors.New("no such mount"))
	want := Outcome{Delta: fsm.JobCounters{FailedFiles: 1}, Failed: []fsm.FailedFile{ff("/m/dir", "no such mount")}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestOutcomeAdd(t *testing.T) {
	o := ListFailed("/r", errors.New("x"))
	o.Add(Outcome{Delta: fsm.JobCounters{ScannedFiles: 2, FailedFiles: 1, LoadedFiles: 1}, Failed: []fsm.FailedFile{ff("/r/b", "y")},
		QuotaErr: "full", Observed: []fsm.WorkerObservation{{Worker: "w1", Epoch: 1}}})
	o.Add(Outcome{QuotaErr: "second"})
	want := Outcome{Delta: fsm.JobCounters{ScannedFiles: 2, FailedFiles: 2, LoadedFiles: 1},
		Failed:   []fsm.FailedFile{ff("/r", "x"), ff("/r/b", "y")},
		QuotaErr: "full", Observed: []fsm.WorkerObservation{{Worker: "w1", Epoch: 1}}}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("got %+v, want %+v", o, want)
	}
}

func TestFilter(t *testing.T) {
	files := []File{{"/m/a.csv", 1}, {"/m/b.bin", 2}, {"/m/c.csv", 0}}
	for _, tc := range []struct {
		re   string
		want []File
	}{
		{"", files},
		{`\.csv$`, []File{{"/m/a.csv", 1}, {"/m/c.csv", 0}}},
		{`\.txt$`, nil},
	} {
		var re *regexp.Regexp
		if tc.re != "" {
			re = regexp.MustCompile(tc.re)
		}
		if got := Filter(files, re); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Filter(%q) = %v, want %v", tc.re, got, tc.want)
		}
	}
	if got := Paths(files); !reflect.DeepEqual(got, []string{"/m/a.csv", "/m/b.bin", "/m/c.csv"}) {
		t.Errorf("Paths = %v", got)
	}
}

func TestObservations(t *testing.T) {
	held := func(p string, size int64, epoch, seq uint64) api.FileResult {
		return api.FileResult{Path: p, Size: size, Bytes: size, Held: true, HoldEpoch: epoch, HoldSeq: seq}
	}
	gone := func(p string, epoch, seq uint64) api.FileResult {
		return api.FileResult{Path: p, Size: 9, HoldEpoch: epoch, HoldSeq: seq}
	}
	for _, tc := range []struct {
		name     string
		results  map[string][]api.FileResult
		replicas int
		want     []fsm.WorkerObservation
	}{
		{"no answers", nil, 1, nil},
		{"answers without a change number teach nothing", map[string][]api.FileResult{
			"w1": {loaded("/a", 3), {Path: "/b", Held: true, HoldEpoch: 2}, {Path: "/c", Held: true, HoldSeq: 4}},
		}, 1, nil},
		{"held files carry size and replicas, others neither", map[string][]api.FileResult{
			"w1": {gone("/b", 1, 8), held("/a", 5, 1, 7)},
		}, 2, []fsm.WorkerObservation{{Worker: "w1", Epoch: 1, Files: []fsm.ObservedFile{
			{Path: "/a", Size: 5, Seq: 7, Held: true, Replicas: 2}, {Path: "/b", Seq: 8}}}}},
		{"workers, epochs and paths in order", map[string][]api.FileResult{
			"w2": {held("/z", 1, 3, 1), held("/y", 1, 2, 9)},
			"w1": {held("/b", 1, 1, 2), held("/a", 1, 1, 3)},
		}, 0, []fsm.WorkerObservation{
			{Worker: "w1", Epoch: 1, Files: []fsm.ObservedFile{{Path: "/a", Size: 1, Seq: 3, Held: true}, {Path: "/b", Size: 1, Seq: 2, Held: true}}},
			{Worker: "w2", Epoch: 2, Files: []fsm.ObservedFile{{Path: "/y", Size: 1, Seq: 9, Held: true}}},
			{Worker: "w2", Epoch: 3, Files: []fsm.ObservedFile{{Path: "/z", Size: 1, Seq: 1, Held: true}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Observations(tc.results, tc.replicas); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	answers := []api.FileResult{
		loaded("/ok", 1), skipped("/held"), failed("/bad", "read: EIO"),
		{Path: "/full", Error: "quota", QuotaExceeded: true}, failed("/bad2", "timeout"),
	}
	if got, want := Retry(answers), []string{"/bad", "/bad2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Retry = %v, want %v", got, want)
	}
	if got := Retry(nil); got != nil {
		t.Fatalf("Retry(nil) = %v", got)
	}
}

// TestRealRing checks the plans over the real ring: every file goes to
// `replicas` distinct members, never more than the ring has.
func TestRealRing(t *testing.T) {
	rg, err := ring.New([]string{"w1", "w2", "w3"}, ring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	files := []File{{"/m/a", 1}, {"/m/b", 2}, {"/m/c", 3}, {"/m/d", 4}}
	for _, replicas := range []int{1, 2, 3, 5} {
		count := map[string]int{}
		for w, paths := range PlaceLoad(rg, files, replicas) {
			if !rg.Has(w) {
				t.Fatalf("placed on %s, not a member", w)
			}
			for _, p := range paths {
				count[p]++
			}
		}
		for _, f := range files {
			if want := min(replicas, 3); count[f.Path] != want {
				t.Errorf("replicas %d: %s placed %d times, want %d", replicas, f.Path, count[f.Path], want)
			}
		}
	}
}
