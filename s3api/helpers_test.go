package s3api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/localcluster"
	"github.com/alluvium/alluvium/s3api"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	testAK     = "AKIDALLUVIUMTEST"
	testSecret = "s3cr3t/with+chars"
	pageSize   = 64 << 10
)

// Compile-time check: the worker is the S3 API's backend.
var _ s3api.Backend = (*workerBackend)(nil)

// env is a standalone cluster of workers with the S3 API on.
type env struct {
	t   *testing.T
	c   *localcluster.Cluster
	dir string // the UFS folder mounted at /sample
}

// files is the test tree: name -> content.
func testFiles() map[string][]byte {
	m := map[string][]byte{
		"hello.txt":           []byte("hello, s3\n"),
		"big/three-pages.bin": sample("three", 3*pageSize+17),
		"big/page.bin":        sample("page", pageSize),
		"empty.bin":           nil,
		"names/a b.txt":       []byte("space"),
		"names/x+y.txt":       []byte("plus"),
		"names/100%.txt":      []byte("percent"),
		"names/ünï/☃.txt":     []byte("unicode"),
		"deep/a/b/c.txt":      []byte("deep"),
		"deep/a/d.txt":        []byte("d"),
		"deep/e.txt":          []byte("e"),
		"deep/f/g.txt":        []byte("g"),
	}
	for i := range 42 {
		m[pagingKey(i)] = []byte(pagingKey(i))
	}
	return m
}

// pagingKey is the i-th of 42 keys under paging/, in sorted order.
func pagingKey(i int) string {
	return "paging/" + string(rune('a'+i/10)) + string(rune('0'+i%10)) + ".txt"
}

func sample(seed string, n int) []byte {
	out := make([]byte, 0, n+32)
	sum := sha256.Sum256([]byte(seed))
	for len(out) < n {
		out = append(out, sum[:]...)
		sum = sha256.Sum256(sum[:])
	}
	return out[:n]
}

func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// start runs workers standalone, with /sample, /data/team-a and
// "/my bucket" mounted, and the S3 API configured as s3cfg says.
func start(t *testing.T, workers int, s3cfg s3api.Config) *env {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "sample")
	writeTree(t, dir, testFiles())
	teamA := filepath.Join(base, "team-a")
	writeTree(t, teamA, map[string][]byte{"one.txt": []byte("1"), "sub/two.txt": []byte("2")})
	teamB := filepath.Join(base, "team-b")
	writeTree(t, teamB, map[string][]byte{"three.txt": []byte("3")})
	spaced := filepath.Join(base, "spaced")
	writeTree(t, spaced, map[string][]byte{"in a bucket.txt": []byte("spaced bucket")})
	cfg := localcluster.DefaultConfig()
	cfg.Dir, cfg.Coordinators, cfg.Workers = filepath.Join(base, "cluster"), 0, workers
	cfg.Worker.PageSize, cfg.Worker.MemoryBytes, cfg.Worker.CapacityBytes = pageSize, 4<<20, 64<<20
	cfg.S3 = localcluster.S3Config{Enabled: true, Config: s3cfg}
	cfg.Mounts = []api.Mount{{Path: "/sample", UFS: "file://" + dir}, {Path: "/data/team-a", UFS: "file://" + teamA},
		{Path: "/data/team-b", UFS: "file://" + teamB}, {Path: "/my bucket", UFS: "file://" + spaced}}
	c, err := localcluster.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &env{t: t, c: c, dir: dir}
}

// client is an aws-sdk-go-v2 client of worker i's S3 API.
func (e *env) client(i int, ak, secret string) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(e.c.Workers[i].S3URL),
		Region:                     "us-east-1",
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(ak, secret, ""),
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		RetryMaxAttempts:           1,
	})
}

// raw sends a request to worker i's S3 API and returns the status and body.
func (e *env) raw(i int, method, target string, hdr map[string]string) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.c.Workers[i].S3URL+target, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// workerBackend stands for *worker.Worker in the compile-time check
// without importing it twice.
type workerBackend = localWorker

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes %q..., want %d bytes %q...", what, len(got), trunc(got), len(want), trunc(want))
	}
}

func trunc(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return strings.ToValidUTF8(string(b), "?")
}
