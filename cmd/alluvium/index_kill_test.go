package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
)

// TestFileIndexTrueAfterAWorkerKill9: separate processes; a paced load into
// workers too small for it, so that they evict while it runs; one worker
// is killed with SIGKILL in the middle and started again on its data dir.
// Whatever the dead worker had not reported, and whatever it finds on its
// disk when it comes back, the file index ends up listing exactly what each
// worker holds.
func TestFileIndexTrueAfterAWorkerKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	ufsDir := t.TempDir()
	const files, size = 160, 8 << 10
	for i := range files {
		name := filepath.Join(ufsDir, fmt.Sprintf("d%d/f%03d", i%4, i))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, make([]byte, size+i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Each worker caches 40 of the 160 files at most.
	c := startProcCluster(t, t.TempDir(), ufsDir, 2, []string{"--worker-timeout", "3s"},
		[]string{"--cache-size", "360KiB", "--memory-size", "0", "--page-size", "4KiB"})
	// 160 files of 8 KiB at 64 KiB/s per worker, two replicas: about 20 s.
	waitWrites(t, &cluster3{}, c.coordURLs, "/api/v1/load",
		`{"paths":["/data"],"alias":"kill","options":{"replicas":2,"batchSize":8,"bandwidth":"64KiB"}}`)
	eventually(t, "the load is under way with evictions", 60*time.Second, func() bool {
		j, ok := c.loadJob("kill")
		return ok && j.ScannedFiles >= 60
	})
	c.workers[0].kill9()
	c.workers[0].start(t)
	c.waitWorkerUp(t, 0, 30*time.Second)
	eventually(t, "the load ends", 120*time.Second, func() bool {
		j, ok := c.loadJob("kill")
		return ok && j.State != "WAITING" && j.State != "RUNNING"
	})
	var diff string
	eventually(t, "the file index matches the workers' holdings", 30*time.Second, func() bool {
		diff = indexDiff(t, c)
		return diff == ""
	})
	if held := len(workerHolding(t, c.workerURLs[0])); held == 0 {
		t.Fatal("the restarted worker holds nothing: the test proves little")
	}
}

// workerHolding lists the files a worker holds whole, from its cached-files API.
func workerHolding(t *testing.T, base string) []string {
	t.Helper()
	var held []string
	last := ""
	for {
		var page api.CachedFiles
		q := url.Values{"count": {"1000"}, "lastKey": {last}}
		if code, _, err := getJSON(base+api.PathCachedFiles+"?"+q.Encode(), &page); err != nil || code != http.StatusOK {
			t.Fatalf("cached files of %s: %d %v", base, code, err)
		}
		for _, f := range page.Results {
			if f.Complete {
				held = append(held, f.Path)
			}
		}
		if page.NextKey == "" {
			return held
		}
		last = page.NextKey
	}
}

// indexDiff says how the file index differs from what the workers hold ("" when
// it does not).
func indexDiff(t *testing.T, c *chaosCluster) string {
	t.Helper()
	claims := map[string][]string{}
	last := ""
	for {
		var idx api.FileIndex
		q := url.Values{"count": {"1000"}, "lastKey": {last}}
		if code, _, err := getJSON(c.coordURLs[0]+"/api/v1/file_index?"+q.Encode(), &idx); err != nil || code != http.StatusOK {
			return fmt.Sprintf("file index: %d %v", code, err)
		}
		for _, e := range idx.Results {
			for _, w := range e.Workers {
				claims[w] = append(claims[w], e.Path)
			}
		}
		if idx.NextKey == "" {
			break
		}
		last = idx.NextKey
	}
	var b strings.Builder
	for i, base := range c.workerURLs {
		held := workerHolding(t, base)
		slices.Sort(held)
		got := claims[c.workerIDs[i]]
		slices.Sort(got)
		if !slices.Equal(held, got) {
			fmt.Fprintf(&b, "%s holds %d files, the index claims %d; ", c.workers[i].name, len(held), len(got))
		}
	}
	return b.String()
}
