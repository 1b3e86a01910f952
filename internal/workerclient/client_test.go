package workerclient_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/jsonhttp"
	"github.com/alluvium/alluvium/internal/workerclient"
	"github.com/alluvium/alluvium/worker"
)

// Every call of the typed client against a real worker on loopback, with
// and without the cluster token.
func TestAgainstWorker(t *testing.T) {
	ufsDir := t.TempDir()
	for _, name := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(ufsDir, name), []byte("data of "+name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := worker.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddress = "127.0.0.1:1" // the ring's address of this worker; requests go to srv
	cfg.Token = "secret"
	w, err := worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Shutdown(t.Context()) })
	if err := w.SetPolicies(api.WorkerPolicies{Version: 1, RingMode: "dynamic",
		Mounts:  []api.Mount{{Path: "/m", UFS: "file://" + ufsDir}},
		Workers: []api.Node{{ID: w.ID(), Address: cfg.HTTPAddress, State: "LIVE"}}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	ctx := t.Context()

	// Without the token: the worker's 401, as one *jsonhttp.Error.
	if _, err := workerclient.New("", nil).Load(ctx, srv.URL, api.LoadTask{Paths: []string{"/m/a"}}); jsonhttp.StatusOf(err) != 401 {
		t.Fatalf("no token: %v", err)
	}
	c := workerclient.New("secret", nil)
	defer c.Close()
	res, err := c.Load(ctx, srv.URL, api.LoadTask{JobID: "j", Paths: []string{"/m/a", "/m/b", "/m/c"}})
	if err != nil || len(res.Results) != 3 {
		t.Fatalf("load: %+v, %v", res, err)
	}
	for _, r := range res.Results {
		if r.Error != "" {
			t.Fatalf("load: %+v", r)
		}
	}
	page, err := c.CachedFiles(ctx, srv.URL, "/m", "", 2)
	if err != nil || len(page.Results) != 2 || page.NextKey != "/m/b" {
		t.Fatalf("cached files: %+v, %v", page, err)
	}
	page, err = c.CachedFiles(ctx, srv.URL, "/m", page.NextKey, 2)
	if err != nil || len(page.Results) != 1 || page.Results[0].Path != "/m/c" || !page.Results[0].Complete || page.NextKey != "" {
		t.Fatalf("cached files, second page: %+v, %v", page, err)
	}
	if _, err := c.CachedFiles(ctx, srv.URL, "not a path", "", 0); jsonhttp.StatusOf(err) != 400 {
		t.Fatalf("bad prefix: %v", err)
	}
	if res, err := c.Free(ctx, srv.URL, api.FreeTask{JobID: "j", Paths: []string{"/m/a"}}); err != nil || len(res.Results) != 1 || res.Results[0].Bytes == 0 {
		t.Fatalf("free: %+v, %v", res, err)
	}
	if res, err := c.Prune(ctx, srv.URL, api.FreeTask{JobID: "j", Paths: []string{"/m/b"}}); err != nil || len(res.Results) != 1 || res.Results[0].Bytes == 0 {
		t.Fatalf("prune: %+v, %v", res, err)
	}
	if st, err := c.ClearStale(ctx, srv.URL, false); err != nil || st.Worker != w.ID() {
		t.Fatalf("clear stale stop: %+v, %v", st, err)
	}
	if st, err := c.ClearStaleStatus(ctx, srv.URL); err != nil || st.Worker != w.ID() {
		t.Fatalf("clear stale status: %+v, %v", st, err)
	}
}

func TestURL(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"10.0.0.1:29999", "http://10.0.0.1:29999/p"},
		{"http://h:1", "http://h:1/p"},
		{"https://h:1/", "https://h:1/p"},
	} {
		if got := workerclient.URL(tc.addr, "/p"); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
