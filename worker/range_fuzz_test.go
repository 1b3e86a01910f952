package worker

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// checkPart checks one answered range: its Content-Range names a range of
// the file and its bytes are the file's bytes there.
func checkPart(content []byte, contentRange string, body []byte) error {
	var first, last, total int64
	if _, err := fmt.Sscanf(contentRange, "bytes %d-%d/%d", &first, &last, &total); err != nil {
		return fmt.Errorf("Content-Range %q: %v", contentRange, err)
	}
	if total != int64(len(content)) || first < 0 || last < first || last >= total {
		return fmt.Errorf("Content-Range %q is not a range of a %d-byte file", contentRange, len(content))
	}
	if !bytes.Equal(body, content[first:last+1]) {
		return fmt.Errorf("Content-Range %q: %d bytes that differ from the file's", contentRange, len(body))
	}
	return nil
}

// FuzzRangeRead sends arbitrary Range headers to a worker's data API, which
// serves pages from its cache (across page boundaries, the last page
// short; and an empty file): every answer is the whole file, the exact bytes of each range it
// names (single or multipart), or a 416 — never a 5xx or wrong bytes.
func FuzzRangeRead(f *testing.F) {
	for _, r := range []string{
		"", "bytes=0-99", "bytes=4000-8999", "bytes=-100", "bytes=9000-", "bytes=10000-",
		"bytes=0-0,4095-4096,9999-9999", "bytes=0-,0-", "bytes=-0", "bytes=5-4", "bytes=4096-8191",
		"bytes=9999999999999999999-", "bytes= 1 - 2 ", "bits=0-1", "bytes=0-99999999", "bytes=,,",
	} {
		f.Add(r, false)
	}
	f.Add("bytes=-5", true)
	f.Add("bytes=0-0", true)
	dir := f.TempDir()
	const size = 10000 // 3 pages, the last one short
	content := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	for i := range content {
		content[i] ^= byte(i / 16) // no two pages alike
	}
	if err := os.WriteFile(filepath.Join(dir, "a.bin"), content, 0o600); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.bin"), nil, 0o600); err != nil {
		f.Fatal(err)
	}
	w, err := New(testConfig(f.TempDir()))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = w.Shutdown(f.Context()) })
	if err := w.SetPolicies(policies(1, dir, self(w))); err != nil {
		f.Fatal(err)
	}
	h := w.Handler()
	f.Fuzz(func(t *testing.T, rng string, empty bool) {
		target, content := "/api/v1/data/m/a.bin", content
		if empty {
			target, content = "/api/v1/data/m/empty.bin", []byte{}
		}
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header["Range"] = []string{rng}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		resp := rec.Result()
		body, _ := io.ReadAll(resp.Body)
		switch resp.StatusCode {
		case http.StatusOK:
			if !bytes.Equal(body, content) {
				t.Fatalf("Range %q: 200 with %d bytes that are not the file", rng, len(body))
			}
		case http.StatusRequestedRangeNotSatisfiable:
		case http.StatusPartialContent:
			mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			if err != nil || mt != "multipart/byteranges" {
				if err := checkPart(content, resp.Header.Get("Content-Range"), body); err != nil {
					t.Fatalf("Range %q: %v", rng, err)
				}
				return
			}
			mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
			parts := 0
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Range %q: multipart answer: %v", rng, err)
				}
				b, err := io.ReadAll(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := checkPart(content, p.Header.Get("Content-Range"), b); err != nil {
					t.Fatalf("Range %q: part %d: %v", rng, parts, err)
				}
				parts++
			}
			if parts < 2 {
				t.Fatalf("Range %q: a multipart answer with %d parts", rng, parts)
			}
		default:
			t.Fatalf("Range %q: status %d: %s", rng, resp.StatusCode, body)
		}
	})
}
