package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/workernode"
)

// Killing the leader in the middle of a load: the new leader resumes the
// job from its committed cursor, the job succeeds, nothing is missing, and
// at most about one batch per worker is loaded twice.
func TestLoadSurvivesTheLeader(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	ctx := context.Background()
	const files = 300
	for i := range files {
		e.put(fmt.Sprintf("big/f%04d", i), page)
	}
	bs := 5
	if _, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/big"}, Alias: "big",
		Options: &api.LoadOptions{BatchSize: &bs}}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the load makes progress", func() bool {
		j, err := e.c.LoadJob(ctx, client.ByAlias("big"))
		return err == nil && j.ScannedFiles >= 50
	})
	e.tc.Stop(e.tc.Leader())
	j := e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias("big")) })
	if j.State != "SUCCEEDED" || j.ScannedFiles < files || j.FailedFiles != 0 {
		t.Fatalf("after a leader kill: %+v", j)
	}
	var pageIns int64
	for i := range files {
		p := fmt.Sprintf("/data/big/f%04d", i)
		held := false
		for _, w := range ws {
			if st, ok := w.Worker.Cache().Stat(p); ok && st.Complete() {
				held = true
			}
		}
		if !held {
			t.Fatalf("%s is cached nowhere after the job succeeded", p)
		}
	}
	for _, w := range ws {
		pageIns += w.Worker.Cache().Stats().PageIns
	}
	// A page of the job that the old leader sent but did not commit is sent
	// again; the workers find those files cached and skip them, so page-ins
	// stay at one per file (plus, at most, the batch in flight).
	if pageIns > files+int64(bs*len(ws)) {
		t.Fatalf("%d page-ins for %d one-page files: more than one batch per worker loaded twice", pageIns, files)
	}
	t.Logf("%d files, %d page-ins, %d scanned (re-sent: %d)", files, pageIns, j.ScannedFiles, j.ScannedFiles-files)
}

// Stop, then resume: the job continues from its cursor and scans every
// file once.
func TestStopThenResumeContinuesFromTheCursor(t *testing.T) {
	t.Parallel()
	e, _ := cluster3(t)
	ctx := context.Background()
	const files = 200
	for i := range files {
		e.put(fmt.Sprintf("res/f%04d", i), 100)
	}
	// 2,000 bytes a second per worker: the job takes seconds, and is
	// stopped in the middle.
	bs, bw := 5, api.Size(2000)
	req := api.LoadRequest{Paths: []string{"/data/res"}, Alias: "res", Options: &api.LoadOptions{BatchSize: &bs, Bandwidth: &bw}}
	if _, err := e.c.SubmitLoad(ctx, req); err != nil {
		t.Fatal(err)
	}
	e.eventually("the load makes progress", func() bool {
		j, err := e.c.LoadJob(ctx, client.ByAlias("res"))
		return err == nil && j.ScannedFiles >= 20
	})
	stopped, err := e.c.StopLoad(ctx, client.ByAlias("res"))
	if err != nil || stopped.State != "STOPPED" {
		t.Fatalf("stop: %+v %v", stopped, err)
	}
	at := e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias("res")) })
	if at.ScannedFiles >= files {
		t.Skipf("the job finished (%d files) before it could be stopped", at.ScannedFiles)
	}
	if _, err := e.c.SubmitLoad(ctx, req); !client.IsConflict(err) || client.ConflictID(err) != at.ID {
		t.Fatalf("resume: %v", err)
	}
	j := e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias("res")) })
	if j.State != "SUCCEEDED" || j.ScannedFiles != files || j.LoadedFiles != files {
		t.Fatalf("after resume: %+v (stopped at %d scanned)", j, at.ScannedFiles)
	}
}

// A worker lost in the middle of a load does not fail the job: its files
// go to their new owners once it is LOST, and every file ends up cached.
func TestLoadSurvivesALostWorker(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	ctx := context.Background()
	const files = 120
	for i := range files {
		e.put(fmt.Sprintf("lw/f%04d", i), page)
	}
	// 16 pages a second per worker: the job outlives the worker.
	bs, bw := 10, api.Size(16*page)
	if _, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/lw"}, Alias: "lw",
		Options: &api.LoadOptions{BatchSize: &bs, Bandwidth: &bw}}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the load makes progress", func() bool {
		j, err := e.c.LoadJob(ctx, client.ByAlias("lw"))
		return err == nil && j.ScannedFiles >= 20
	})
	ws[0].Close()
	j := e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias("lw")) })
	if j.State != "SUCCEEDED" || j.FailedFiles != 0 || j.ScannedFiles != files {
		t.Fatalf("after a worker was lost: %+v", j)
	}
	// Files the lost worker had cached before it went count as loaded
	// (the UFS still has them); every other file is on a live worker.
	for i := range files {
		p := fmt.Sprintf("/data/lw/f%04d", i)
		if !cachedOn(ws[0], p) && !cachedOn(ws[1], p) && !cachedOn(ws[2], p) {
			t.Fatalf("%s is cached nowhere", p)
		}
	}
}

func cachedOn(w *workernode.Node, p string) bool {
	st, ok := w.Worker.Cache().Stat(p)
	return ok && st.Complete()
}
