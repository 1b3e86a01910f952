package worker_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/worker"
)

func TestListing(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a/1", "a/2", "b/3", "c"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644)
	}
	cfg := worker.DefaultConfig()
	cfg.DataDir, cfg.HTTPAddress = t.TempDir(), "127.0.0.1:1"
	w, err := worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(t.Context())
	if err := w.SetPolicies(api.WorkerPolicies{Version: 1, RingMode: "dynamic",
		Mounts:  []api.Mount{{Path: "/d", UFS: "file://" + dir}},
		Workers: []api.Node{{ID: w.ID(), Address: "127.0.0.1:1", State: "LIVE"}}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	get := func(q string) (int, api.Listing) {
		resp, err := http.Get(srv.URL + api.PathList + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var l api.Listing
		json.Unmarshal(raw, &l)
		return resp.StatusCode, l
	}
	tests := []struct {
		q     string
		code  int
		paths []string
		more  bool
	}{
		{"/d", 200, []string{"/d/a/1", "/d/a/2", "/d/b/3", "/d/c"}, false},
		{"/d/a", 200, []string{"/d/a/1", "/d/a/2"}, false},
		{"/d/c", 200, []string{"/d/c"}, false},
		{"/d?count=2", 200, []string{"/d/a/1", "/d/a/2"}, true},
		{"/d?count=2&cursor=a/2", 200, []string{"/d/b/3", "/d/c"}, false},
		{"/nope", 404, nil, false},
		{"/d?count=0", 400, nil, false},
		{"/d/../etc", 404, nil, false}, // cleaned to /etc by the mux: outside every mount
	}
	for _, tt := range tests {
		code, l := get(tt.q)
		if code != tt.code {
			t.Errorf("%s: %d, want %d", tt.q, code, tt.code)
			continue
		}
		var paths []string
		for _, f := range l.Results {
			paths = append(paths, f.Path)
		}
		if len(paths) != len(tt.paths) || (l.Cursor != "") != tt.more {
			t.Errorf("%s: %v (cursor %q), want %v", tt.q, paths, l.Cursor, tt.paths)
			continue
		}
		for i := range paths {
			if paths[i] != tt.paths[i] {
				t.Errorf("%s: %v, want %v", tt.q, paths, tt.paths)
			}
		}
	}
}
