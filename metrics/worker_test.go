package metrics_test

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/worker"
	"github.com/prometheus/client_golang/prometheus"
)

const page = 4096

// startWorker starts a real worker as `alluvium worker` does (4 KiB pages,
// no coordinators) serving a UFS folder at /data with a quota budget on
// /data/q.
func startWorker(t *testing.T, memory int64) (w *worker.Worker, reg prometheus.Gatherer, url, ufsDir string) {
	t.Helper()
	cfg := worker.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.PageSize, cfg.CapacityBytes, cfg.MemoryBytes = page, 1<<20, memory
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := workernode.Start(cfg, nil, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	ufsDir = t.TempDir()
	if err := n.Worker.SetPolicies(api.WorkerPolicies{Version: 7, Mounts: []api.Mount{{Path: "/data", UFS: "file://" + ufsDir}},
		Budgets: map[string]int64{"/data/q": 64 * page}}); err != nil {
		t.Fatal(err)
	}
	return n.Worker, n.Metrics, n.URL, ufsDir
}

func put(t *testing.T, dir, name string, size int) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	full := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string) (int, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, len(b)
}

// TestWorkerCollector reads a file through a real worker twice, lists, asks
// for a missing file and frees the cache, then checks the series against
// what happened and against the worker's own stats.
func TestWorkerCollector(t *testing.T) {
	w, reg, url, dir := startWorker(t, 0)
	const size = 3*page + 10 // four pages
	put(t, dir, "q/f.bin", size)
	put(t, dir, "other/g.bin", page)
	for range 2 {
		if code, n := get(t, url+"/api/v1/data/data/q/f.bin"); code != 200 || n != size {
			t.Fatalf("read: %d, %d bytes", code, n)
		}
	}
	if code, _ := get(t, url+"/api/v1/data/data/other/g.bin"); code != 200 {
		t.Fatalf("read: %d", code)
	}
	if code, _ := get(t, url+"/api/v1/data/data/q/missing.bin"); code != 404 {
		t.Fatalf("missing file: %d", code)
	}
	if code, _ := get(t, url+"/api/v1/list/data"); code != 200 {
		t.Fatalf("list: %d", code)
	}

	st := w.Stats()
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"alluvium_cache_page_ins_total", nil, 5},
		{"alluvium_cache_page_in_bytes_total", nil, size + page},
		{"alluvium_cache_misses_total", nil, float64(st.Misses)},
		{"alluvium_cache_hits_total", map[string]string{"tier": "disk"}, float64(st.DiskHits)},
		{"alluvium_cache_hits_total", map[string]string{"tier": "memory"}, 0},
		{"alluvium_cache_used_bytes", nil, size + page},
		{"alluvium_cache_capacity_bytes", nil, 1 << 20},
		{"alluvium_cache_pages", nil, 5},
		{"alluvium_cache_files", nil, 2},
		{"alluvium_cache_quota_used_bytes", map[string]string{"directory": "/data/q"}, size},
		{"alluvium_cache_quota_budget_bytes", map[string]string{"directory": "/data/q"}, 64 * page},
		{"alluvium_worker_served_bytes_total", nil, 2*size + page},
		{"alluvium_worker_policy_version", nil, 7},
		{"alluvium_worker_peer_loaded_files_total", nil, 0},
		{"alluvium_cache_evictions_total", map[string]string{"reason": "free"}, 0},
		{"alluvium_ufs_operation_duration_seconds", map[string]string{"operation": "stat", "scheme": "file", "result": "not_found"}, 1},
		{"alluvium_ufs_operation_duration_seconds", map[string]string{"operation": "list", "scheme": "file", "result": "ok"}, 1},
		{"alluvium_ufs_operation_duration_seconds", map[string]string{"operation": "open", "scheme": "file", "result": "ok"}, float64(st.PageIns)},
		{"alluvium_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/api/v1/data/", "code": "200"}, 3},
		{"alluvium_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/api/v1/data/", "code": "404"}, 1},
		{"alluvium_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/api/v1/list/", "code": "200"}, 1},
	}
	for _, tc := range tests {
		if got := value(t, reg, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if st.DiskHits < 4 {
		t.Errorf("the second read hit %d pages on disk, want 4", st.DiskHits)
	}
	if stats := value(t, reg, "alluvium_ufs_operation_duration_seconds", map[string]string{"operation": "stat", "result": "ok"}); stats < 2 {
		t.Errorf("%v successful stats timed, want at least one a file", stats)
	}

	w.Cache().Free("/data")
	if got := value(t, reg, "alluvium_cache_evictions_total", map[string]string{"reason": "free"}); got != 5 {
		t.Errorf("freed pages: %v, want 5", got)
	}
	if got := value(t, reg, "alluvium_cache_used_bytes", nil); got != 0 {
		t.Errorf("used bytes after free: %v", got)
	}
	reasons := labelValues(t, reg, "alluvium_cache_evictions_total", "reason")
	if strings.Join(reasons, ",") != "capacity,corrupt,free,quota,stale,ttl,unowned" {
		t.Errorf("eviction reasons %v", reasons)
	}

	// No label holds a file path.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if strings.Contains(lp.GetValue(), ".bin") {
					t.Errorf("%s has a file path in label %s=%q", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
	lint(t, reg)
}

// TestWorkerHitsByTier reads a file three times with a memory tier: the
// hits of both tiers match the worker's stats, and there are some.
func TestWorkerHitsByTier(t *testing.T) {
	w, reg, url, dir := startWorker(t, 1<<20)
	put(t, dir, "f", page)
	for range 3 {
		get(t, url+"/api/v1/data/data/f")
	}
	st := w.Stats()
	mem := value(t, reg, "alluvium_cache_hits_total", map[string]string{"tier": "memory"})
	disk := value(t, reg, "alluvium_cache_hits_total", map[string]string{"tier": "disk"})
	if mem != float64(st.MemoryHits) || disk != float64(st.DiskHits) || mem+disk < 2 {
		t.Errorf("hits: memory %v, disk %v; stats %+v", mem, disk, st)
	}
}
