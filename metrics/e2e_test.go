package metrics_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/testcluster"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/worker"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scraper gathers by scraping base+"/metrics" over HTTP, as Prometheus
// does.
func scraper(t *testing.T, base string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			return nil, fmt.Errorf("GET %s/metrics: %s: %s", base, resp.Status, b)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(resp.Body)
		return slices.Collect(maps.Values(mfs)), err
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestScrapeClusterEndToEnd runs three coordinators and two workers on
// loopback, mounts through a follower, loads a folder and reads a file,
// and scrapes every process's /metrics over HTTP.
func TestScrapeClusterEndToEnd(t *testing.T) {
	tc := testcluster.Start(t, 3, testcluster.Options{})
	tc.WaitPublished()
	leader := tc.Nodes[tc.Leader()]
	var follower *testcluster.Member
	var urls []string
	for _, m := range tc.Nodes {
		urls = append(urls, m.URL())
		if m != leader {
			follower = m
		}
	}
	var ws []*workernode.Node
	for range 2 {
		cfg := worker.DefaultConfig()
		cfg.DataDir, cfg.Coordinators = t.TempDir(), urls
		cfg.PageSize, cfg.MemoryBytes = page, 0
		cfg.HeartbeatInterval, cfg.PolicyWait = 200*time.Millisecond, 5*time.Second
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		n, err := workernode.Start(cfg, nil, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		ws = append(ws, n)
	}
	ctx := context.Background()
	lg, fg := scraper(t, leader.URL()), scraper(t, follower.URL())
	eventually(t, "two LIVE workers", func() bool {
		return value(t, lg, "alluvium_workers", map[string]string{"state": "LIVE"}) == 2
	})

	mountRoute := map[string]string{"method": "POST", "route": "/api/v1/mount", "code": "200"}
	forwards := map[string]string{"method": "POST", "route": "/api/v1/mount", "mode": "forward"}
	beforeLeader, beforeFollower := value(t, lg, "alluvium_http_request_duration_seconds", mountRoute), value(t, fg, "alluvium_http_request_duration_seconds", mountRoute)
	viaFollower, err := client.New([]string{follower.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ufsDir := t.TempDir()
	if _, err := viaFollower.AddMount(ctx, api.Mount{Path: "/data", UFS: "file://" + ufsDir}); err != nil {
		t.Fatal(err)
	}
	if got := value(t, fg, "alluvium_http_forwarded_requests_total", forwards); got != 1 {
		t.Errorf("the follower forwarded %v mounts, want 1", got)
	}
	if got := value(t, lg, "alluvium_http_forwarded_requests_total", forwards); got != 0 {
		t.Errorf("the leader forwarded %v mounts", got)
	}
	if got := value(t, fg, "alluvium_http_request_duration_seconds", mountRoute); got != beforeFollower+1 {
		t.Errorf("follower: %v POST /api/v1/mount requests, want %v", got, beforeFollower+1)
	}
	if got := value(t, lg, "alluvium_http_request_duration_seconds", mountRoute); got != beforeLeader+1 {
		t.Errorf("leader: %v POST /api/v1/mount requests, want %v", got, beforeLeader+1)
	}

	const files, size = 20, 2*page + 100
	for i := range files {
		put(t, ufsDir, fmt.Sprintf("set/f%02d", i), size)
	}
	want := leader.Node.Coordinator.FSM().AppliedIndex()
	for _, w := range ws {
		eventually(t, "the worker pulls the mount", func() bool { return w.Worker.PolicyVersion() >= want })
	}
	c, err := client.New(urls)
	if err != nil {
		t.Fatal(err)
	}
	replicas := 1
	if _, err := c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/set"}, Alias: "set", Options: &api.LoadOptions{Replicas: &replicas}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the load succeeds", func() bool {
		return value(t, lg, "alluvium_jobs", map[string]string{"type": "load", "state": "SUCCEEDED"}) == 1
	})
	for _, s := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"alluvium_jobs", map[string]string{"type": "load", "state": "RUNNING"}, 0},
		{"alluvium_job_loaded_files", map[string]string{"type": "load"}, files},
		{"alluvium_job_loaded_bytes", map[string]string{"type": "load"}, files * size},
		{"alluvium_job_failed_files", map[string]string{"type": "load"}, 0},
		{"alluvium_raft_state", map[string]string{"state": "Leader"}, 1},
		{"alluvium_http_request_duration_seconds", map[string]string{"method": "POST", "route": "/api/v1/load", "code": "200"}, 1},
	} {
		if got := value(t, lg, s.name, s.labels); got != s.want {
			t.Errorf("leader: %s%v = %v, want %v", s.name, s.labels, got, s.want)
		}
	}
	if got := value(t, lg, "alluvium_raft_apply_duration_seconds", map[string]string{"command": "SubmitJob", "result": "ok"}); got != 1 {
		t.Errorf("leader: %v SubmitJob applies timed, want 1", got)
	}
	if got := value(t, fg, "alluvium_raft_state", map[string]string{"state": "Follower"}); got != 1 {
		t.Errorf("follower: raft state Follower = %v", got)
	}
	eventually(t, "the follower applies what the leader did", func() bool {
		return value(t, fg, "alluvium_raft_applied_index", nil) >= float64(want)
	})

	// Each worker's page-ins match its stats, and add up to the load.
	var pageIns, pageInBytes float64
	for _, w := range ws {
		g := scraper(t, w.URL)
		st := w.Worker.Stats()
		if got := value(t, g, "alluvium_cache_page_ins_total", nil); got != float64(st.PageIns) {
			t.Errorf("worker %s: page-ins %v, stats say %d", w.Worker.ID(), got, st.PageIns)
		}
		pageIns += value(t, g, "alluvium_cache_page_ins_total", nil)
		pageInBytes += value(t, g, "alluvium_cache_page_in_bytes_total", nil)
		if got := value(t, g, "alluvium_ufs_operation_duration_seconds", map[string]string{"operation": "stat", "scheme": "file", "result": "ok"}); got == 0 {
			t.Errorf("worker %s: no UFS stat timed", w.Worker.ID())
		}
		lint(t, g)
	}
	if pageIns != files*3 || pageInBytes != files*size {
		t.Errorf("workers paged in %v pages, %v bytes; want %d, %d", pageIns, pageInBytes, files*3, files*size)
	}

	// A read is served by its owner: the bytes show on one worker.
	r, err := c.Open(ctx, "/data/set/f07", "")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	r.Close()
	if err != nil || n != size {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	var served, dataRequests float64
	for _, w := range ws {
		g := scraper(t, w.URL)
		served += value(t, g, "alluvium_worker_served_bytes_total", nil)
		dataRequests += value(t, g, "alluvium_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/api/v1/data/", "code": "200"})
	}
	if served != size || dataRequests != 1 {
		t.Errorf("workers served %v bytes in %v requests, want %d in 1", served, dataRequests, size)
	}
	lint(t, lg)
	lint(t, fg)
}
