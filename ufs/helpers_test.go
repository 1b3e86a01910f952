package ufs

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// writeTree creates files (relative path -> content) below dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func openLocal(t testing.TB, dir string) UFS {
	t.Helper()
	fs, err := Open("file://"+filepath.ToSlash(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

// fakeS3 is an in-process S3 server (gofakes3 over an in-memory backend) on
// a loopback httptest server.
type fakeS3 struct {
	backend  *s3mem.Backend
	endpoint string // host:port
}

func newFakeS3(t testing.TB, buckets ...string) *fakeS3 {
	t.Helper()
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	f := &fakeS3{backend: backend, endpoint: strings.TrimPrefix(srv.URL, "http://")}
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fakeS3) put(t testing.TB, bucket, key string, content []byte) {
	t.Helper()
	// The HTTP front end stores Last-Modified with the object; so do we.
	meta := map[string]string{"Last-Modified": time.Now().UTC().Format(http.TimeFormat)}
	if _, err := f.backend.PutObject(bucket, key, meta, bytes.NewReader(content), int64(len(content)), nil); err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

// options are the mount options of a fake S3: path style, plain HTTP.
func (f *fakeS3) options() map[string]string {
	return map[string]string{
		OptEndpoint:        "http://" + f.endpoint,
		OptRegion:          "us-east-1",
		OptAccessKeyID:     "AKIATESTKEY",
		OptSecretAccessKey: "s3cr3t-value-never-shown",
		OptSessionToken:    "t0ken-value-never-shown",
		OptPathStyle:       "true",
		OptMaxRetries:      "1",
	}
}

func (f *fakeS3) open(t testing.TB, uri string) UFS {
	t.Helper()
	fs, err := Open(uri, f.options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

// listAll pages through dir with the given page size from cursor.
func listAll(t testing.TB, fs UFS, dir, cursor string, page int) []FileInfo {
	t.Helper()
	var all []FileInfo
	for range 1_000_000 {
		files, next, err := fs.List(context.Background(), dir, cursor, page)
		if err != nil {
			t.Fatalf("List(%q, %q, %d): %v", dir, cursor, page, err)
		}
		if len(files) > page {
			t.Fatalf("List(%q, %q, %d) returned %d files", dir, cursor, page, len(files))
		}
		all = append(all, files...)
		if next == "" {
			return all
		}
		if len(files) == 0 || next != files[len(files)-1].Path {
			t.Fatalf("List(%q, %q, %d): next %q is not the last path returned", dir, cursor, page, next)
		}
		cursor = next
	}
	t.Fatal("listing does not end")
	return nil
}

func paths(files []FileInfo) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

func readRange(t testing.TB, fs UFS, p string, off, length int64) ([]byte, error) {
	t.Helper()
	r, err := fs.Open(context.Background(), p, off, length)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func ctxTimeout(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
