package fusefs_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fusefs"
	"github.com/alluvium/alluvium/ring"
)

// TestWorkerKilledMidRead stops the worker that owns a file while a reader
// is half way through it: the rest comes from the next owner on the ring,
// from its copy (replicas 2) or read through from the UFS (replicas 1).
func TestWorkerKilledMidRead(t *testing.T) {
	for _, replicas := range []int{2, 1} {
		t.Run(fmt.Sprintf("replicas %d", replicas), func(t *testing.T) {
			t.Parallel()
			const size = 12 << 20
			want := pattern("killed", size)
			e := newEnv(t, 3, map[string][]byte{"f.bin": want}, func(c *fusefs.Config) { c.Readahead = 4 << 20 })
			load(t, e, "/data/f.bin", replicas)
			owner := ownerIndex(t, e, "/data/f.bin")
			f, err := os.Open(e.path("f.bin"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got := make([]byte, size)
			if _, err := io.ReadFull(f, got[:size/4]); err != nil {
				t.Fatal(err)
			}
			e.killed = true
			if err := e.c.Workers[owner].Close(); err != nil {
				t.Logf("the owner stopped mid-read: %v", err) // its drain may time out: reads were in flight
			}
			if _, err := io.ReadFull(f, got[size/4:]); err != nil {
				t.Fatalf("reading on after the owner stopped: %v", err)
			}
			sameBytes(t, "f.bin", got, want)
		})
	}
}

// load loads path into the workers with replicas copies and waits for it.
func load(t *testing.T, e *env, path string, replicas int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	job, err := e.cl.SubmitLoad(ctx, api.LoadRequest{Paths: []string{path}, Alias: "fusetest", Options: &api.LoadOptions{Replicas: &replicas}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		j, err := e.cl.LoadJob(ctx, api.JobSelector{Alias: job.Alias})
		if err == nil && j.State != "SUCCEEDED" {
			err = fmt.Errorf("load job %s", j.State)
		}
		return err
	})
}

// ownerIndex is the index in e.c.Workers of path's owner on the ring.
func ownerIndex(t *testing.T, e *env, path string) int {
	t.Helper()
	var ids []string
	for _, w := range e.c.Workers {
		ids = append(ids, w.Worker.ID())
	}
	r, err := ring.New(ids, ring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	owner := r.Owners(path, 1)[0]
	for i, id := range ids {
		if id == owner {
			return i
		}
	}
	t.Fatalf("owner %s is not a worker", owner)
	return -1
}

// TestUFSChangeSeenAfterTheTTL changes a file in the UFS: the mount shows
// the new size and bytes once the metadata TTL has passed. (The worker
// serves what it cached until the cache filter says otherwise: the file is
// skipCache here, so that what is tested is the mount's own caching.)
func TestUFSChangeSeenAfterTheTTL(t *testing.T) {
	t.Parallel()
	const ttl = 300 * time.Millisecond
	e := newEnv(t, 1, map[string][]byte{"v.txt": []byte("version 1\n")}, func(c *fusefs.Config) { c.MetadataTTL = ttl })
	ctx := context.Background()
	if _, err := e.cl.AddFilterRule(ctx, api.FilterRule{Rule: "skipCache", Pattern: `^/data/v\.txt$`}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		for _, r := range e.c.Workers[0].Worker.Policies().Filter.Rules {
			if r.Rule == "skipCache" {
				return nil
			}
		}
		return fmt.Errorf("the worker has not the rule yet")
	})
	if b, err := os.ReadFile(e.path("v.txt")); err != nil || string(b) != "version 1\n" {
		t.Fatalf("before: %q, %v", b, err)
	}
	ufsFile := filepath.Join(e.ufs, "v.txt")
	if err := os.WriteFile(ufsFile, []byte("version 2, longer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(ufsFile, later, later); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	eventually(t, 10*time.Second, func() error {
		b, err := os.ReadFile(e.path("v.txt"))
		if err == nil && string(b) != "version 2, longer\n" {
			err = fmt.Errorf("still %q", b)
		}
		return err
	})
	if d := time.Since(changed); d < ttl {
		t.Logf("seen after %v (the worker's cache may notice first)", d)
	}
	if fi, err := os.Stat(e.path("v.txt")); err != nil || fi.Size() != int64(len("version 2, longer\n")) {
		t.Fatalf("stat after the change: %v, %v", fi, err)
	}
	// A new file appears too.
	if err := os.WriteFile(filepath.Join(e.ufs, "new.txt"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		entries, err := os.ReadDir(filepath.Join(e.mnt, "data"))
		var names []string
		for _, d := range entries {
			names = append(names, d.Name())
		}
		if err == nil && !strings.Contains(strings.Join(names, " "), "new.txt") {
			err = fmt.Errorf("lists %v", names)
		}
		return err
	})
}
