package worker

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
)

const testPage = 4096

// testConfig is a small worker: 4 KiB pages, 1 MiB of disk, a memory tier.
func testConfig(dir string) Config {
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.HTTPAddress = "127.0.0.1:1"
	cfg.PageSize = testPage
	cfg.CapacityBytes = 1 << 20
	cfg.MemoryBytes = 256 << 10
	cfg.HeartbeatInterval = 50 * time.Millisecond
	cfg.PolicyWait = time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return cfg
}

func newWorker(t *testing.T, cfg Config) *Worker {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(w) })
	return w
}

// ufsDir makes a local UFS folder holding files of the given sizes (random
// bytes) and returns it.
func ufsDir(t *testing.T, files map[string]int) string {
	t.Helper()
	dir := t.TempDir()
	for name, size := range files {
		writeFile(t, filepath.Join(dir, name), size)
	}
	return dir
}

func writeFile(t *testing.T, name string, size int) []byte {
	t.Helper()
	b := make([]byte, size)
	_, _ = rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o640); err != nil {
		t.Fatal(err)
	}
	return b
}

// policies mounts dir at /m, with the given workers LIVE on a dynamic ring.
func policies(version uint64, dir string, workers ...api.Node) api.WorkerPolicies {
	for i := range workers {
		if workers[i].State == "" {
			workers[i].State = "LIVE"
		}
	}
	return api.WorkerPolicies{
		Version:  version,
		Mounts:   []api.Mount{{Path: "/m", UFS: "file://" + dir}},
		Workers:  workers,
		RingMode: "dynamic",
		Filter:   api.CacheFilter{DefaultRule: "immutable"},
	}
}

func self(w *Worker) api.Node { return api.Node{ID: w.ID(), Address: w.cfg.HTTPAddress} }

func mustSet(t *testing.T, w *Worker, p api.WorkerPolicies) {
	t.Helper()
	if err := w.SetPolicies(p); err != nil {
		t.Fatal(err)
	}
}

// do sends a request to h and returns the answer with its body read.
func do(t *testing.T, h http.Handler, method, target string, body any, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req := httptest.NewRequest(method, target, rd)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func decodeJSON[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// shutdown stops a worker at the end of a test and waits for its loops. (A
// cleanup cannot pass t.Context(): it is cancelled by then, and Shutdown
// would return at once, leaving a policy pull or ring build running.)
func shutdown(w *Worker) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = w.Shutdown(ctx)
}
