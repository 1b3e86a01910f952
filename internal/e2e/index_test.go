package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/cache"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/workerclient"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/worker"
)

// The global file index never claims a copy that is gone: whatever makes a
// worker drop a file reaches the index within a few heartbeats. These tests
// compare, through the HTTP APIs, the index with what each worker lists as
// cached whole.

// smallCluster is three coordinators and n workers of capacityPages pages
// each, over a UFS folder mounted at /data.
func smallCluster(t *testing.T, n int, capacityPages int64) (*env, []*workernode.Node) {
	t.Helper()
	e, _ := clusterWith(t, 0)
	var ws []*workernode.Node
	for range n {
		ws = append(ws, e.startWorkerWith(func(c *worker.Config) {
			c.CapacityBytes, c.SweepInterval = capacityPages*page, 100*time.Millisecond
		}))
	}
	e.eventually(fmt.Sprintf("%d LIVE workers", n), func() bool {
		ns, err := e.c.Nodes(context.Background())
		live := 0
		for _, nd := range ns.Results {
			if nd.State == "LIVE" {
				live++
			}
		}
		return err == nil && live == n
	})
	e.syncAll(ws)
	return e, ws
}

// heldByWorkers lists, per worker, the files it holds whole, from its
// cached-files API.
func heldByWorkers(t *testing.T, ws []*workernode.Node) map[string][]string {
	t.Helper()
	tasks := workerclient.New("", nil) // the test cluster has no token
	defer tasks.Close()
	out := map[string][]string{}
	for _, w := range ws {
		var held []string
		last := ""
		for {
			page, err := tasks.CachedFiles(t.Context(), w.URL, "", last, 1000)
			if err != nil {
				t.Fatalf("cached files of %s: %v", w.Worker.ID(), err)
			}
			for _, f := range page.Results {
				if f.Complete {
					held = append(held, f.Path)
				}
			}
			if page.NextKey == "" {
				break
			}
			last = page.NextKey
		}
		out[w.Worker.ID()] = held
	}
	return out
}

// heldByIndex lists, per worker, the files the index says it holds.
func (e *env) heldByIndex() map[string][]string {
	e.t.Helper()
	out := map[string][]string{}
	last := ""
	for {
		idx, err := e.c.FileIndex(context.Background(), "", last, 1000)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, f := range idx.Results {
			for _, w := range f.Workers {
				out[w] = append(out[w], f.Path)
			}
		}
		if idx.NextKey == "" {
			return out
		}
		last = idx.NextKey
	}
}

// indexDiff describes how the index differs from the workers' holdings ("" when
// it does not).
func (e *env) indexDiff(ws []*workernode.Node) string {
	truth, index := heldByWorkers(e.t, ws), e.heldByIndex()
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(truth)) {
		have, claimed := truth[id], index[id]
		sort.Strings(have)
		sort.Strings(claimed)
		if !slices.Equal(have, claimed) {
			fmt.Fprintf(&b, "%s holds %d files, the index claims %d (e.g. %s); ", id, len(have), len(claimed), firstDiff(have, claimed))
		}
		delete(index, id)
	}
	for id, claimed := range index {
		fmt.Fprintf(&b, "the index claims %d files of %s, which is not a worker here; ", len(claimed), id)
	}
	return b.String()
}

func firstDiff(a, b []string) string {
	in := func(s []string, x string) bool { _, ok := slices.BinarySearch(s, x); return ok }
	for _, x := range a {
		if !in(b, x) {
			return "missing " + x
		}
	}
	for _, x := range b {
		if !in(a, x) {
			return "claims " + x
		}
	}
	return "-"
}

// indexTrue waits until the index matches every worker's holding.
func (e *env) indexTrue(what string, ws []*workernode.Node) {
	e.t.Helper()
	var diff string
	deadline := time.Now().Add(20 * time.Second)
	for {
		if diff = e.indexDiff(ws); diff == "" {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: the file index is not true within 20s: %s", what, diff)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) loadPaths(alias string, paths ...string) api.Job {
	e.t.Helper()
	ctx := context.Background()
	replicas := 2
	_, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: paths, Alias: alias, Options: &api.LoadOptions{Replicas: &replicas}})
	if err != nil && !client.IsConflict(err) {
		e.t.Fatal(err)
	}
	return e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias(alias)) })
}

// TestFileIndexFollowsEvictions: after a load, and after each cause of
// eviction (a quota squeeze, TTL expiry, capacity), the index lists exactly
// what each worker holds.
func TestFileIndexFollowsEvictions(t *testing.T) {
	t.Parallel()
	e, ws := smallCluster(t, 3, 48)
	ctx := context.Background()
	for i := range 40 {
		e.put(fmt.Sprintf("q/f%02d", i), page)
		e.put(fmt.Sprintf("t/f%02d", i), page/2)
	}
	e.put("q/empty", 0)
	if j := e.loadPaths("qt", "/data/q", "/data/t"); j.State != "SUCCEEDED" {
		t.Fatalf("load: %+v", j)
	}
	e.indexTrue("after the load", ws)
	if n := len(e.heldByIndex()); n != 3 {
		t.Fatalf("the index names %d holders, want 3", n)
	}
	step := func(name string, fn func()) { t.Log(name); fn() }

	step("quota squeeze", func() {
		if _, err := e.c.SetQuota(ctx, "/data/q", 3*page); err != nil {
			t.Fatal(err)
		}
		e.eventually("the workers evict under the quota", func() bool {
			for _, w := range ws {
				if w.Worker.Cache().Stats().Evictions["quota"] == 0 {
					return false
				}
			}
			q, err := e.c.Quota(ctx, "/data/q")
			return err == nil && q.UsedBytes <= 3*page
		})
		e.indexTrue("after the quota squeeze", ws)
	})
	step("ttl expiry", func() {
		if _, err := e.c.SetTTL(ctx, "/data/t", time.Second); err != nil {
			t.Fatal(err)
		}
		e.syncAll(ws)
		e.clock.Advance(2 * time.Second) // past the TTL, without waiting for it
		e.eventually("the TTL sweep drops /data/t", func() bool {
			for _, w := range ws {
				if w.Worker.Cache().UsedBytesUnder("/data/t") > 0 {
					return false
				}
			}
			return true
		})
		e.indexTrue("after TTL expiry", ws)
		if idx, _ := e.c.FileIndex(ctx, "/data/t/", "", 0); len(idx.Results) != 0 {
			t.Fatalf("the index still lists %d expired files", len(idx.Results))
		}
	})
	step("capacity", func() {
		for i := range 60 {
			e.put(fmt.Sprintf("c/f%02d", i), 2*page)
		}
		j := e.loadPaths("cap", "/data/c")
		if j.ScannedFiles != 60 {
			t.Fatalf("load: %+v", j)
		}
		evicted := int64(0)
		for _, w := range ws {
			evicted += w.Worker.Cache().Stats().Evictions["capacity"]
		}
		if evicted == 0 {
			t.Fatal("no capacity eviction happened; the test proves nothing")
		}
		e.indexTrue("after capacity evictions", ws)
	})
	step("free then rebalance loads nothing", func() {
		if _, err := e.c.SubmitFree(ctx, api.FreeRequest{Paths: []string{"/data/q", "/data/c"}, Alias: "fr"}); err != nil {
			t.Fatal(err)
		}
		f := e.waitJob(func() (api.Job, error) { return e.c.FreeJob(ctx, client.ByAlias("fr")) })
		if f.State != "SUCCEEDED" || f.FreedFiles != f.ScannedFiles || f.ScannedFiles != 101 {
			t.Fatalf("free: %+v (every scanned file is processed, the empty one too)", f)
		}
		if idx, _ := e.c.FileIndex(ctx, "/data/", "", 0); len(idx.Results) != 0 {
			t.Fatalf("after the free, the index lists %d files: %+v", len(idx.Results), idx.Results[0])
		}
		r := e.rebalanceAll()
		if r.State != "SUCCEEDED" || r.LoadedFiles != 0 || r.LoadedBytes != 0 {
			t.Fatalf("rebalance after a free: %+v", r)
		}
		e.indexTrue("after the rebalance", ws)
	})
}

// TestFileIndexSurvivesALeaderChangeBeforeTheReport: a worker drops files
// and the leader dies before the worker's next heartbeat; the new leader
// gets the report, and the index is true.
func TestFileIndexSurvivesALeaderChangeBeforeTheReport(t *testing.T) {
	t.Parallel()
	e, ws := smallCluster(t, 2, 256)
	for i := range 30 {
		e.put(fmt.Sprintf("l/f%02d", i), page+i)
	}
	if j := e.loadPaths("l", "/data/l"); j.State != "SUCCEEDED" {
		t.Fatalf("load: %+v", j)
	}
	e.indexTrue("after the load", ws)
	// The drop and the leader's death, between two heartbeats (200 ms).
	files, _ := ws[0].Worker.Cache().Free("/data/l")
	e.tc.Stop(e.tc.Leader())
	if files == 0 {
		t.Fatal("the worker held nothing to drop")
	}
	e.indexTrue("after a leader change", ws)
	if n := len(e.heldByIndex()[ws[0].Worker.ID()]); n != 0 {
		t.Fatalf("the index still claims %d files of the worker that dropped them", n)
	}
}

// TestFileIndexKeepsUpWithASteadyLoad: during a load with evictions going
// on, each change a worker makes reaches the index within about a
// heartbeat. The lag is measured from the moment a worker's holding
// reaches a change number until the leader has applied that number.
func TestFileIndexKeepsUpWithASteadyLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a second-long load")
	}
	e, ws := smallCluster(t, 3, 32)
	ctx := context.Background()
	for i := range 400 {
		e.put(fmt.Sprintf("s/f%03d", i), page)
	}
	replicas, bw := 2, api.Size(96*page) // about 4 s of loading per worker
	if _, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/s"}, Alias: "s",
		Options: &api.LoadOptions{Replicas: &replicas, Bandwidth: &bw}}); err != nil {
		t.Fatal(err)
	}
	interval := 200 * time.Millisecond // the workers' heartbeat
	var lags []time.Duration
	done := func() bool {
		j, err := e.c.LoadJob(ctx, client.ByAlias("s"))
		return err == nil && !(j.State == "WAITING" || j.State == "RUNNING")
	}
	// A sample: wait for a worker's next holding change, then for the
	// leader to apply it.
	for !done() {
		for _, w := range ws {
			before := w.Worker.Cache().HoldingOf("/")
			var h cache.Holding
			for h = before; h.Seq == before.Seq && !done(); h = w.Worker.Cache().HoldingOf("/") {
				time.Sleep(time.Millisecond)
			}
			start := time.Now()
			for {
				co := e.tc.Nodes[e.tc.Leader()].Node.Coordinator
				if st := co.FSM().Holding(w.Worker.ID()); st.Epoch == h.Epoch && st.Seq >= h.Seq {
					break
				}
				if time.Since(start) > 20*time.Second {
					t.Fatalf("%s: change %d never reached the index", w.Worker.ID(), h.Seq)
				}
				time.Sleep(time.Millisecond)
			}
			lags = append(lags, time.Since(start))
		}
	}
	evicted := int64(0)
	for _, w := range ws {
		evicted += w.Worker.Cache().Stats().Evictions["capacity"]
	}
	if evicted == 0 || len(lags) < 6 {
		t.Fatalf("%d evictions, %d samples: the test proves nothing", evicted, len(lags))
	}
	slices.Sort(lags)
	median, worst := lags[len(lags)/2], lags[len(lags)-1]
	t.Logf("index lag over %d samples: median %v, worst %v (heartbeat %v, %d evictions)", len(lags), median, worst, interval, evicted)
	// A change waits at most one heartbeat interval, plus the commit; the
	// median with room for a slow machine.
	if median > 3*interval {
		t.Errorf("median lag %v is over 3 heartbeats", median)
	}
	e.indexTrue("after the load", ws)
}

// TestRemovedWorkerStopsAndRegistersAnew: DELETE /nodes removes a worker
// from the membership (404 after), its entries leave the index, the running
// worker stops serving, and started again it registers anew and announces
// its holding.
func TestRemovedWorkerStopsAndRegistersAnew(t *testing.T) {
	t.Parallel()
	e, ws := smallCluster(t, 2, 256)
	ctx := context.Background()
	for i := range 20 {
		e.put(fmt.Sprintf("r/f%02d", i), page)
	}
	if j := e.loadPaths("r", "/data/r"); j.State != "SUCCEEDED" {
		t.Fatalf("load: %+v", j)
	}
	e.indexTrue("after the load", ws)
	gone := ws[1]
	id := gone.Worker.ID()
	if _, err := e.c.RemoveNode(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Node(ctx, id); !client.IsNotFound(err) {
		t.Fatalf("GET a removed worker: %v, want 404", err)
	}
	if _, err := e.c.RemoveNode(ctx, id); !client.IsNotFound(err) {
		t.Fatalf("DELETE a removed worker again: %v, want 404", err)
	}
	if n := len(e.heldByIndex()[id]); n != 0 {
		t.Fatalf("the index still lists %d files of the removed worker", n)
	}
	e.eventually("the removed worker stops", gone.Worker.Removed)
	resp, err := http.Get(gone.URL + api.PathWorkerDataRoot + "/data/r/f00?local=true")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a read from the removed worker: %d, want 503", resp.StatusCode)
	}
	// Started again on its data dir: a member again, with its holding.
	dir := gone.Worker.DataDir()
	gone.Close()
	back := e.startWorkerWith(func(c *worker.Config) { c.DataDir, c.CapacityBytes = dir, 256*page })
	if back.Worker.ID() != id {
		t.Fatalf("the restarted worker is %s, want %s", back.Worker.ID(), id)
	}
	e.eventually("the worker registers anew", func() bool {
		n, err := e.c.Node(ctx, id)
		return err == nil && n.State == "LIVE"
	})
	e.indexTrue("after the worker came back", []*workernode.Node{ws[0], back})
	if n := len(e.heldByIndex()[id]); n == 0 {
		t.Fatal("the worker came back with its cache, but the index lists none of it")
	}
}
