package worker

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/ring"
)

func TestDataAPI(t *testing.T) {
	dir := t.TempDir()
	const size = 10000 // 3 pages, the last one short
	content := writeFile(t, filepath.Join(dir, "a.bin"), size)
	writeFile(t, filepath.Join(dir, "sub", "empty.txt"), 0)
	w := newWorker(t, testConfig(t.TempDir()))
	mustSet(t, w, policies(1, dir, self(w)))
	h := w.Handler()
	fi, err := os.Stat(filepath.Join(dir, "a.bin"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, method, target, rng string
		code                      int
		want                      []byte // nil: not checked
		contentRange              string
	}{
		{"full", "GET", "/api/v1/data/m/a.bin", "", 200, content, ""},
		{"first 100", "GET", "/api/v1/data/m/a.bin", "bytes=0-99", 206, content[:100], "bytes 0-99/10000"},
		{"across pages", "GET", "/api/v1/data/m/a.bin", "bytes=4000-8999", 206, content[4000:9000], "bytes 4000-8999/10000"},
		{"suffix", "GET", "/api/v1/data/m/a.bin", "bytes=-100", 206, content[size-100:], "bytes 9900-9999/10000"},
		{"open ended", "GET", "/api/v1/data/m/a.bin", "bytes=9000-", 206, content[9000:], "bytes 9000-9999/10000"},
		{"beyond size", "GET", "/api/v1/data/m/a.bin", "bytes=10000-", 416, nil, "bytes */10000"},
		{"head", "HEAD", "/api/v1/data/m/a.bin", "", 200, []byte{}, ""},
		{"empty file", "GET", "/api/v1/data/m/sub/empty.txt", "", 200, []byte{}, ""},
		{"no such file", "GET", "/api/v1/data/m/missing", "", 404, nil, ""},
		{"directory", "GET", "/api/v1/data/m/sub", "", 404, nil, ""},
		{"mount point", "GET", "/api/v1/data/m", "", 404, nil, ""},
		{"escaped name", "GET", "/api/v1/data/m/sub%2Fempty.txt", "", 200, []byte{}, ""},
		{"no mount", "GET", "/api/v1/data/other/a.bin", "", 404, nil, ""},
		{"post refused", "POST", "/api/v1/data/m/a.bin", "", 405, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.rng != "" {
				hdr["Range"] = tc.rng
			}
			resp, body := do(t, h, tc.method, tc.target, nil, hdr)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if tc.want != nil && sha256.Sum256(body) != sha256.Sum256(tc.want) {
				t.Fatalf("body of %d bytes differs from the file's %d", len(body), len(tc.want))
			}
			if got := resp.Header.Get("Content-Range"); got != tc.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tc.contentRange)
			}
			if tc.code/100 == 2 && tc.target == "/api/v1/data/m/a.bin" {
				wantLen := len(tc.want)
				if tc.method == "HEAD" {
					wantLen = size
				}
				if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(wantLen) {
					t.Errorf("Content-Length %q, want %d", got, wantLen)
				}
				if resp.Header.Get("ETag") == "" {
					t.Error("no ETag")
				}
				if got, want := resp.Header.Get("Last-Modified"), fi.ModTime().UTC().Format(http.TimeFormat); got != want {
					t.Errorf("Last-Modified %q, want %q", got, want)
				}
			}
		})
	}

	t.Run("if-none-match", func(t *testing.T) {
		resp, _ := do(t, h, "GET", "/api/v1/data/m/a.bin", nil, nil)
		resp2, _ := do(t, h, "GET", "/api/v1/data/m/a.bin", nil, map[string]string{"If-None-Match": resp.Header.Get("ETag")})
		if resp2.StatusCode != http.StatusNotModified {
			t.Fatalf("status %d, want 304", resp2.StatusCode)
		}
	})
	t.Run("multi-range is multipart", func(t *testing.T) {
		resp, body := do(t, h, "GET", "/api/v1/data/m/a.bin", nil, map[string]string{"Range": "bytes=0-9,5000-5009"})
		if resp.StatusCode != 206 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") {
			t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(string(body), string(content[5000:5010])) {
			t.Fatal("second part missing")
		}
	})
}

func TestSecondReadIsACacheHit(t *testing.T) {
	dir := t.TempDir()
	content := writeFile(t, filepath.Join(dir, "f"), 3*testPage+10)
	w := newWorker(t, testConfig(t.TempDir()))
	mustSet(t, w, policies(1, dir, self(w)))
	h := w.Handler()
	read := func() {
		resp, body := do(t, h, "GET", "/api/v1/data/m/f", nil, nil)
		if resp.StatusCode != 200 || sha256.Sum256(body) != sha256.Sum256(content) {
			t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
		}
	}
	read()
	s1 := w.Cache().Stats()
	if s1.Misses == 0 || s1.UsedBytes != int64(len(content)) {
		t.Fatalf("first read: %+v", s1)
	}
	read()
	s2 := w.Cache().Stats()
	if s2.Misses != s1.Misses || s2.BytesFromOrigin != s1.BytesFromOrigin {
		t.Fatalf("second read went to the UFS: %+v then %+v", s1, s2)
	}
	if s2.MemoryHits+s2.DiskHits <= s1.MemoryHits+s1.DiskHits {
		t.Fatalf("second read counted no hit: %+v then %+v", s1, s2)
	}
	resp, body := do(t, h, "GET", "/api/v1/stats", nil, nil)
	st := decodeJSON[Stats](t, body)
	if resp.StatusCode != 200 || st.UsedBytes != s2.UsedBytes || st.ID != w.ID() {
		t.Fatalf("stats %d %+v", resp.StatusCode, st)
	}
}

// pathOwnedBy finds a path under /m whose ring owner is id.
func pathOwnedBy(t *testing.T, members []string, id string) string {
	t.Helper()
	rg, err := ring.New(members, ring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		p := fmt.Sprintf("/m/f%d", i)
		if o, _ := rg.Owner(p); o == id {
			return p
		}
	}
	t.Fatal("no path found")
	return ""
}

func TestRedirectToOwner(t *testing.T) {
	dir := t.TempDir()
	w := newWorker(t, testConfig(t.TempDir()))
	other := api.Node{ID: "worker-00000000-0000-0000-0000-000000000001", Address: "10.1.2.3:9000"}
	mustSet(t, w, policies(1, dir, self(w), other))
	h := w.Handler()
	theirs := pathOwnedBy(t, []string{w.ID(), other.ID}, other.ID)
	mine := pathOwnedBy(t, []string{w.ID(), other.ID}, w.ID())
	theirContent := writeFile(t, filepath.Join(dir, strings.TrimPrefix(theirs, "/m/")), 5000)
	writeFile(t, filepath.Join(dir, strings.TrimPrefix(mine, "/m/")), 100)

	tests := []struct {
		name, target string
		hdr          map[string]string
		code         int
		location     string
	}{
		{"not the owner", "/api/v1/data" + theirs, nil, 307, "http://10.1.2.3:9000/api/v1/data" + theirs},
		{"query kept", "/api/v1/data" + theirs + "?x=1&y=%2F", nil, 307, "http://10.1.2.3:9000/api/v1/data" + theirs + "?x=1&y=%2F"},
		{"head too", "/api/v1/data" + theirs, nil, 307, "http://10.1.2.3:9000/api/v1/data" + theirs},
		{"local query", "/api/v1/data" + theirs + "?local=true", nil, 200, ""},
		{"local header", "/api/v1/data" + theirs, map[string]string{LocalHeader: "true"}, 200, ""},
		{"owner serves", "/api/v1/data" + mine, nil, 200, ""},
		{"no mount is 404, not a redirect", "/api/v1/data/none" + theirs, nil, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := "GET"
			if tc.name == "head too" {
				method = "HEAD"
			}
			resp, body := do(t, h, method, tc.target, nil, tc.hdr)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Fatalf("Location %q, want %q", got, tc.location)
			}
			if tc.name == "local query" && string(body) != string(theirContent) {
				t.Fatal("local read differs from the file")
			}
		})
	}

	// Once the other worker leaves the ring, this one owns everything.
	mustSet(t, w, policies(2, dir, self(w), api.Node{ID: other.ID, Address: other.Address, State: "LOST"}))
	if resp, _ := do(t, h, "GET", "/api/v1/data"+theirs, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("after the owner left: %d", resp.StatusCode)
	}
	// A static ring keeps the LOST worker.
	p := policies(3, dir, self(w), api.Node{ID: other.ID, Address: other.Address, State: "LOST"})
	p.RingMode = "static"
	mustSet(t, w, p)
	if resp, _ := do(t, h, "GET", "/api/v1/data"+theirs, nil, nil); resp.StatusCode != 307 {
		t.Fatalf("static ring: %d", resp.StatusCode)
	}
	// An older version is ignored.
	mustSet(t, w, policies(2, dir, self(w)))
	if w.PolicyVersion() != 3 {
		t.Fatalf("version %d", w.PolicyVersion())
	}
	// A decommissioned worker passes reads of its own paths on.
	p = policies(4, dir, api.Node{ID: w.ID(), Address: w.cfg.HTTPAddress, State: "DECOMMISSIONED"}, other)
	p.RingMode = "static"
	mustSet(t, w, p)
	if resp, _ := do(t, h, "GET", "/api/v1/data"+mine, nil, nil); resp.StatusCode != 307 {
		t.Fatalf("decommissioned: %d", resp.StatusCode)
	}
}
