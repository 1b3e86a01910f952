package worker

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
)

func TestTaskLoadAndFree(t *testing.T) {
	dir := ufsDir(t, map[string]int{"a": 3*testPage + 1, "b": 100, "q/big": 4 * testPage})
	w := newWorker(t, testConfig(t.TempDir()))
	p := policies(1, dir, self(w))
	p.Budgets = map[string]int64{"/m/q": 2 * testPage}
	mustSet(t, w, p)
	h := w.Handler()
	load := func(task api.LoadTask) []api.FileResult {
		t.Helper()
		resp, body := do(t, h, "POST", api.PathTaskLoad, task, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("load: %d %s", resp.StatusCode, body)
		}
		res := decodeJSON[api.TaskResult](t, body).Results
		if len(res) != len(task.Paths) {
			t.Fatalf("%d results for %d paths", len(res), len(task.Paths))
		}
		return res
	}

	res := load(api.LoadTask{JobID: "j1", Paths: []string{"/m/a", "file://" + dir + "/b", "/m/missing", "/nomount/x", "/m/q/big"}})
	want := []api.FileResult{
		{Path: "/m/a", Bytes: 3*testPage + 1, Size: 3*testPage + 1},
		{Path: "/m/b", Bytes: 100, Size: 100}, // a UFS URI is mapped to its Alluxio path
		{Path: "/m/missing"},
		{Path: "/nomount/x"},
		{Path: "/m/q/big", Bytes: 2 * testPage, Size: 4 * testPage, QuotaExceeded: true},
	}
	for i, fr := range res {
		wantErr := i >= 2
		if (fr.Error != "") != wantErr {
			t.Errorf("%s: error %q", fr.Path, fr.Error)
		}
		fr.Error = ""
		if held := i < 2; fr.Held != held || (held && fr.HoldSeq == 0) {
			t.Errorf("result %d: held %v at %d, want held %v", i, fr.Held, fr.HoldSeq, held)
		}
		fr.Held, fr.HoldEpoch, fr.HoldSeq = false, 0, 0
		if fr != want[i] {
			t.Errorf("result %d: %+v, want %+v", i, fr, want[i])
		}
	}
	if cs, ok := w.Cache().Stat("/m/a"); !ok || !cs.Complete() {
		t.Fatalf("/m/a not fully cached: %+v", cs)
	}

	t.Run("skipIfExists", func(t *testing.T) {
		res := load(api.LoadTask{Paths: []string{"/m/a"}, SkipIfExists: true})
		if !res[0].Skipped || res[0].Bytes != 0 {
			t.Fatalf("%+v", res[0])
		}
	})
	t.Run("ifChanged", func(t *testing.T) {
		if res := load(api.LoadTask{Paths: []string{"/m/a"}, IfChanged: true}); !res[0].Skipped {
			t.Fatalf("unchanged file loaded again: %+v", res[0])
		}
		writeFile(t, filepath.Join(dir, "a"), 2*testPage)
		res := load(api.LoadTask{Paths: []string{"/m/a"}, IfChanged: true})
		if res[0].Skipped || res[0].Bytes != 2*testPage || res[0].Size != 2*testPage {
			t.Fatalf("changed file: %+v", res[0])
		}
		if cs, _ := w.Cache().Stat("/m/a"); cs.Meta.Size != 2*testPage || !cs.Complete() {
			t.Fatalf("cache holds %+v", cs)
		}
	})
	t.Run("metadata only", func(t *testing.T) {
		w.Cache().Free("/m/b")
		res := load(api.LoadTask{Paths: []string{"/m/b"}, LoadMetadataOnly: true})
		if res[0].Size != 100 || res[0].Bytes != 0 || res[0].Error != "" {
			t.Fatalf("%+v", res[0])
		}
		if _, ok := w.Cache().Stat("/m/b"); ok {
			t.Fatal("metadata-only load cached data")
		}
	})
	t.Run("bandwidth", func(t *testing.T) {
		res := load(api.LoadTask{Paths: []string{"/m/b"}, BandwidthBytes: 1 << 20})
		if res[0].Bytes != 100 || res[0].Error != "" {
			t.Fatalf("%+v", res[0])
		}
	})
	t.Run("skipCache", func(t *testing.T) {
		p := policies(2, dir, self(w))
		sec := api.Duration(time.Second)
		p.Filter.Rules = []api.FilterRule{{Rule: "skipCache", Pattern: "^/m/b$"}, {Rule: "maxAge", Pattern: "^/m/x", Time: &sec}}
		mustSet(t, w, p)
		w.Cache().Free("/m/b")
		res := load(api.LoadTask{Paths: []string{"/m/b"}})
		if !res[0].Skipped || res[0].Error != "" || res[0].QuotaExceeded {
			t.Fatalf("%+v", res[0])
		}
		mustSet(t, w, policies(3, dir, self(w)))
	})
	t.Run("free", func(t *testing.T) {
		resp, body := do(t, h, "POST", api.PathTaskFree, api.FreeTask{Paths: []string{"/m/a", "/m/a", "/gone/x", "bad"}}, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("free: %d %s", resp.StatusCode, body)
		}
		res := decodeJSON[api.TaskResult](t, body).Results
		if res[0].Bytes != 2*testPage || res[0].Size != 2*testPage || res[0].Skipped {
			t.Errorf("first free: %+v", res[0])
		}
		if !res[1].Skipped || res[1].Bytes != 0 {
			t.Errorf("second free: %+v", res[1])
		}
		if !res[2].Skipped || res[2].Error != "" { // not mounted: freed by its path
			t.Errorf("unmounted path: %+v", res[2])
		}
		if res[3].Error == "" {
			t.Errorf("relative path: %+v", res[3])
		}
		if _, ok := w.Cache().Stat("/m/a"); ok {
			t.Fatal("still cached")
		}
	})
	t.Run("bad bodies", func(t *testing.T) {
		for _, body := range []any{nil, map[string]any{"paths": "x"}, map[string]any{"nope": 1}} {
			if resp, b := do(t, h, "POST", api.PathTaskLoad, body, nil); resp.StatusCode != 400 {
				t.Errorf("%v: %d %s", body, resp.StatusCode, b)
			}
		}
		big := api.FreeTask{Paths: []string{strings.Repeat("x", 2<<20)}}
		if resp, _ := do(t, h, "POST", api.PathTaskFree, big, nil); resp.StatusCode != 413 {
			t.Errorf("big body: %d", resp.StatusCode)
		}
	})
}

func TestClearStaleAndCachedFiles(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := range 40 {
		name := fmt.Sprintf("f%02d", i)
		writeFile(t, filepath.Join(dir, name), 100+i)
		paths = append(paths, "/m/"+name)
	}
	cfg := testConfig(t.TempDir())
	cfg.Replicas = 1
	w := newWorker(t, cfg)
	h := w.Handler()

	// No policies yet: the worker is on no ring and refuses to clear.
	if resp, body := do(t, h, "POST", api.PathClearStale, api.ClearStaleRequest{Start: true}, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("clear without a ring: %d %s", resp.StatusCode, body)
	}
	mustSet(t, w, policies(1, dir, self(w)))
	if resp, body := do(t, h, "POST", api.PathTaskLoad, api.LoadTask{Paths: paths}, nil); resp.StatusCode != 200 {
		t.Fatalf("load: %d %s", resp.StatusCode, body)
	}

	t.Run("cached files paging", func(t *testing.T) {
		var got []string
		key := ""
		for page := 0; ; page++ {
			resp, body := do(t, h, "GET", api.PathCachedFiles+"?prefix=/m&count=15&lastKey="+key, nil, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			cf := decodeJSON[api.CachedFiles](t, body)
			for _, f := range cf.Results {
				if !f.Complete || f.CachedBytes != f.Size {
					t.Fatalf("%+v", f)
				}
				got = append(got, f.Path)
			}
			if cf.NextKey == "" {
				break
			}
			key = cf.NextKey
		}
		if strings.Join(got, ",") != strings.Join(paths, ",") {
			t.Fatalf("listed %v", got)
		}
		for _, q := range []string{"?count=0", "?count=x", "?prefix=rel"} {
			if resp, _ := do(t, h, "GET", api.PathCachedFiles+q, nil, nil); resp.StatusCode != 400 {
				t.Errorf("%s: %d", q, resp.StatusCode)
			}
		}
	})

	other := api.Node{ID: "worker-00000000-0000-0000-0000-000000000002", Address: "10.0.0.2:1"}
	mustSet(t, w, policies(2, dir, self(w), other))
	resp, body := do(t, h, "POST", api.PathClearStale, api.ClearStaleRequest{Start: true}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("clear: %d %s", resp.StatusCode, body)
	}
	var st api.ClearStaleStatus
	waitFor(t, 10*time.Second, "the clear to finish", func() bool {
		_, body := do(t, h, "GET", api.PathClearStale, nil, nil)
		st = decodeJSON[api.ClearStaleStatus](t, body)
		return !st.Running
	})
	if st.ScannedFiles != 40 || st.Error != "" || st.Worker != w.ID() {
		t.Fatalf("status %+v", st)
	}
	kept, removed := 0, int64(0)
	rg := w.state.Load().ring
	for i, p := range paths {
		_, cached := w.Cache().Stat(p)
		if owner, _ := rg.Owner(p); (owner == w.ID()) != cached {
			t.Errorf("%s: owner %s, cached %v", p, owner, cached)
		}
		if cached {
			kept++
		} else {
			removed += int64(100 + i)
		}
	}
	if kept == 0 || kept == 40 || st.RemovedBytes != removed {
		t.Fatalf("kept %d, removed %d bytes, status %+v", kept, removed, st)
	}
	if hb := w.heartbeat(); hb.ClearStale == nil || hb.ClearStale.ScannedFiles != 40 {
		t.Fatalf("heartbeat %+v", hb)
	}
	if resp, _ := do(t, h, "POST", api.PathClearStale, api.ClearStaleRequest{Start: false}, nil); resp.StatusCode != 200 {
		t.Fatalf("stop: %d", resp.StatusCode)
	}
}

func TestTTLSweep(t *testing.T) {
	dir := ufsDir(t, map[string]int{"old/a": 100, "new/b": 100})
	cfg := testConfig(t.TempDir())
	cfg.SweepInterval = 20 * time.Millisecond
	w := newWorker(t, cfg)
	p := policies(1, dir, self(w))
	ms := api.Duration(time.Millisecond)
	p.TTLs = []api.TTL{{Path: "/m/old", TTL: &ms}}
	mustSet(t, w, p)
	h := w.Handler()
	if resp, body := do(t, h, "POST", api.PathTaskLoad, api.LoadTask{Paths: []string{"/m/old/a", "/m/new/b"}}, nil); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if err := w.Start(t.Context()); err != nil { // no coordinators: the sweep only
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the sweep", func() bool {
		_, ok := w.Cache().Stat("/m/old/a")
		return !ok
	})
	if _, ok := w.Cache().Stat("/m/new/b"); !ok {
		t.Fatal("a file without a TTL was swept")
	}
}

func TestAuth(t *testing.T) {
	dir := ufsDir(t, map[string]int{"a": 10})
	cfg := testConfig(t.TempDir())
	cfg.Token = "s3cret"
	w := newWorker(t, cfg)
	mustSet(t, w, policies(1, dir, self(w)))
	h := w.Handler()
	internal := []struct {
		method, path string
		body         any
	}{
		{"POST", api.PathTaskLoad, api.LoadTask{Paths: []string{"/m/a"}}},
		{"POST", api.PathTaskFree, api.FreeTask{Paths: []string{"/m/a"}}},
		{"POST", api.PathClearStale, api.ClearStaleRequest{}},
		{"GET", api.PathClearStale, nil},
		{"GET", api.PathCachedFiles, nil},
	}
	for _, r := range internal {
		for _, tc := range []struct {
			auth string
			code int
		}{{"", 401}, {"Bearer wrong", 401}, {"s3cret", 401}, {"Bearer s3cret", 200}} {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			if resp, body := do(t, h, r.method, r.path, r.body, hdr); resp.StatusCode != tc.code {
				t.Errorf("%s %s with %q: %d, want %d: %s", r.method, r.path, tc.auth, resp.StatusCode, tc.code, body)
			}
		}
	}
	for _, p := range []string{"/api/v1/data/m/a", "/api/v1/health", "/api/v1/stats"} {
		if resp, _ := do(t, h, "GET", p, nil, nil); resp.StatusCode != 200 {
			t.Errorf("%s without a token: %d", p, resp.StatusCode)
		}
	}
}

func TestIDAndCacheSurviveRestart(t *testing.T) {
	dir := ufsDir(t, map[string]int{"a": 2*testPage + 5})
	cfg := testConfig(t.TempDir())
	w1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := w1.ID()
	if !strings.HasPrefix(id, "worker-") || len(id) != len("worker-")+36 {
		t.Fatalf("id %q", id)
	}
	mustSet(t, w1, policies(1, dir, self(w1)))
	if resp, _ := do(t, w1.Handler(), "GET", "/api/v1/data/m/a", nil, nil); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	if err := w1.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}

	w2 := newWorker(t, cfg)
	if w2.ID() != id {
		t.Fatalf("id %q after a restart, was %q", w2.ID(), id)
	}
	if cs, ok := w2.Cache().Stat("/m/a"); !ok || !cs.Complete() {
		t.Fatalf("cache lost: %+v", cs)
	}
	mustSet(t, w2, policies(1, dir, self(w2)))
	if resp, _ := do(t, w2.Handler(), "GET", "/api/v1/data/m/a", nil, nil); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	if s := w2.Cache().Stats(); s.Misses != 0 || s.DiskHits == 0 {
		t.Fatalf("restarted read: %+v", s)
	}

	// A damaged id file is an error, not a new identity.
	bad := testConfig(t.TempDir())
	if err := os.WriteFile(filepath.Join(bad.DataDir, "worker-id"), []byte("garbage"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := New(bad); err == nil {
		t.Fatal("garbage id accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"default", func(*Config) {}, true},
		{"no dir", func(c *Config) { c.DataDir = "" }, false},
		{"small page", func(c *Config) { c.PageSize = 100 }, false},
		{"tiny capacity", func(c *Config) { c.CapacityBytes = 1 }, false},
		{"no heartbeat", func(c *Config) { c.HeartbeatInterval = 0 }, false},
		{"no replicas", func(c *Config) { c.Replicas = 0 }, false},
		{"bad address", func(c *Config) { c.HTTPAddress = "nohost" }, false},
		{"bad coordinator", func(c *Config) { c.Coordinators = []string{"10.0.0.1:8001"} }, false},
		{"coordinator", func(c *Config) { c.Coordinators = []string{"http://10.0.0.1:8001"} }, true},
	}
	for _, tc := range tests {
		cfg := testConfig(t.TempDir())
		tc.mod(&cfg)
		if err := cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
