package worker

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/cache"
	"github.com/alluvium/alluvium/ufs"
)

// servePeer serves a worker without coordinators on loopback, with the
// given token, and returns it.
func servePeer(t *testing.T, token string) *Worker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t.TempDir())
	cfg.HTTPAddress, cfg.Token = ln.Addr().String(), token
	w := newWorker(t, cfg)
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return w
}

// A load task with peers reads a file from a peer whose copy is the UFS's
// current version, and from the UFS when no peer has that version.
func TestLoadReadsFromAPeerOfTheSameVersion(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		sameMeta bool // the UFS file changes bytes but keeps size and mtime
		fromPeer bool
	}{
		{"one page, same version", 100, true, true},
		{"several pages, same version", 3*testPage + 5, true, true},
		{"several pages, new version", 3*testPage + 5, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, "f")
			orig := writeFile(t, name, tc.size)
			a, b := servePeer(t, "tok"), servePeer(t, "tok")
			p := policies(1, dir, self(a), self(b))
			mustSet(t, a, p)
			mustSet(t, b, p)
			ctx := context.Background()
			if _, err := a.Cache().Load(ctx, "/m/f", &origin{fs: mustResolve(t, a, "/m/f"), rel: "f"}); err != nil {
				t.Fatal(err)
			}
			// Change the UFS's bytes: the size stays; the mtime is put back
			// when the version is to stay the same.
			fi, _ := os.Stat(name)
			changed := writeFile(t, name, tc.size)
			if tc.sameMeta {
				os.Chtimes(name, fi.ModTime(), fi.ModTime())
			} else {
				os.Chtimes(name, fi.ModTime().Add(time.Second), fi.ModTime().Add(time.Second))
			}
			resp, body := do(t, b.Handler(), "POST", api.PathTaskLoad, api.LoadTask{JobID: "j", Paths: []string{"/m/f"},
				Peers: map[string][]string{"/m/f": {"127.0.0.1:1", a.cfg.HTTPAddress}}}, map[string]string{"Authorization": "Bearer tok"})
			if resp.StatusCode != 200 {
				t.Fatalf("load: %d %s", resp.StatusCode, body)
			}
			if r := decodeJSON[api.TaskResult](t, body).Results[0]; r.Error != "" || r.Bytes != int64(tc.size) {
				t.Fatalf("load: %+v", r)
			}
			got := readCached(t, b, "/m/f", tc.size)
			want := changed
			if tc.fromPeer {
				want = orig
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("cached bytes are not the %s's", map[bool]string{true: "peer", false: "UFS"}[tc.fromPeer])
			}
			if n := b.Stats().PeerLoadedFiles; (n == 1) != tc.fromPeer {
				t.Fatalf("peer-loaded files: %d", n)
			}
		})
	}
}

// A worker asked for cached data only answers 404 for what it lacks.
func TestCachedOnlyReadsNeverReachTheUFS(t *testing.T) {
	dir := ufsDir(t, map[string]int{"f": 100})
	w := servePeer(t, "")
	mustSet(t, w, policies(1, dir, self(w)))
	resp, _ := do(t, w.Handler(), "GET", api.PathWorkerDataRoot+"/m/f?local=true&"+api.QueryCachedOnly+"=true", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("uncached: %d", resp.StatusCode)
	}
	if st := w.Cache().Stats(); st.PageIns != 0 {
		t.Fatalf("a cached-only read paged in %d pages", st.PageIns)
	}
}

func mustResolve(t *testing.T, w *Worker, p string) ufs.UFS {
	t.Helper()
	fs, _, err := w.resolver.Resolve(p)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// readCached reads a file from the worker's cache alone: an origin that
// fails stands in for the UFS.
func readCached(t *testing.T, w *Worker, p string, size int) []byte {
	t.Helper()
	buf := make([]byte, size)
	if _, err := w.Cache().ReadAt(context.Background(), p, failingOrigin{}, buf, 0); err != nil && err != io.EOF {
		t.Fatalf("%s is not wholly cached: %v", p, err)
	}
	return buf
}

// failingOrigin is an origin that cannot be read: a read that reaches it
// was not served from the cache.
type failingOrigin struct{}

func (failingOrigin) Stat(context.Context) (cache.Meta, error) {
	return cache.Meta{}, os.ErrNotExist
}
func (failingOrigin) ReadAt(context.Context, []byte, int64) (int, error) {
	return 0, os.ErrNotExist
}

// acknowledgeHolding does what the coordinators do with a worker's first
// heartbeat: take its holding report (the reset) and acknowledge it.
func acknowledgeHolding(w *Worker) {
	rep := w.journal.report(w.cache)
	w.journal.ack(api.HoldingAck{Epoch: rep.Epoch, Seq: rep.Events[len(rep.Events)-1].Seq})
}

// A worker that has no policies from its coordinators yet (just restarted)
// answers loads and reads 503, never "not under any mount point": the
// scheduler then sends the files again and a client tries another replica.
func TestNotReadyBeforeTheFirstPolicies(t *testing.T) {
	dir := ufsDir(t, map[string]int{"f": 100})
	cfg := testConfig(t.TempDir())
	cfg.Coordinators = []string{"http://127.0.0.1:1"} // never started: no pull
	w := newWorker(t, cfg)
	h := w.Handler()
	calls := []struct {
		method, target string
		body           any
	}{
		{"POST", api.PathTaskLoad, api.LoadTask{JobID: "j", Paths: []string{"/m/f"}}},
		{"GET", api.PathWorkerDataRoot + "/m/f", nil},
		{"GET", api.PathList + "/m", nil},
	}
	for _, c := range calls {
		if resp, body := do(t, h, c.method, c.target, c.body, nil); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s %s before policies: %d %s", c.method, c.target, resp.StatusCode, body)
		}
	}
	mustSet(t, w, policies(1, dir, self(w)))
	// Loads also wait until the file index took the worker's first
	// holding report (reads do not).
	if resp, body := do(t, h, "POST", api.PathTaskLoad, calls[0].body, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("load before the first holding report: %d %s", resp.StatusCode, body)
	}
	acknowledgeHolding(w)
	for _, c := range calls {
		if resp, body := do(t, h, c.method, c.target, c.body, map[string]string{LocalHeader: "true"}); resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s after policies: %d %s", c.method, c.target, resp.StatusCode, body)
		}
	}
}
