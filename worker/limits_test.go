package worker

import (
	"testing"

	"golang.org/x/time/rate"
)

func TestJobLimitsAreSharedByAJobsTasks(t *testing.T) {
	var l jobLimits
	if lim := l.acquire("j1", 0, 4096); lim != nil {
		t.Fatal("no bandwidth must mean no limiter")
	}
	a := l.acquire("j1", 1<<20, 4096)
	b := l.acquire("j1", 1<<20, 4096)
	c := l.acquire("j2", 1<<20, 4096)
	if a == nil || a != b {
		t.Fatal("two tasks of one job must share its limiter")
	}
	if c == a {
		t.Fatal("two jobs must not share a limiter")
	}
	// A resubmitted job with a new bandwidth changes the shared limiter.
	if d := l.acquire("j1", 2<<20, 4096); d != a || a.Limit() != rate.Limit(2<<20) {
		t.Fatalf("new bandwidth: limit %v", a.Limit())
	}
	l.release("j1", a)
	l.release("j1", a)
	if len(l.jobs) != 2 {
		t.Fatalf("j1 still has a task in flight: %d jobs held", len(l.jobs))
	}
	l.release("j1", a)
	l.release("j2", c)
	if len(l.jobs) != 0 {
		t.Fatalf("limiters outlive their tasks: %v", l.jobs)
	}
	if e := l.acquire("j1", 1<<20, 4096); e == a {
		t.Fatal("a job's limiter must be made again after its last task")
	}
}
