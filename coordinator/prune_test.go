package coordinator

import (
	"testing"
	"time"

	"github.com/alluvium/alluvium/fsm"
)

// TestPruneDue: the job retention loop commits a prune only when
// fsm.PruneJobs would delete something.
func TestPruneDue(t *testing.T) {
	cutoff := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	job := func(state fsm.JobState, ended time.Time) fsm.Job { return fsm.Job{State: state, EndTime: ended} }
	recent, old := cutoff.Add(time.Hour), cutoff.Add(-time.Hour)
	for _, tc := range []struct {
		name string
		jobs []fsm.Job
		keep int
		want bool
	}{
		{"no jobs", nil, 10, false},
		{"finished recently, within the count", []fsm.Job{job(fsm.JobSucceeded, recent), job(fsm.JobFailed, recent)}, 2, false},
		{"one ended before the cutoff", []fsm.Job{job(fsm.JobSucceeded, recent), job(fsm.JobFailed, old)}, 10, true},
		{"more finished than kept", []fsm.Job{job(fsm.JobSucceeded, recent), job(fsm.JobFailed, recent)}, 1, true},
		{"active jobs never count", []fsm.Job{job(fsm.JobRunning, time.Time{}), job(fsm.JobWaiting, time.Time{}), job(fsm.JobSucceeded, recent)}, 1, false},
		{"a negative count keeps any number", []fsm.Job{job(fsm.JobSucceeded, recent), job(fsm.JobSucceeded, recent)}, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pruneDue(tc.jobs, cutoff, tc.keep); got != tc.want {
				t.Fatalf("pruneDue = %t, want %t", got, tc.want)
			}
		})
	}
}
