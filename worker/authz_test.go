package worker

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/audit"
	"github.com/alluvium/alluvium/internal/auth"
	"github.com/alluvium/alluvium/ufs"
)

// TestScopedTokensOnTheWorker: each role against each route of the
// worker: the data and list APIs need read, the task API worker; health
// stays open; refusals and tasks are audited without the token.
func TestScopedTokensOnTheWorker(t *testing.T) {
	const readTok, workerTok = "read-token-0123456789", "worker-token-0123456789"
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(readTok+" read reader\n"+workerTok+" worker peers\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.Load(file, "")
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cfg := testConfig(t.TempDir())
	cfg.Authorize, cfg.Audit = tokens.Decide, audit.New(&log).Record
	w := newWorker(t, cfg)
	dir := ufsDir(t, map[string]int{"a.bin": 100})
	mustSet(t, w, policies(1, dir, self(w)))
	h := w.Handler()
	for _, c := range []struct {
		method, target, token string
		want                  int
	}{
		{"GET", "/api/v1/health", "", 200},
		{"GET", "/api/v1/stats", "", 401},
		{"GET", "/api/v1/stats", readTok, 200},
		{"GET", api.PathWorkerDataRoot + "/m/a.bin", "", 401},
		{"GET", api.PathWorkerDataRoot + "/m/a.bin", "wrong-token-0123456789", 401},
		{"GET", api.PathWorkerDataRoot + "/m/a.bin", readTok, 200},
		{"HEAD", api.PathWorkerDataRoot + "/m/a.bin", readTok, 200},
		{"GET", api.PathWorkerDataRoot + "/m/a.bin", workerTok, 200},
		{"GET", api.PathList + "/m", readTok, 200},
		{"POST", api.PathTaskLoad, "", 401},
		{"POST", api.PathTaskLoad, readTok, 403},
		{"POST", api.PathTaskLoad, workerTok, 200},
		{"POST", api.PathTaskFree, readTok, 403},
		{"GET", api.PathCachedFiles, readTok, 403},
		{"GET", api.PathCachedFiles, workerTok, 200},
	} {
		hdr := map[string]string{}
		if c.token != "" {
			hdr["Authorization"] = "Bearer " + c.token
		}
		var body any
		if c.method == "POST" {
			body = api.LoadTask{Paths: []string{"/m/a.bin"}}
		}
		resp, b := do(t, h, c.method, c.target, body, hdr)
		if resp.StatusCode != c.want {
			t.Errorf("%s %s with %q: %d %s, want %d", c.method, c.target, c.token, resp.StatusCode, b, c.want)
		}
	}
	if strings.Contains(log.String(), readTok) || strings.Contains(log.String(), workerTok) {
		t.Fatal("the audit log holds a token")
	}
	var lines []api.AuditEvent
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var e api.AuditEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, e)
	}
	// A stats refusal, 2 data refusals, 2 load refusals, 1 load, a free and
	// a cached-files refusal.
	if len(lines) != 8 {
		t.Fatalf("%d audit lines, want 8:\n%s", len(lines), log.String())
	}
	if e := lines[5]; e.Route != api.PathTaskLoad || e.Status != http.StatusOK || e.Caller != "peers" || e.Node != w.ID() {
		t.Errorf("the accepted task's audit line: %+v", e)
	}
}

// TestAllowedUFSIsCheckedWhereOpened: a mount the worker's allowlist does
// not cover (however the coordinators came to commit it) answers 403, and
// nothing of it is read.
func TestAllowedUFSIsCheckedWhereOpened(t *testing.T) {
	dir := ufsDir(t, map[string]int{"a.bin": 100})
	allowed, err := ufs.ParseAllowlist([]string{filepath.Join(t.TempDir(), "elsewhere")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t.TempDir())
	cfg.AllowedUFS = allowed
	w := newWorker(t, cfg)
	mustSet(t, w, policies(1, dir, self(w)))
	resp, b := do(t, w.Handler(), "GET", api.PathWorkerDataRoot+"/m/a.bin", nil, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "outside the allowed UFS locations") {
		t.Fatalf("a read under a mount outside the allowlist: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, w.Handler(), "POST", api.PathTaskLoad, api.LoadTask{Paths: []string{"/m/a.bin"}}, nil)
	if res := decodeJSON[api.TaskResult](t, b); resp.StatusCode == http.StatusOK && len(res.Results) > 0 && res.Results[0].Error == "" {
		t.Fatalf("a load under a mount outside the allowlist succeeded: %s", b)
	}
}
