package jobplan

import (
	"reflect"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
)

// rebalanceRing has three live workers; w4 is off the ring (decommissioned
// or LOST) but may still be listed in the index.
var rebalanceRing = fakeRing{members: []string{"w1", "w2", "w3"}, owners: map[string][]string{
	"/a": {"w1", "w2", "w3"}, "/b": {"w2", "w3", "w1"}, "/c": {"w3", "w1", "w2"}, "/e": {"w1", "w2", "w3"},
}}

var rebalanceAddr = map[string]string{"w1": "h1:1", "w2": "h2:1", "w3": "h3:1", "w4": "h4:1"}

func entry(path string, size int64, replicas int, holders ...string) fsm.FileEntry {
	return fsm.FileEntry{Path: path, Size: size, Workers: holders, Replicas: replicas}
}

func pruned(p string, bytes int64) api.FileResult { return api.FileResult{Path: p, Bytes: bytes} }

type rebalanceCase struct {
	name         string
	target       string // "" is ALL
	skipPrune    bool
	entries      []fsm.FileEntry
	loadAnswers  map[string][]api.FileResult
	pruneAnswers map[string][]api.FileResult
	wantLoads    map[string][]string
	wantPeers    map[string][]string // path -> addresses
	wantPrunes   map[string][]string
	want         Outcome
}

var rebalanceCases = []rebalanceCase{
	{name: "a file nobody holds is left alone",
		entries: []fsm.FileEntry{entry("/a", 5, 1)},
		want:    Outcome{Delta: fsm.JobCounters{ScannedFiles: 1}}},
	{name: "a file on its owner stays",
		entries:   []fsm.FileEntry{entry("/a", 5, 1, "w1")},
		wantPeers: map[string][]string{"/a": {"h1:1"}},
		want:      Outcome{Delta: fsm.JobCounters{ScannedFiles: 1}}},
	{name: "a moved file: the owner loads it from the holder, which then drops it",
		entries:      []fsm.FileEntry{entry("/a", 5, 1, "w2")},
		wantLoads:    map[string][]string{"w1": {"/a"}},
		wantPeers:    map[string][]string{"/a": {"h2:1"}},
		loadAnswers:  map[string][]api.FileResult{"w1": {loaded("/a", 5)}},
		wantPrunes:   map[string][]string{"w2": {"/a"}},
		pruneAnswers: map[string][]api.FileResult{"w2": {pruned("/a", 5)}},
		want:         Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, LoadedFiles: 1, LoadedBytes: 5, PrunedFiles: 1, PrunedBytes: 5}}},
	{name: "the load failed: the last copy is never dropped",
		entries:     []fsm.FileEntry{entry("/a", 5, 1, "w2")},
		wantLoads:   map[string][]string{"w1": {"/a"}},
		wantPeers:   map[string][]string{"/a": {"h2:1"}},
		loadAnswers: map[string][]api.FileResult{"w1": {failed("/a", "read: EIO")}},
		want:        Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, FailedFiles: 1}, Failed: []fsm.FailedFile{ff("/a", "read: EIO")}}},
	{name: "an unreachable owner: its error fails the file, nothing dropped",
		entries:     []fsm.FileEntry{entry("/a", 5, 1, "w2")},
		wantLoads:   map[string][]string{"w1": {"/a"}},
		wantPeers:   map[string][]string{"/a": {"h2:1"}},
		loadAnswers: map[string][]api.FileResult{"w1": {failed("/a", "worker w1: connection refused")}},
		want:        Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, FailedFiles: 1}, Failed: []fsm.FailedFile{ff("/a", "worker w1: connection refused")}}},
	{name: "a file the owner did not answer for fails, nothing dropped",
		entries:     []fsm.FileEntry{entry("/a", 5, 1, "w2"), entry("/b", 1, 1, "w1")},
		wantLoads:   map[string][]string{"w1": {"/a"}, "w2": {"/b"}},
		wantPeers:   map[string][]string{"/a": {"h2:1"}, "/b": {"h1:1"}},
		loadAnswers: map[string][]api.FileResult{"w2": {loaded("/b", 1)}},
		wantPrunes:  map[string][]string{"w1": {"/b"}},
		want: Outcome{Delta: fsm.JobCounters{ScannedFiles: 2, LoadedFiles: 1, LoadedBytes: 1, FailedFiles: 2},
			Failed: []fsm.FailedFile{ff("/a", "worker w1 did not answer"), ff("/b", "prune on w1: no answer")}},
		pruneAnswers: map[string][]api.FileResult{"w1": {failed("/b", "no answer")}}},
	{name: "holders off the ring are neither copies, peers nor pruned",
		entries:      []fsm.FileEntry{entry("/a", 5, 2, "w1", "w4")},
		wantLoads:    map[string][]string{"w2": {"/a"}},
		wantPeers:    map[string][]string{"/a": {"h1:1"}},
		loadAnswers:  map[string][]api.FileResult{"w2": {loaded("/a", 5)}},
		pruneAnswers: nil,
		want:         Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, LoadedFiles: 1, LoadedBytes: 5}}},
	{name: "a file held only off the ring is loaded from the UFS",
		entries:     []fsm.FileEntry{entry("/a", 5, 1, "w4")},
		wantLoads:   map[string][]string{"w1": {"/a"}},
		loadAnswers: map[string][]api.FileResult{"w1": {loaded("/a", 5)}},
		want:        Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, LoadedFiles: 1, LoadedBytes: 5}}},
	{name: "the replica count comes from the index entry",
		entries:      []fsm.FileEntry{entry("/a", 5, 2, "w3")},
		wantLoads:    map[string][]string{"w1": {"/a"}, "w2": {"/a"}},
		wantPeers:    map[string][]string{"/a": {"h3:1"}},
		loadAnswers:  map[string][]api.FileResult{"w1": {loaded("/a", 5)}, "w2": {loaded("/a", 5)}},
		wantPrunes:   map[string][]string{"w3": {"/a"}},
		pruneAnswers: map[string][]api.FileResult{"w3": {pruned("/a", 5)}},
		want:         Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, LoadedFiles: 2, LoadedBytes: 10, PrunedFiles: 1, PrunedBytes: 5}}},
	{name: "without a replica count, as many copies as holders",
		entries:      []fsm.FileEntry{entry("/b", 3, 0, "w1", "w2")},
		wantLoads:    map[string][]string{"w3": {"/b"}},
		wantPeers:    map[string][]string{"/b": {"h1:1", "h2:1"}},
		loadAnswers:  map[string][]api.FileResult{"w3": {loaded("/b", 3)}},
		wantPrunes:   map[string][]string{"w1": {"/b"}},
		pruneAnswers: map[string][]api.FileResult{"w1": {pruned("/b", 3)}},
		want:         Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, LoadedFiles: 1, LoadedBytes: 3, PrunedFiles: 1, PrunedBytes: 3}}},
	{name: "more replicas than workers: every worker, nothing dropped",
		entries:     []fsm.FileEntry{entry("/c", 2, 5, "w1")},
		wantLoads:   map[string][]string{"w2": {"/c"}, "w3": {"/c"}},
		wantPeers:   map[string][]string{"/c": {"h1:1"}},
		loadAnswers: map[string][]api.FileResult{"w2": {loaded("/c", 2)}, "w3": {skipped("/c")}},
		want:        Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, LoadedFiles: 1, LoadedBytes: 2}}},
	{name: "a targeted rebalance loads and drops on the target only",
		target:  "w2",
		entries: []fsm.FileEntry{entry("/a", 5, 2, "w3"), entry("/b", 1, 1, "w1"), entry("/c", 2, 1, "w3", "w2")},
		// /a: w1 lacks it too, so w3 keeps it; /b: w1 is not the target.
		wantLoads:    map[string][]string{"w2": {"/a", "/b"}},
		wantPeers:    map[string][]string{"/a": {"h3:1"}, "/b": {"h1:1"}, "/c": {"h3:1", "h2:1"}},
		loadAnswers:  map[string][]api.FileResult{"w2": {loaded("/a", 5), loaded("/b", 1)}},
		wantPrunes:   map[string][]string{"w2": {"/c"}},
		pruneAnswers: map[string][]api.FileResult{"w2": {pruned("/c", 2)}},
		want:         Outcome{Delta: fsm.JobCounters{ScannedFiles: 3, LoadedFiles: 2, LoadedBytes: 6, PrunedFiles: 1, PrunedBytes: 2}}},
	{name: "skipPrune loads and drops nothing",
		skipPrune:   true,
		entries:     []fsm.FileEntry{entry("/a", 5, 1, "w2")},
		wantLoads:   map[string][]string{"w1": {"/a"}},
		wantPeers:   map[string][]string{"/a": {"h2:1"}},
		loadAnswers: map[string][]api.FileResult{"w1": {loaded("/a", 5)}},
		want:        Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, LoadedFiles: 1, LoadedBytes: 5}}},
	{name: "an owner that had it already counts as a copy, not a load; an absent copy is not counted pruned",
		entries:      []fsm.FileEntry{entry("/a", 5, 1, "w2", "w3")},
		wantLoads:    map[string][]string{"w1": {"/a"}},
		wantPeers:    map[string][]string{"/a": {"h2:1", "h3:1"}},
		loadAnswers:  map[string][]api.FileResult{"w1": {skipped("/a")}},
		wantPrunes:   map[string][]string{"w2": {"/a"}, "w3": {"/a"}},
		pruneAnswers: map[string][]api.FileResult{"w2": {pruned("/a", 5)}, "w3": {skipped("/a")}},
		want:         Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, PrunedFiles: 1, PrunedBytes: 5}}},
	{name: "an empty file moves too",
		entries:      []fsm.FileEntry{entry("/e", 0, 1, "w3")},
		wantLoads:    map[string][]string{"w1": {"/e"}},
		wantPeers:    map[string][]string{"/e": {"h3:1"}},
		loadAnswers:  map[string][]api.FileResult{"w1": {loaded("/e", 0)}},
		wantPrunes:   map[string][]string{"w3": {"/e"}},
		pruneAnswers: map[string][]api.FileResult{"w3": {pruned("/e", 0)}},
		want:         Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, LoadedFiles: 1, PrunedFiles: 1}}},
}

// TestRebalancePage runs each page through its plan as the scheduler does:
// plan, send the loads, take their answers, send the prunes, take theirs.
func TestRebalancePage(t *testing.T) {
	for _, tc := range rebalanceCases {
		t.Run(tc.name, func(t *testing.T) {
			j := fsm.Job{ID: "j", Type: fsm.JobRebalance, Target: tc.target, Options: fsm.JobOptions{SkipPrune: tc.skipPrune}}
			if j.Target == "" {
				j.Target = RebalanceAll
			}
			plan := PlanRebalance(j, rebalanceRing, rebalanceAddr, tc.entries)
			sameMap(t, "loads", plan.Loads, tc.wantLoads)
			sameMap(t, "peers", plan.Peers, tc.wantPeers)
			if len(plan.Loads) > 0 {
				plan.Loaded(tc.loadAnswers)
			}
			prunes := plan.Prunes()
			sameMap(t, "prunes", prunes, tc.wantPrunes)
			if len(prunes) > 0 {
				plan.Pruned(tc.pruneAnswers)
			}
			got := plan.Outcome()
			got.Observed = nil // see TestRebalanceObservations
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("outcome\ngot  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// sameMap compares maps, an empty one equal to nil.
func sameMap(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func TestRebalanceObservations(t *testing.T) {
	j := fsm.Job{ID: "j", Type: fsm.JobRebalance, Target: RebalanceAll}
	plan := PlanRebalance(j, rebalanceRing, rebalanceAddr, []fsm.FileEntry{entry("/a", 5, 1, "w2")})
	plan.Loaded(map[string][]api.FileResult{"w1": {{Path: "/a", Bytes: 5, Size: 5, Held: true, HoldEpoch: 2, HoldSeq: 10}}})
	plan.Pruned(map[string][]api.FileResult{"w2": {{Path: "/a", Bytes: 5, HoldEpoch: 1, HoldSeq: 4}}})
	want := []fsm.WorkerObservation{
		{Worker: "w1", Epoch: 2, Files: []fsm.ObservedFile{{Path: "/a", Size: 5, Seq: 10, Held: true}}}, // Replicas 0: unchanged
		{Worker: "w2", Epoch: 1, Files: []fsm.ObservedFile{{Path: "/a", Seq: 4}}},
	}
	if got := plan.Outcome().Observed; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestRebalanceLoadTask(t *testing.T) {
	j := fsm.Job{ID: "j", Target: RebalanceAll, Options: fsm.JobOptions{LoadBandwidth: 100}}
	plan := PlanRebalance(j, rebalanceRing, rebalanceAddr, []fsm.FileEntry{entry("/a", 1, 1, "w2", "w3"), entry("/c", 1, 2, "w4")})
	want := api.LoadTask{JobID: "j", SkipIfExists: true, BandwidthBytes: 100, Paths: []string{"/a", "/c"},
		Peers: map[string][]string{"/a": {"h2:1", "h3:1"}}}
	if got := plan.LoadTask([]string{"/a", "/c"}); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got := plan.LoadTask([]string{"/c"}); got.Peers != nil {
		t.Fatalf("a file held only off the ring has peers: %v", got.Peers)
	}
}

func TestDegree(t *testing.T) {
	for _, tc := range []struct {
		e       fsm.FileEntry
		ringLen int
		want    int
	}{
		{entry("/a", 1, 2, "w1"), 3, 2},             // as the last load asked
		{entry("/a", 1, 0, "w1", "w2"), 3, 2},       // else as many as hold it
		{entry("/a", 1, 0, "w1", "w2", "w3"), 2, 2}, // at most the ring
		{entry("/a", 1, 4, "w1"), 3, 3},
		{entry("/a", 1, 0), 3, 1}, // at least one
	} {
		if got := Degree(tc.e, tc.ringLen); got != tc.want {
			t.Errorf("Degree(%+v, %d) = %d, want %d", tc.e, tc.ringLen, got, tc.want)
		}
	}
}

func TestPruneWait(t *testing.T) {
	for _, tc := range []struct {
		most, bandwidth int64
		elapsed, want   time.Duration
	}{
		{100, 0, 0, 0},                 // no pacing
		{0, 100, 0, 0},                 // nothing dropped
		{200, 100, 0, 2 * time.Second}, // 200 bytes at 100/s
		{200, 100, 500 * time.Millisecond, 1500 * time.Millisecond},
		{200, 100, 3 * time.Second, 0}, // slower than the rate already
	} {
		if got := PruneWait(tc.most, tc.bandwidth, tc.elapsed); got != tc.want {
			t.Errorf("PruneWait(%d, %d, %v) = %v, want %v", tc.most, tc.bandwidth, tc.elapsed, got, tc.want)
		}
	}
}
