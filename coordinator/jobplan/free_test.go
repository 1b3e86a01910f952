package jobplan

import (
	"reflect"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
)

func TestPlanFree(t *testing.T) {
	live := fakeRing{members: []string{"w1", "w2"}}
	st := fakeState{index: map[string]fsm.FileEntry{
		"/live":    {Path: "/live", Workers: []string{"w1", "w2"}},
		"/offline": {Path: "/offline", Workers: []string{"w1", "w3", "w4"}},
	}}
	offlineReason := "held by offline worker w3, w4 (free with force to free the live copies)"
	files := []File{{"/live", 1}, {"/offline", 2}, {"/unindexed", 3}}
	for _, tc := range []struct {
		name  string
		files []File
		force bool
		want  FreePlan
	}{
		{"a file held by offline workers fails, the others go to every live worker", files, false, FreePlan{
			Send:    map[string][]string{"w1": {"/live", "/unindexed"}, "w2": {"/live", "/unindexed"}},
			Paths:   []string{"/live", "/unindexed"},
			Outcome: Outcome{Delta: fsm.JobCounters{ScannedFiles: 3, FailedFiles: 1}, Failed: []fsm.FailedFile{ff("/offline", offlineReason)}}}},
		{"force frees the live copies", files, true, FreePlan{
			Send:    map[string][]string{"w1": {"/live", "/offline", "/unindexed"}, "w2": {"/live", "/offline", "/unindexed"}},
			Paths:   []string{"/live", "/offline", "/unindexed"},
			Outcome: Outcome{Delta: fsm.JobCounters{ScannedFiles: 3}}}},
		{"nothing left to send", files[1:2], false, FreePlan{
			Outcome: Outcome{Delta: fsm.JobCounters{ScannedFiles: 1, FailedFiles: 1}, Failed: []fsm.FailedFile{ff("/offline", offlineReason)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlanFree(st, live, tc.files, tc.force); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestTallyFree(t *testing.T) {
	plan := FreePlan{
		Send:  map[string][]string{"w1": {"/a", "/empty", "/nobody", "/bad"}, "w2": {"/a", "/empty", "/nobody", "/bad"}},
		Paths: []string{"/a", "/empty", "/nobody", "/bad"},
		Outcome: Outcome{Delta: fsm.JobCounters{ScannedFiles: 5, FailedFiles: 1},
			Failed: make([]fsm.FailedFile, 1, 4)},
	}
	plan.Outcome.Failed[0] = ff("/offline", "held by offline worker w3")
	gone := api.FileResult{Path: "/a", Bytes: 6, HoldEpoch: 1, HoldSeq: 5}
	results := map[string][]api.FileResult{
		"w1": {{Path: "/a", Bytes: 4}, {Path: "/empty"}, skipped("/nobody"), failed("/bad", "w1: busy")},
		"w2": {gone, {Path: "/empty", Skipped: true}, skipped("/nobody"), failed("/bad", "w2: EIO")},
	}
	want := Outcome{
		// Every file that did not fail counts as freed, with what was
		// freed of it: an empty file, or one no worker held, frees 0 bytes.
		Delta:    fsm.JobCounters{ScannedFiles: 5, FailedFiles: 2, FreedFiles: 3, FreedBytes: 10},
		Failed:   []fsm.FailedFile{ff("/offline", "held by offline worker w3"), ff("/bad", "w2: EIO")},
		Observed: []fsm.WorkerObservation{{Worker: "w2", Epoch: 1, Files: []fsm.ObservedFile{{Path: "/a", Seq: 5}}}},
	}
	if got := TallyFree(plan, results); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if len(plan.Outcome.Failed) != 1 || plan.Outcome.Failed[:2][1] != (fsm.FailedFile{}) {
		t.Fatalf("TallyFree changed its plan: %+v", plan.Outcome.Failed[:2])
	}
}
