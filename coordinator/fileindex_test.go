package coordinator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/internal/testcluster"
)

// TestFileIndexCeiling: the leader replicates its configured ceiling, and
// past it the API still adds what fits and answers that the index is
// partial, on every node.
func TestFileIndexCeiling(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, 3, testcluster.Options{Coordinator: func(cfg *coordinator.Config) { cfg.FileIndexMaxEntries = 3 }})
	leader := c.Nodes[c.Leader()]
	c.WaitPublished()
	for _, m := range c.Nodes { // what the leader asks before it proposes the ceiling
		resp, body := do(t, http.MethodGet, m.URL()+"/api/v1/health", nil)
		var h api.Health
		if err := json.Unmarshal(body, &h); err != nil || h.CommandLevel != fsm.CommandLevel {
			t.Fatalf("health of %s: %d %s, want commandLevel %d", m.ID, resp.StatusCode, body, fsm.CommandLevel)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for leader.Node.Coordinator.FileIndexStatus().Limit != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the leader did not replicate its ceiling: %+v", leader.Node.Coordinator.FileIndexStatus())
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, body := do(t, http.MethodPost, leader.URL()+"/api/v1/file_index", api.FileIndexRequest{Paths: []string{"/d/a", "/d/b", "/d/c", "/d/d", "/d/e"}})
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"added":3}` {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	for _, m := range c.Nodes {
		resp, body := do(t, http.MethodGet, m.URL()+"/api/v1/file_index", nil)
		var fi api.FileIndex
		if err := json.Unmarshal(body, &fi); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET on %s: %d %s", m.ID, resp.StatusCode, body)
		}
		if !fi.Partial || fi.Entries != 3 || fi.Limit != 3 || len(fi.Results) != 3 {
			t.Fatalf("GET on %s: %s, want 3 entries of a partial index with a ceiling of 3", m.ID, body)
		}
	}
}

// BenchmarkFileIndexPage times GET /api/v1/file_index?count=1000 through
// real HTTP on loopback (request, JSON encoding, reading the body) on a
// one-node cluster whose index holds ALLUVIUM_BENCH_ENTRIES entries
// (1,000,000 by default) of ImageNet-like paths, two holders each:
//
//	go test ./coordinator -run '^$' -bench FileIndexPage -benchtime 2000x
func BenchmarkFileIndexPage(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("ALLUVIUM_BENCH_ENTRIES"); s != "" {
		fmt.Sscan(s, &n)
	}
	c := testcluster.Start(b, 1, testcluster.Options{})
	co := c.Nodes[c.Leader()].Node.Coordinator
	ctx := context.Background()
	var keys []string
	imagenetPages(n, func(es []fsm.FileEntry) {
		if _, err := co.Apply(ctx, &fsm.FileIndexAdd{Entries: es}); err != nil {
			b.Fatal(err)
		}
		keys = append(keys, es[len(es)-1].Path)
	})
	base := c.Nodes[0].URL() + "/api/v1/file_index?count=1000&lastKey="
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		resp, err := http.Get(base + url.QueryEscape(keys[(i*7919)%(len(keys)-1)]))
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET: %d %v", resp.StatusCode, err)
		}
		lat = append(lat, time.Since(start))
		if i == 0 {
			b.ReportMetric(float64(len(body)), "body-bytes")
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}

// imagenetPages calls fn with the entries of n files, 1,000 at a time, in
// listing order, as fsm's BenchmarkFileIndexScale makes them.
func imagenetPages(n int, fn func([]fsm.FileEntry)) {
	const perClass = 1300
	holders := []string{"worker-3f1c9a52-7b4e-4d8a-9c61-2e5b8f0a1d47", "worker-8a0d6e13-52c9-4f7b-b1e4-6c3a9d2f5e80"}
	page := make([]fsm.FileEntry, 0, 1000)
	names := make([]string, perClass)
	for class := 0; n > 0; class++ {
		syn := fmt.Sprintf("n%08d", 1440764+class*37)
		for i := range names {
			names[i] = fmt.Sprintf("%s_%d.JPEG", syn, 10000+i*7)
		}
		slices.Sort(names)
		for _, name := range names[:min(perClass, n)] {
			page = append(page, fsm.FileEntry{Path: "/data/imagenet/train/" + syn + "/" + name,
				Size: int64(100_000 + len(page)*37), Replicas: 2, Workers: holders})
			if len(page) == cap(page) {
				fn(slices.Clone(page))
				page = page[:0]
			}
		}
		n -= min(perClass, n)
	}
	if len(page) > 0 {
		fn(page)
	}
}
