package fusefs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/fusefs"
	"github.com/alluvium/alluvium/internal/fusetest"
	"github.com/alluvium/alluvium/internal/localcluster"
)

// env is a running cluster with a folder mounted at /data and the FUSE
// mount of its namespace.
type env struct {
	c   *localcluster.Cluster
	cl  *client.Client
	ufs string // the folder mounted at /data
	mnt string // where the namespace is mounted
	m   *fusefs.Mount
	// killed is set when a test stopped a worker mid-read: its Close may
	// answer that its drain timed out, and so may the cluster's.
	killed bool
}

// newEnv writes tree into a folder, starts one coordinator and workers
// workers with it mounted at /data, and mounts the namespace; edit changes
// the mount's config. Everything stops at the end of the test.
func newEnv(t *testing.T, workers int, tree map[string][]byte, edit func(*fusefs.Config)) *env {
	t.Helper()
	fusetest.Require(t)
	e := &env{ufs: t.TempDir(), mnt: t.TempDir()}
	writeTree(t, e.ufs, tree)
	cfg := localcluster.DefaultConfig()
	cfg.Dir, cfg.Coordinators, cfg.Workers = t.TempDir(), 1, workers
	cfg.Worker.CapacityBytes, cfg.Worker.MemoryBytes = 256<<20, 32<<20
	cfg.Mounts = []api.Mount{{Path: "/data", UFS: "file://" + e.ufs}}
	c, err := localcluster.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	t.Cleanup(func() {
		if err := c.Close(); err != nil && !e.killed {
			t.Error(err)
		}
	})
	if e.cl, err = client.New(c.URLs(), client.WithRingCache(time.Second)); err != nil {
		t.Fatal(err)
	}
	fc := fusefs.DefaultConfig()
	fc.Client = e.cl
	if edit != nil {
		edit(&fc)
	}
	if e.m, err = fusefs.New(e.mnt, fc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.m.Unmount(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// path is name (slash-separated, below /data) in the mount.
func (e *env) path(name string) string {
	return filepath.Join(e.mnt, "data", filepath.FromSlash(name))
}

func writeTree(t *testing.T, dir string, tree map[string][]byte) {
	t.Helper()
	for name, body := range tree {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// pattern is n bytes that differ at every offset of a page and from file
// to file.
func pattern(seed string, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	sum := sha256.Sum256([]byte(seed))
	for len(out) < n {
		out = append(out, sum[:]...)
		sum = sha256.Sum256(sum[:])
	}
	return out[:n]
}

// sameBytes fails t unless got is want, naming the first difference.
func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Fatalf("%s: %d bytes, want %d; first difference at %d", what, len(got), len(want), i)
}

// eventually polls check until it returns nil, or fails t after d.
func eventually(t *testing.T, d time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
