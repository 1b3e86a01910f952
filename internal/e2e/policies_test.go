package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/testcluster"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/worker"
)

const page = 4096

// env is a three-coordinator cluster with one small worker over a UFS dir.
type env struct {
	t     *testing.T
	tc    *testcluster.Cluster
	ufs   string
	c     *client.Client
	w     *workernode.Node
	clock skewedClock // the workers' clock (their caches' TTLs and maxAge)

	mu    sync.Mutex
	mtime time.Time // of the last put
}

// skewedClock is the real time plus an offset that a test moves forward,
// to expire cached data without waiting for it.
type skewedClock struct{ skew atomic.Int64 }

func (c *skewedClock) Now() time.Time          { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *skewedClock) Advance(d time.Duration) { c.skew.Add(int64(d)) }

func newEnv(t *testing.T, capacityPages int64) *env {
	t.Helper()
	tc := startCluster(t)
	var urls []string
	for _, m := range tc.Nodes {
		urls = append(urls, m.URL())
	}
	c, err := client.New(urls)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, tc: tc, ufs: t.TempDir(), c: c}
	e.w = e.startWorkerWith(func(cfg *worker.Config) { cfg.CapacityBytes = capacityPages * page })
	ctx := context.Background()
	e.eventually("the worker is LIVE", func() bool {
		n, err := c.Node(ctx, e.w.Worker.ID())
		return err == nil && n.State == "LIVE"
	})
	if _, err := c.AddMount(ctx, api.Mount{Path: "/data", UFS: "file://" + e.ufs}); err != nil {
		t.Fatal(err)
	}
	e.synced()
	return e
}

func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// synced waits until the worker enforces the policies the cluster has now.
func (e *env) synced() {
	e.t.Helper()
	want := e.policyVersion()
	e.eventually("the worker pulls the policies", func() bool { return e.w.Worker.PolicyVersion() >= want })
}

// policyVersion is the leader's policy version, as a worker would pull it.
func (e *env) policyVersion() uint64 {
	e.t.Helper()
	v, _ := e.tc.Nodes[e.tc.Leader()].Node.Coordinator.FSM().PolicyWatch()
	return v
}

// put writes a file of random bytes into the UFS. Its modification time
// is later than any put before it, so a rewrite is a new version however
// soon it follows the last.
func (e *env) put(name string, size int) []byte {
	e.t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	full := filepath.Join(e.ufs, filepath.FromSlash(name))
	os.MkdirAll(filepath.Dir(full), 0o755)
	if err := os.WriteFile(full, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	mtime := time.Now()
	if next := e.mtime.Add(time.Millisecond); mtime.Before(next) {
		mtime = next
	}
	e.mtime = mtime
	e.mu.Unlock()
	if err := os.Chtimes(full, mtime, mtime); err != nil {
		e.t.Fatal(err)
	}
	return data
}

func (e *env) read(name string) []byte {
	e.t.Helper()
	r, err := e.c.Open(context.Background(), "/data/"+name, "")
	if err != nil {
		e.t.Fatalf("read %s: %v", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) cached(name string) bool {
	_, ok := e.w.Worker.Cache().Stat("/data/" + name)
	return ok
}

func TestTTLExpiresCachedData(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 64)
	old := e.put("ttl/f", page)
	if _, err := e.c.SetTTL(context.Background(), "/data/ttl", time.Hour); err != nil {
		t.Fatal(err)
	}
	e.synced()
	if !bytes.Equal(e.read("ttl/f"), old) || !e.cached("ttl/f") {
		t.Fatal("the file was not read and cached")
	}
	fresh := e.put("ttl/f", page) // the UFS changes; the default rule trusts the cache...
	e.clock.Advance(50 * time.Minute)
	if !bytes.Equal(e.read("ttl/f"), old) {
		t.Fatal("within the TTL the cached copy should be served (immutable)")
	}
	e.clock.Advance(11 * time.Minute) // ... until the TTL expires it
	if !bytes.Equal(e.read("ttl/f"), fresh) {
		t.Fatal("expired data was served")
	}
}

func TestSkipCacheRuleStopsCaching(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 64)
	want := e.put("tmp/x.tmp", page)
	if _, err := e.c.AddFilterRule(context.Background(), api.FilterRule{Rule: "skipCache", Pattern: `\.tmp$`}); err != nil {
		t.Fatal(err)
	}
	e.synced()
	for range 2 {
		if !bytes.Equal(e.read("tmp/x.tmp"), want) {
			t.Fatal("a skipCache file read wrong")
		}
	}
	if e.cached("tmp/x.tmp") {
		t.Fatal("a skipCache file was cached")
	}
}

func TestLowPriorityIsEvictedFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 4) // room for four pages
	if _, err := e.c.SetPriority(context.Background(), "/data/low", "LOW"); err != nil {
		t.Fatal(err)
	}
	e.synced()
	e.put("low/a", page)
	e.read("low/a")
	for i := range 3 {
		e.put(fmt.Sprintf("mid/%d", i), page)
		e.read(fmt.Sprintf("mid/%d", i))
	}
	e.put("mid/3", page)
	e.read("mid/3") // the cache is full: the LOW page goes, not the older MEDIUM ones
	if e.cached("low/a") {
		t.Fatal("the LOW page survived while MEDIUM pages were admitted")
	}
	for i := range 4 {
		if !e.cached(fmt.Sprintf("mid/%d", i)) {
			t.Fatalf("MEDIUM page mid/%d was evicted before the LOW one", i)
		}
	}
}

func TestQuotaCapsUsage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 64)
	ctx := context.Background()
	if _, err := e.c.SetQuota(ctx, "/data/q", 2*page); err != nil {
		t.Fatal(err)
	}
	// The leader turns the quota into this worker's budget, then the worker
	// pulls it.
	e.eventually("the budget reaches the worker", func() bool {
		return e.w.Worker.Policies().Budgets["/data/q"] == 2*page
	})
	for i := range 5 {
		want := e.put(fmt.Sprintf("q/%d", i), page)
		if !bytes.Equal(e.read(fmt.Sprintf("q/%d", i)), want) {
			t.Fatal("a read over the quota was not served")
		}
		if used := e.w.Worker.Cache().UsedBytesUnder("/data/q"); used > 2*page {
			t.Fatalf("usage under the quota is %d, over %d", used, 2*page)
		}
	}
	e.eventually("usage reaches the quota's answer", func() bool {
		q, err := e.c.Quota(ctx, "/data/q")
		return err == nil && q.UsedBytes > 0 && q.UsedBytes <= 2*page
	})
}
