package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/worker"
)

// BenchmarkEvictionReports measures what keeping the file index true costs
// the Raft log: three workers (1 s heartbeats) each read new files through
// a cache of 16 pages at about 333 files a second, so that the cluster
// evicts about 1,000 files a second; the benchmark counts the
// FileIndexReport commands the leader commits and their size.
//
//	go test -run '^$' -bench EvictionReports -benchtime 1x ./internal/e2e/
//
// Each b.N is 5 s of that load.
func BenchmarkEvictionReports(b *testing.B) {
	tc := startCluster(b)
	var urls []string
	for _, m := range tc.Nodes {
		urls = append(urls, m.URL())
	}
	ufs := b.TempDir()
	const perWorker, files = 333, 6000
	for i := range files {
		writeFile(b, ufs, fmt.Sprintf("e/f%05d", i), page)
	}
	var ws []*workernode.Node
	for range 3 {
		cfg := worker.DefaultConfig()
		cfg.DataDir, cfg.Coordinators = b.TempDir(), urls
		cfg.PageSize, cfg.MemoryBytes, cfg.CapacityBytes = page, 0, 16*page
		n, err := workernode.Start(cfg, nil, "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { n.Close() })
		ws = append(ws, n)
	}
	leader := tc.Nodes[tc.Leader()].Node.Coordinator
	var commits, events atomic.Int64
	leader.ObserveApply(func(ct fsm.CommandType, _ time.Duration, err error) {
		if ct == fsm.CmdFileIndexReport && err == nil {
			commits.Add(1)
		}
	})
	mountData(b, urls, ufs, ws)
	ctx := context.Background()
	evictions := func() int64 {
		var n int64
		for _, w := range ws {
			n += w.Worker.Cache().Stats().Evictions["capacity"]
		}
		return n
	}
	b.ResetTimer()
	start, ev0, c0 := time.Now(), evictions(), commits.Load()
	for range b.N {
		var wg sync.WaitGroup
		for wi, w := range ws {
			wg.Go(func() {
				tick := time.NewTicker(time.Second / perWorker)
				defer tick.Stop()
				for i := range 5 * perWorker {
					<-tick.C
					f := fmt.Sprintf("/data/e/f%05d", (wi*2000+i)%files)
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.URL+"/api/v1/data"+f+"?local=true", nil)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	// The last heartbeats: until the index has applied every change the
	// workers made.
	deadline := time.Now().Add(20 * time.Second)
	for _, w := range ws {
		h := w.Worker.Cache().HoldingOf("/")
		for st := leader.FSM().Holding(w.Worker.ID()); st.Epoch != h.Epoch || st.Seq < h.Seq; st = leader.FSM().Holding(w.Worker.ID()) {
			if time.Now().After(deadline) {
				b.Fatalf("%s: change %d never reached the index", w.Worker.ID(), h.Seq)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	ev, c := evictions()-ev0, commits.Load()-c0
	for _, w := range ws {
		events.Add(int64(leader.FSM().Holding(w.Worker.ID()).Seq))
	}
	b.ReportMetric(float64(ev)/elapsed.Seconds(), "evictions/s")
	b.ReportMetric(float64(c)/elapsed.Seconds(), "commits/s")
	b.ReportMetric(float64(events.Load())/float64(max(commits.Load(), 1)), "events/commit")
}

func writeFile(tb testing.TB, dir, name string, size int) {
	tb.Helper()
	full := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(full, make([]byte, size), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// mountData mounts dir at /data and waits until every worker enforces it.
func mountData(tb testing.TB, urls []string, dir string, ws []*workernode.Node) {
	tb.Helper()
	c, err := client.New(urls)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ns, err := c.Nodes(ctx)
		if err == nil && len(ns.Results) == len(ws) {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the workers did not register: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := c.AddMount(ctx, api.Mount{Path: "/data", UFS: "file://" + dir}); err != nil {
		tb.Fatal(err)
	}
	for _, w := range ws {
		for len(w.Worker.Policies().Mounts) == 0 {
			if time.Now().After(deadline) {
				tb.Fatal("a worker did not get the mount")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
