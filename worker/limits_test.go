package worker

import (
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
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
	// The job's next page, sent after its last task ended, is paced by the
	// same limiter: a new one would start it with a full burst.
	if e := l.acquire("j1", 2<<20, 4096); e != a {
		t.Fatal("a job's next task, soon after its last one, must reuse its limiter")
	}
	l.release("j1", a)
	// Limiters of jobs quiet for longer than limiterLinger go.
	l.jobs["j1"].idle = time.Now().Add(-2 * limiterLinger)
	l.jobs["j2"].idle = time.Now().Add(-2 * limiterLinger)
	f := l.acquire("j3", 1<<20, 4096)
	if len(l.jobs) != 1 || l.jobs["j3"] == nil {
		t.Fatalf("limiters outlive their linger: %v", l.jobs)
	}
	l.release("j3", f)
	if e := l.acquire("j1", 1<<20, 4096); e == a {
		t.Fatal("a job's limiter must be made again after its linger")
	}
}

// TestBandwidthHoldsAcrossTasks: a job whose pages come one after another,
// each a task of its own, is paced at its bandwidth overall, not given a
// fresh second of burst with every page.
func TestBandwidthHoldsAcrossTasks(t *testing.T) {
	files := map[string]int{}
	var paths []string
	for i := range 6 {
		name := string(rune('a' + i))
		files[name] = testPage
		paths = append(paths, "/m/"+name)
	}
	dir := ufsDir(t, files)
	w := newWorker(t, testConfig(t.TempDir()))
	mustSet(t, w, policies(1, dir, self(w)))
	// 2 pages a second, one page a task: 6 tasks take about 2 s (the first
	// second's burst, then 4 pages at 2 a second); unpaced, milliseconds.
	start := time.Now()
	for _, p := range paths {
		resp, body := do(t, w.Handler(), "POST", api.PathTaskLoad,
			api.LoadTask{JobID: "paced", Paths: []string{p}, BandwidthBytes: 2 * testPage}, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("load %s: %d %s", p, resp.StatusCode, body)
		}
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Fatalf("6 pages at 2 pages a second, one task each, took %v", took)
	}
}

// StopTasks ends a load task that its bandwidth would keep going for long:
// its files answer with the reason, at once.
func TestStopTasksEndsPacedLoads(t *testing.T) {
	dir := ufsDir(t, map[string]int{"a": 8 * testPage, "b": 8 * testPage})
	w := newWorker(t, testConfig(t.TempDir()))
	mustSet(t, w, policies(1, dir, self(w)))
	done := make(chan []api.FileResult, 1)
	go func() {
		// One page a second: 16 pages would take 16 s.
		resp, body := do(t, w.Handler(), "POST", api.PathTaskLoad,
			api.LoadTask{JobID: "j", Paths: []string{"/m/a", "/m/b"}, BandwidthBytes: testPage}, nil)
		if resp.StatusCode != 200 {
			t.Errorf("load: %d %s", resp.StatusCode, body)
		}
		done <- decodeJSON[api.TaskResult](t, body).Results
	}()
	// Stop it mid-way: once its first page is cached, the task is pacing.
	waitFor(t, 10*time.Second, "the first page of the task", func() bool {
		for _, p := range []string{"/m/a", "/m/b"} {
			if st, ok := w.cache.Stat(p); ok && st.CachedPages > 0 {
				return true
			}
		}
		return false
	})
	w.StopTasks()
	// Unstopped, the task takes 16 s; stopped, it ends between pages.
	select {
	case res := <-done:
		for _, r := range res {
			if r.Error == "" {
				t.Errorf("%s: a stopped task reports no error: %+v", r.Path, r)
			}
		}
	case <-time.After(8 * time.Second):
		t.Fatal("StopTasks did not end the paced task")
	}
}
