package worker

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
)

// writeLog is a ResponseWriter that records the size of each Write.
type writeLog struct {
	h      http.Header
	code   int
	body   bytes.Buffer
	writes []int
}

func (l *writeLog) Header() http.Header  { return l.h }
func (l *writeLog) WriteHeader(code int) { l.code = code }
func (l *writeLog) Write(p []byte) (int, error) {
	if l.code == 0 {
		l.code = http.StatusOK
	}
	l.writes = append(l.writes, len(p))
	return l.body.Write(p)
}

// TestDataIsWrittenAPageAtATime checks that a GET writes the cache's pages
// whole, one Write each (the end of a range cut), rather than through a
// copy buffer, and that the bytes are right.
func TestDataIsWrittenAPageAtATime(t *testing.T) {
	dir := t.TempDir()
	const size = 2*testPage + 1808 // 3 pages, the last one short
	content := writeFile(t, filepath.Join(dir, "a.bin"), size)
	w := newWorker(t, testConfig(t.TempDir()))
	mustSet(t, w, policies(1, dir, self(w)))
	h := w.Handler()
	for _, tc := range []struct {
		name, rng  string
		code       int
		want       []byte
		writeSizes []int
	}{
		{"full", "", 200, content, []int{testPage, testPage, 1808}},
		{"across pages", "bytes=4000-8999", 206, content[4000:9000], []int{96, testPage, 808}},
		{"inside a page", "bytes=10-19", 206, content[10:20], []int{10}},
		{"to the end", "bytes=9000-", 206, content[9000:], []int{size - 9000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for pass := range 2 { // a miss, then a hit
				req := httptest.NewRequest("GET", "/api/v1/data/m/a.bin", nil)
				if tc.rng != "" {
					req.Header.Set("Range", tc.rng)
				}
				l := &writeLog{h: http.Header{}}
				h.ServeHTTP(l, req)
				if l.code != tc.code || !bytes.Equal(l.body.Bytes(), tc.want) {
					t.Fatalf("pass %d: status %d and %d bytes, want %d and %d", pass, l.code, l.body.Len(), tc.code, len(tc.want))
				}
				if !slices.Equal(l.writes, tc.writeSizes) {
					t.Fatalf("pass %d: writes of %v bytes, want %v", pass, l.writes, tc.writeSizes)
				}
			}
		})
	}
}

// TestDataOverARealServer reads through net/http's own ResponseWriter
// (whose ReadFrom the page writer stands in for): whole files, ranges and
// a multi-range request on one keep-alive connection.
func TestDataOverARealServer(t *testing.T) {
	dir := t.TempDir()
	big := writeFile(t, filepath.Join(dir, "big.bin"), 5*testPage+123)
	small := writeFile(t, filepath.Join(dir, "small.bin"), testPage)
	w := newWorker(t, testConfig(t.TempDir()))
	mustSet(t, w, policies(1, dir, self(w)))
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	get := func(name, rng string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/data/m/"+name, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	for range 2 {
		if _, b := get("big.bin", ""); !bytes.Equal(b, big) {
			t.Fatalf("big.bin: %d bytes differ", len(b))
		}
		if _, b := get("small.bin", ""); !bytes.Equal(b, small) {
			t.Fatalf("small.bin: %d bytes differ", len(b))
		}
		if resp, b := get("big.bin", "bytes=4095-12288"); resp.StatusCode != 206 || !bytes.Equal(b, big[4095:12289]) {
			t.Fatalf("range: status %d, %d bytes", resp.StatusCode, len(b))
		}
		resp, b := get("big.bin", "bytes=0-9,20000-20009")
		if resp.StatusCode != 206 || !bytes.Contains(b, big[:10]) || !bytes.Contains(b, big[20000:20010]) {
			t.Fatalf("multi-range: status %d, body %q", resp.StatusCode, b)
		}
	}
}
