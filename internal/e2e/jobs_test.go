package e2e

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/testcluster"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/worker"
	"github.com/hashicorp/raft"
)

// startCluster starts three coordinators and waits until each knows the
// others' API addresses. They stop when the test ends, after its workers:
// followers first, the leader last. With the leader stopped first, the
// others elect a new one while they are being stopped, and a heartbeat of
// the new term that reaches a node whose Raft has just shut down finds its
// stores closed, which makes Raft panic (the heartbeat fast path of its TCP
// transport can still be running then).
func startCluster(tb testing.TB) *testcluster.Cluster {
	tb.Helper()
	tc := testcluster.Start(tb, 3, testcluster.Options{})
	tb.Cleanup(func() { // before testcluster's StopAll, which stops the rest
		for i, m := range tc.Nodes {
			if m.Node != nil && m.Node.Coordinator.Raft().State() != raft.Leader {
				tc.Stop(i)
			}
		}
	})
	tc.WaitPublished()
	return tc
}

// cluster3 is three coordinators and three workers over a UFS folder
// mounted at /data.
func cluster3(t *testing.T) (*env, []*workernode.Node) {
	t.Helper()
	return clusterWith(t, 3)
}

// clusterWith is three coordinators and n workers (4 KiB pages, no memory
// tier) over a UFS folder mounted at /data, every worker enforcing the
// current policies.
func clusterWith(t *testing.T, n int) (*env, []*workernode.Node) {
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
	var ws []*workernode.Node
	for range n {
		ws = append(ws, e.startWorker())
	}
	ctx := context.Background()
	e.eventually(fmt.Sprintf("%d LIVE workers", n), func() bool {
		ns, err := c.Nodes(ctx)
		live := 0
		for _, nd := range ns.Results {
			if nd.State == "LIVE" {
				live++
			}
		}
		return err == nil && live == n
	})
	if _, err := c.AddMount(ctx, api.Mount{Path: "/data", UFS: "file://" + e.ufs}); err != nil {
		t.Fatal(err)
	}
	e.syncAll(ws)
	return e, ws
}

// startWorker starts a worker of the env's cluster, stopped when the test ends.
func (e *env) startWorker() *workernode.Node {
	e.t.Helper()
	return e.startWorkerWith(nil)
}

// startWorkerWith is startWorker with changes to the worker's config.
func (e *env) startWorkerWith(change func(*worker.Config)) *workernode.Node {
	e.t.Helper()
	var urls []string
	for _, m := range e.tc.Nodes {
		urls = append(urls, m.URL())
	}
	cfg := worker.DefaultConfig()
	cfg.DataDir, cfg.Coordinators = e.t.TempDir(), urls
	cfg.PageSize, cfg.MemoryBytes = page, 0
	cfg.HeartbeatInterval, cfg.PolicyWait = 200*time.Millisecond, 5*time.Second
	cfg.Now = e.clock.Now
	if change != nil {
		change(&cfg)
	}
	n, err := workernode.Start(cfg, nil, "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { n.Close() })
	return n
}

func (e *env) waitJob(get func() (api.Job, error)) api.Job {
	e.t.Helper()
	var j api.Job
	e.eventually("the job ends", func() bool {
		var err error
		j, err = get()
		return err == nil && (j.State == "SUCCEEDED" || j.State == "FAILED" || j.State == "STOPPED")
	})
	return j
}

func TestLoadAndFreeJobs(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	ctx := context.Background()
	const files = 500 // empty ones, and ones of one page and of several
	var total int64
	want := map[string][]byte{}
	for i := range files {
		size := []int{0, 1, page, 3*page + 7, 100}[i%5]
		want[fmt.Sprintf("set/f%03d.bin", i)] = e.put(fmt.Sprintf("set/f%03d.bin", i), size)
		total += int64(size)
	}
	e.put("other/skip.txt", 10)
	replicas := 2
	bs := 37
	if _, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/set", "/data/other"}, Alias: "set",
		Options: &api.LoadOptions{Replicas: &replicas, BatchSize: &bs, FileFilterRegex: `\.bin$`}}); err != nil {
		t.Fatal(err)
	}
	j := e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias("set")) })
	if j.State != "SUCCEEDED" || j.ScannedFiles != files || j.LoadedBytes != total || j.FailedFiles != 0 {
		t.Fatalf("load: %+v", j)
	}
	// Every file is on exactly `replicas` workers, and reads back whole.
	for name, data := range want {
		if got := e.read(name); !bytes.Equal(got, data) {
			t.Fatalf("%s reads %d bytes that differ from the UFS's %d", name, len(got), len(data))
		}
	}
	for i := range files {
		p := fmt.Sprintf("/data/set/f%03d.bin", i)
		holders := 0
		for _, w := range ws {
			if st, ok := w.Worker.Cache().Stat(p); ok && st.Complete() {
				holders++
			}
		}
		if size := []int{0, 1, page, 3*page + 7, 100}[i%5]; size > 0 && holders != replicas {
			t.Fatalf("%s is cached on %d workers, want %d", p, holders, replicas)
		}
	}
	// A second submit answers 409 with the same id and runs the job again:
	// with skipIfExists, every cached file is skipped.
	_, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/set", "/data/other"}, Alias: "set",
		Options: &api.LoadOptions{Replicas: &replicas, BatchSize: &bs, FileFilterRegex: `\.bin$`, SkipIfExists: true}})
	if !client.IsConflict(err) || client.ConflictID(err) != j.ID {
		t.Fatalf("second submit: %v, want 409 with id %s", err, j.ID)
	}
	again := e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias("set")) })
	if again.ID != j.ID || again.State != "SUCCEEDED" || again.SkippedFiles < files*4/5 || again.LoadedBytes != 0 || again.Attempts != 2 {
		t.Fatalf("second run: %+v", again)
	}
	// The file index knows the holders.
	idx, err := e.c.FileIndex(ctx, "/data/set/", "", 0)
	if err != nil || len(idx.Results) != files {
		t.Fatalf("file index: %d entries, %v", len(idx.Results), err)
	}
	// Free: nothing of those files stays cached anywhere.
	if _, err := e.c.SubmitFree(ctx, api.FreeRequest{Paths: []string{"/data/set"}, Alias: "set"}); err != nil {
		t.Fatal(err)
	}
	f := e.waitJob(func() (api.Job, error) { return e.c.FreeJob(ctx, client.ByAlias("set")) })
	if f.State != "SUCCEEDED" || f.FreedBytes == 0 {
		t.Fatalf("free: %+v", f)
	}
	for _, w := range ws {
		if used := w.Worker.Cache().UsedBytesUnder("/data/set"); used != 0 {
			t.Fatalf("%s still caches %d bytes of the freed files", w.Worker.ID(), used)
		}
	}
}
