package e2e

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/ring"
)

// addWorker starts one more worker of the cluster and waits until it is
// LIVE and every worker enforces the cluster's policies.
func (e *env) addWorker(ws []*workernode.Node) []*workernode.Node {
	e.t.Helper()
	n := e.startWorker()
	e.eventually("the new worker is LIVE", func() bool {
		nd, err := e.c.Node(context.Background(), n.Worker.ID())
		return err == nil && nd.State == "LIVE"
	})
	ws = append(ws, n)
	e.syncAll(ws)
	return ws
}

// syncAll waits until every worker enforces the policies the cluster has now.
func (e *env) syncAll(ws []*workernode.Node) {
	e.t.Helper()
	for _, w := range ws {
		e.w = w
		e.synced()
	}
}

// loadFiles writes n files under /data/rb and loads them with one replica.
func (e *env) loadFiles(n int) map[string][]byte {
	e.t.Helper()
	ctx := context.Background()
	want := map[string][]byte{}
	for i := range n {
		name := fmt.Sprintf("rb/f%04d.bin", i)
		want["/data/"+name] = e.put(name, 1+i%(2*page))
	}
	replicas, bs := 1, 200
	if _, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/rb"}, Alias: "rb",
		Options: &api.LoadOptions{Replicas: &replicas, BatchSize: &bs}}); err != nil {
		e.t.Fatal(err)
	}
	j := e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias("rb")) })
	if j.State != "SUCCEEDED" || j.ScannedFiles != int64(n) || j.FailedFiles != 0 {
		e.t.Fatalf("load: %+v", j)
	}
	return want
}

// rebalanceAll runs a rebalance of every worker to its end.
func (e *env) rebalanceAll() api.Job {
	e.t.Helper()
	ctx := context.Background()
	bs := 97
	if _, err := e.c.SubmitRebalance(ctx, api.RebalanceRequest{Target: "ALL",
		Options: &api.RebalanceOptions{LoadBatchSize: &bs}}); err != nil && !client.IsConflict(err) {
		e.t.Fatal(err) // 409: a finished job with that target runs again
	}
	return e.waitJob(func() (api.Job, error) { return e.c.RebalanceJob(ctx, api.JobSelector{Target: "ALL"}) })
}

// checkPlacement checks that every file is cached on its owner of the ring
// of live, and on no other worker of all, that the file index says so, and
// that every file reads back as written. It answers the files per worker.
func (e *env) checkPlacement(want map[string][]byte, live, all []*workernode.Node) map[string]int {
	e.t.Helper()
	ctx := context.Background()
	rg, err := e.ringOf(live)
	if err != nil {
		e.t.Fatal(err)
	}
	per := map[string]int{}
	for p := range want {
		owner := rg.Owners(p, 1)[0]
		per[owner]++
		for _, w := range all {
			st, ok := w.Worker.Cache().Stat(p)
			held := ok && st.Complete()
			if w.Worker.ID() == owner && !held {
				e.t.Fatalf("%s is not cached on its owner %s", p, owner)
			}
			if w.Worker.ID() != owner && ok {
				e.t.Fatalf("%s is still cached on %s, which does not own it (owner %s)", p, w.Worker.ID(), owner)
			}
		}
	}
	// The file index says so within a few heartbeats: the workers report
	// what a page cut short by a leader change left unrecorded.
	var problem string
	e.eventually("the file index lists every file on its owner", func() bool {
		problem = e.indexPlacement(want, rg)
		return problem == ""
	})
	for p, data := range want {
		r, err := e.c.Open(ctx, p, "")
		if err != nil {
			e.t.Fatalf("read %s: %v", p, err)
		}
		var got bytes.Buffer
		_, err = got.ReadFrom(r)
		r.Close()
		if err != nil || !bytes.Equal(got.Bytes(), data) {
			e.t.Fatalf("read %s: %d bytes (%v), want %d identical bytes", p, got.Len(), err, len(data))
		}
	}
	return per
}

// indexPlacement checks the file index under /data/rb/ against want: every
// file listed once, held by its owner on rg alone. It answers what is wrong,
// "" when nothing is.
func (e *env) indexPlacement(want map[string][]byte, rg *ring.Ring) string {
	seen := 0
	last := ""
	for {
		idx, err := e.c.FileIndex(context.Background(), "/data/rb/", last, 500)
		if err != nil {
			return err.Error()
		}
		for _, f := range idx.Results {
			seen++
			if _, ok := want[f.Path]; !ok {
				return "unknown " + f.Path
			}
			if owner := rg.Owners(f.Path, 1)[0]; !slices.Equal(f.Workers, []string{owner}) {
				return fmt.Sprintf("%s is held by %v, want [%s]", f.Path, f.Workers, owner)
			}
		}
		if idx.NextKey == "" {
			break
		}
		last = idx.NextKey
	}
	if seen != len(want) {
		return fmt.Sprintf("%d entries, want %d", seen, len(want))
	}
	return ""
}

// ringShare is the share of keys that id owns on the ring of ws.
// ringOf is the ring of the workers ws, built as every party builds it:
// from their capacities as the coordinators list them.
func (e *env) ringOf(ws []*workernode.Node) (*ring.Ring, error) {
	e.t.Helper()
	nodes, err := e.c.Nodes(context.Background())
	if err != nil {
		return nil, err
	}
	capacity := map[string]int64{}
	for _, w := range ws {
		capacity[w.Worker.ID()] = 0
	}
	for _, n := range nodes.Results {
		if _, ok := capacity[n.ID]; ok {
			capacity[n.ID] = n.CapacityBytes
		}
	}
	return ring.FromCapacities(capacity, ring.DefaultConfig())
}

func (e *env) ringShare(ws []*workernode.Node, id string) float64 {
	e.t.Helper()
	rg, err := e.ringOf(ws)
	if err != nil {
		e.t.Fatal(err)
	}
	const keys = 100000
	mine := 0
	for i := range keys {
		if rg.Owners(fmt.Sprintf("/key/%d", i), 1)[0] == id {
			mine++
		}
	}
	return float64(mine) / keys
}

func TestRebalanceMovesFilesToANewWorker(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	// 1000 files: the new worker's share of the ring is a quarter, and a
	// sample that large stays within 0.2..0.3 of the files (3.6 sigma).
	const n = 1000
	want := e.loadFiles(n)
	ws = e.addWorker(ws)
	j := e.rebalanceAll()
	if j.State != "SUCCEEDED" || j.ScannedFiles != n || j.FailedFiles != 0 || j.LoadedFiles == 0 ||
		j.PrunedFiles != j.LoadedFiles || j.LoadedBytes == 0 || j.PrunedBytes != j.LoadedBytes {
		t.Fatalf("rebalance: %+v", j)
	}
	per := e.checkPlacement(want, ws, ws)
	// The new worker holds its share of the ring: the files it holds are
	// compared with its share of many random keys; 1000 files stay within
	// 0.05 of that (3.6 sigma).
	share := float64(per[ws[3].Worker.ID()]) / n
	if ringShare := e.ringShare(ws, ws[3].Worker.ID()); share < ringShare-0.05 || share > ringShare+0.05 || share > 0.5 {
		t.Fatalf("the new worker owns %.3f of the files, its share of the ring is %.3f (%v)", share, ringShare, per)
	}
	// The rebalance moves the files the new worker owns, and few others:
	// a join moves at most about 1.1x the newcomer's share (the ring's load
	// band may shift a few partitions between the others).
	if got := int64(per[ws[3].Worker.ID()]); got > j.LoadedFiles || float64(j.LoadedFiles) > 1.1*float64(got)+2 {
		t.Fatalf("the new worker owns %d files, the job loaded %d", got, j.LoadedFiles)
	}
	// Every file moved had a live holder: its new owner read it from that
	// peer, not from the UFS.
	var peer int64
	for _, w := range ws {
		peer += w.Worker.Stats().PeerLoadedFiles
	}
	if peer != j.LoadedFiles {
		t.Fatalf("the workers read %d of the %d files moved from peers", peer, j.LoadedFiles)
	}
	// A second run finds nothing to do.
	again := e.rebalanceAll()
	if again.State != "SUCCEEDED" || again.ScannedFiles != n || again.LoadedFiles != 0 || again.PrunedFiles != 0 {
		t.Fatalf("second rebalance: %+v", again)
	}
}

// A worker that is lost (its process stopped) keeps its place in the file
// index: a rebalance loads what it held onto the owners of the ring without
// it (from the UFS, since it cannot be reached), and removing it then takes
// its entries out of the index.
func TestRebalanceAfterALostWorkerLosesNothing(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	const n = 150
	want := e.loadFiles(n)
	gone := ws[0]
	onGone := 0
	for p := range want {
		if _, ok := gone.Worker.Cache().Stat(p); ok {
			onGone++
		}
	}
	if onGone == 0 {
		t.Fatal("the lost worker held none of the files; the test proves nothing")
	}
	ctx := context.Background()
	id := gone.Worker.ID()
	e.eventually("the index lists the worker's files", func() bool {
		idx, err := e.c.FileIndex(ctx, "/data/rb/", "", 0)
		held := 0
		for _, f := range idx.Results {
			if slices.Contains(f.Workers, id) {
				held++
			}
		}
		return err == nil && held == onGone
	})
	gone.Close()
	e.eventually(id+" is LOST", func() bool {
		nd, err := e.c.Node(ctx, id)
		return err == nil && nd.State == "LOST"
	})
	e.syncAll(ws[1:])
	j := e.rebalanceAll()
	if j.State != "SUCCEEDED" || j.ScannedFiles != n || j.FailedFiles != 0 || j.LoadedFiles != int64(onGone) {
		t.Fatalf("rebalance: %+v (the lost worker held %d files)", j, onGone)
	}
	// Every file is on its owner among the live workers; the index still
	// lists the lost worker's copies until it is removed.
	if _, err := e.c.RemoveNode(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Node(ctx, id); !client.IsNotFound(err) {
		t.Fatalf("a removed worker: %v, want 404", err)
	}
	e.checkPlacement(want, ws[1:], ws[1:])
}

func TestRebalanceOfOneTargetWithSkipPrune(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	const n = 200
	want := e.loadFiles(n)
	ws = e.addWorker(ws)
	ctx := context.Background()
	target := ws[3].Worker.ID()
	bs := 50
	if _, err := e.c.SubmitRebalance(ctx, api.RebalanceRequest{Target: target,
		Options: &api.RebalanceOptions{LoadBatchSize: &bs, SkipPrune: true}}); err != nil {
		t.Fatal(err)
	}
	j := e.waitJob(func() (api.Job, error) { return e.c.RebalanceJob(ctx, api.JobSelector{Target: target}) })
	if j.State != "SUCCEEDED" || j.ScannedFiles != n || j.FailedFiles != 0 || j.LoadedFiles == 0 || j.PrunedFiles != 0 {
		t.Fatalf("rebalance: %+v", j)
	}
	rg, err := e.ringOf(ws)
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for p := range want {
		holders := 0
		for _, w := range ws[:3] {
			if st, ok := w.Worker.Cache().Stat(p); ok && st.Complete() {
				holders++
			}
		}
		_, onTarget := ws[3].Worker.Cache().Stat(p)
		owned := rg.Owners(p, 1)[0] == target
		if holders != 1 || onTarget != owned {
			t.Fatalf("%s: %d old holders (want 1, nothing pruned), on the target %v, owned by it %v", p, holders, onTarget, owned)
		}
		if owned {
			moved++
			e2, err := e.c.FileIndex(ctx, p, "", 1)
			if err != nil || len(e2.Results) != 1 || len(e2.Results[0].Workers) != 2 || !slices.Contains(e2.Results[0].Workers, target) {
				t.Fatalf("file index of %s: %+v %v", p, e2, err)
			}
		}
	}
	if int64(moved) != j.LoadedFiles {
		t.Fatalf("the target owns %d files, the job loaded %d", moved, j.LoadedFiles)
	}
}

// A rebalance whose leader dies goes on under the new leader from its
// cursor and ends with every file on its owner.
func TestRebalanceSurvivesTheLeader(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	const n = 300
	want := e.loadFiles(n)
	ws = e.addWorker(ws)
	ctx := context.Background()
	// Small pages and 64 KiB/s per worker: the moves take a few seconds.
	bs, bw := 10, api.Size(64<<10)
	if _, err := e.c.SubmitRebalance(ctx, api.RebalanceRequest{Target: "ALL",
		Options: &api.RebalanceOptions{LoadBatchSize: &bs, LoadBandwidth: &bw}}); err != nil {
		t.Fatal(err)
	}
	get := func() (api.Job, error) { return e.c.RebalanceJob(ctx, api.JobSelector{Target: "ALL"}) }
	e.eventually("the rebalance makes progress", func() bool {
		j, err := get()
		return err == nil && j.ScannedFiles >= 50
	})
	at, _ := get()
	e.tc.Stop(e.tc.Leader())
	j := e.waitJob(get)
	if j.State != "SUCCEEDED" || j.FailedFiles != 0 || j.ScannedFiles < n {
		t.Fatalf("after a leader kill: %+v", j)
	}
	if at.ScannedFiles >= n {
		t.Logf("the rebalance had finished (%d files) when its leader was killed", at.ScannedFiles)
	}
	e.checkPlacement(want, ws, ws)
}

// Clear stale after a ring change removes exactly the files a worker no
// longer owns (among its 3 first owners, the workers' replicas), and keeps
// every other.
func TestClearStaleAfterARingChangeRemovesOnlyUnownedFiles(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	ctx := context.Background()
	want := e.loadFiles(200)
	before := map[string]map[string]bool{} // worker -> files it held
	for _, w := range ws {
		before[w.Worker.ID()] = map[string]bool{}
		for p := range want {
			if cachedOn(w, p) {
				before[w.Worker.ID()][p] = true
			}
		}
	}
	// Two newcomers: with one, a file's old owner stays among its 3
	// owners on the new ring (the ring keeps it as the partition's second
	// candidate), so a clear with 3 replicas would remove nothing.
	ws = e.addWorker(e.addWorker(ws))
	rg, err := e.ringOf(ws)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.c.ClearStale(ctx); err != nil || len(res.Errors) != 0 {
		t.Fatalf("clear stale: %+v %v", res, err)
	}
	e.eventually("every worker finished clearing", func() bool {
		st, err := e.c.ClearStaleStatus(ctx)
		if err != nil || len(st.Results) != len(ws) {
			return false
		}
		for _, r := range st.Results {
			if r.Running {
				return false
			}
		}
		return true
	})
	removed := 0
	for _, w := range ws[:3] {
		for p := range want {
			owner := slices.Contains(rg.Owners(p, 3), w.Worker.ID())
			wasHeld := before[w.Worker.ID()][p]
			if held := cachedOn(w, p); held != (wasHeld && owner) {
				t.Fatalf("%s on %s: held %v after clear stale (held before %v, an owner %v)", p, w.Worker.ID(), held, wasHeld, owner)
			}
			if wasHeld && !owner {
				removed++
			}
		}
	}
	if removed == 0 {
		t.Fatal("the ring change left every file owned: the test shows nothing")
	}
	t.Logf("clear stale removed %d of %d files", removed, len(want))
}
