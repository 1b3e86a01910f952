package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
)

// The verify pass finds a file that went missing on its owner after the
// load pass cached it, and loads it again.
func TestVerifyPassReloadsMissingFiles(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	ctx := context.Background()
	const files = 30
	for i := range files {
		e.put(fmt.Sprintf("v/f%02d", i), page)
	}
	// 8 pages a second per worker: the load pass takes over a second, long
	// enough to drop a file it has cached before the verify pass begins.
	bw, bs := api.Size(8*page), 5
	if _, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/v"}, Alias: "v",
		Options: &api.LoadOptions{Verify: true, Bandwidth: &bw, BatchSize: &bs}}); err != nil {
		t.Fatal(err)
	}
	var dropped string
	e.eventually("a file is cached", func() bool {
		for i := range files {
			p := fmt.Sprintf("/data/v/f%02d", i)
			for _, w := range ws {
				if st, ok := w.Worker.Cache().Stat(p); ok && st.Complete() {
					w.Worker.Cache().Free(p)
					dropped = p
					return true
				}
			}
		}
		return false
	})
	sawVerifying := false
	j := e.waitJob(func() (api.Job, error) {
		j, err := e.c.LoadJob(ctx, client.ByAlias("v"))
		sawVerifying = sawVerifying || j.State == "VERIFYING"
		return j, err
	})
	if j.State != "SUCCEEDED" || j.LoadedFiles != files || j.ReloadedFiles < 1 || j.FailedFiles != 0 {
		t.Fatalf("verify: %+v", j)
	}
	held := false
	for _, w := range ws {
		if st, ok := w.Worker.Cache().Stat(dropped); ok && st.Complete() {
			held = true
		}
	}
	if !held {
		t.Fatalf("%s was not loaded again by the verify pass", dropped)
	}
	t.Logf("dropped %s; verify reloaded %d files; VERIFYING seen: %v", dropped, j.ReloadedFiles, sawVerifying)
}

// A load over a quota that cannot hold it reports the quota (the job's
// tightest quota and quotaCheckError) and lists its failed files in the
// failed-file list on the leader.
func TestLoadReportsTheQuotaAndTheFailedFileList(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	ctx := context.Background()
	if _, err := e.c.SetQuota(ctx, "/data/q", 3*page); err != nil {
		t.Fatal(err)
	}
	// Every worker has its share of the quota, and the shares add up to
	// it: a worker that registered first may hold a budget computed for
	// fewer workers until it pulls the newer policies.
	e.eventually("every worker has its budget", func() bool {
		var sum int64
		for _, w := range ws {
			b, ok := w.Worker.Policies().Budgets["/data/q"]
			if !ok {
				return false
			}
			sum += b
		}
		return sum <= 3*page
	})
	// The quota is split among the three workers: a page each. A file of
	// two pages fits in no budget (a file that fits would evict the
	// quota's older files instead, which is how the quota is kept).
	for i := range 6 {
		e.put(fmt.Sprintf("q/f%02d", i), 2*page)
	}
	if _, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/q"}, Alias: "q"}); err != nil {
		t.Fatal(err)
	}
	j := e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias("q")) })
	if j.State != "FAILED" || j.FailedFiles != 6 || !strings.Contains(j.QuotaCheckError, "/data/q") {
		t.Fatalf("over quota: %+v", j)
	}
	if j.Quota == nil || j.Quota.TotalBytes != 3*page || j.Quota.Remaining < 0 || j.Quota.Remaining > 3*page {
		t.Fatalf("job quota: %+v", j.Quota)
	}
	// The leader's list names every failed file with its reason.
	list, err := os.ReadFile(j.FailedFileListPath)
	if err != nil {
		t.Fatalf("failed-file list %q: %v", j.FailedFileListPath, err)
	}
	lines := strings.Split(strings.TrimSpace(string(list)), "\n")
	if int64(len(lines)) != j.FailedFiles {
		t.Fatalf("failed-file list has %d lines for %d failed files:\n%s", len(lines), j.FailedFiles, list)
	}
	for _, l := range lines {
		path, reason, ok := strings.Cut(l, "\t")
		if !ok || !strings.HasPrefix(path, "/data/q/f") || reason == "" {
			t.Fatalf("failed-file list line %q", l)
		}
	}
}

// Freeing files that an offline worker holds fails without force and
// leaves the live copies; with force it frees the live copies.
func TestFreeWithAnOfflineHolderNeedsForce(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	ctx := context.Background()
	for i := range 6 {
		e.put(fmt.Sprintf("fr/f%d", i), page+i)
	}
	replicas := 3
	if _, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/fr"}, Alias: "fr",
		Options: &api.LoadOptions{Replicas: &replicas}}); err != nil {
		t.Fatal(err)
	}
	if j := e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias("fr")) }); j.State != "SUCCEEDED" {
		t.Fatalf("load: %+v", j)
	}
	gone := ws[2].Worker.ID()
	ws[2].Close()
	e.eventually(gone+" is LOST", func() bool {
		ns, err := e.c.Nodes(ctx)
		for _, n := range ns.Results {
			if n.ID == gone {
				return err == nil && n.State == "LOST"
			}
		}
		return false
	})
	if _, err := e.c.SubmitFree(ctx, api.FreeRequest{Paths: []string{"/data/fr"}, Alias: "fr"}); err != nil {
		t.Fatal(err)
	}
	f := e.waitJob(func() (api.Job, error) { return e.c.FreeJob(ctx, client.ByAlias("fr")) })
	if f.State != "FAILED" || f.FailedFiles != 6 || !strings.Contains(f.FailedFileSamples[0].Reason, gone) {
		t.Fatalf("free without force: %+v", f)
	}
	for _, w := range ws[:2] {
		if used := w.Worker.Cache().UsedBytesUnder("/data/fr"); used == 0 {
			t.Fatalf("%s lost its copies to a free that failed", w.Worker.ID())
		}
	}
	_, err := e.c.SubmitFree(ctx, api.FreeRequest{Paths: []string{"/data/fr"}, Alias: "fr", Options: &api.FreeOptions{Force: true}})
	if !client.IsConflict(err) {
		t.Fatalf("resubmit with force: %v", err)
	}
	f = e.waitJob(func() (api.Job, error) { return e.c.FreeJob(ctx, client.ByAlias("fr")) })
	if f.State != "SUCCEEDED" || f.FreedFiles != 6 || f.FailedFiles != 0 {
		t.Fatalf("free with force: %+v", f)
	}
	for _, w := range ws[:2] {
		if used := w.Worker.Cache().UsedBytesUnder("/data/fr"); used != 0 {
			t.Fatalf("%s still caches %d bytes after a forced free", w.Worker.ID(), used)
		}
	}
}
