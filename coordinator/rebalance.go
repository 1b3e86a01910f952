package coordinator

import (
	"context"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/coordinator/jobplan"
	"github.com/alluvium/alluvium/fsm"
)

// A rebalance job walks the global file index in pages of loadBatchSize
// entries, in path order; the cursor is the last path of the last committed
// page. What a page loads and prunes is decided by jobplan.PlanRebalance
// (see coordinator/jobplan/rebalance.go for the rules: a file nobody holds
// is left alone, holders off the ring are not copies, the replica count
// comes from the index entry, the last copy is never dropped).
//
// Load and prune run page by page, not in two passes over the whole index,
// and a page's counters are committed with the cursor, so a new leader
// redoes at most the pages in flight; with the recorded degree, a page
// redone after its loads but before its prunes still prunes.

// rebalancePhase is the job's Phase while it runs.
const rebalancePhase = "load+prune"

func (s *scheduler) rebalance(ctx context.Context, j fsm.Job) error {
	if j.Phase != rebalancePhase {
		ph := rebalancePhase
		if err := s.update(ctx, j, fsm.UpdateJob{Phase: &ph}); err != nil {
			return ignoreGone(err)
		}
	}
	batch := max(j.Options.LoadBatchSize, 1)
	cur := j.Cursor
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, _ := s.c.fsm.FileIndexList("", cur, batch)
		if len(entries) == 0 {
			break
		}
		r := s.rebalancePage(ctx, j, entries)
		if ctx.Err() != nil {
			return ctx.Err() // do not commit a page that was cut short
		}
		cur = entries[len(entries)-1].Path
		pos := cur
		if err := s.update(ctx, j, fsm.UpdateJob{Delta: r.Delta, Cursor: &pos, Failed: r.Failed, Observed: r.Observed}); err != nil {
			return ignoreGone(err)
		}
	}
	return s.end(ctx, j)
}

// rebalancePage executes the plan of one page of the file index: the
// owners' loads, then the holders' prunes, paced by pruneBandwidth.
func (s *scheduler) rebalancePage(ctx context.Context, j fsm.Job, entries []fsm.FileEntry) jobplan.Outcome {
	rg, addr, err := s.liveRing()
	if err != nil {
		paths := make([]string, len(entries))
		for i, e := range entries {
			paths[i] = e.Path
		}
		return jobplan.FailPage(paths, err.Error(), false)
	}
	plan := jobplan.PlanRebalance(j, rg, addr, entries)
	if len(plan.Loads) > 0 {
		plan.Loaded(s.sendAll(ctx, plan.Loads, addr, func(ctx context.Context, addr string, paths []string) (api.TaskResult, error) {
			return s.c.http.tasks.Load(ctx, addr, plan.LoadTask(paths))
		}))
	}
	if prunes := plan.Prunes(); len(prunes) > 0 {
		start := time.Now()
		most := plan.Pruned(s.sendAll(ctx, prunes, addr, func(ctx context.Context, addr string, paths []string) (api.TaskResult, error) {
			return s.c.http.tasks.Prune(ctx, addr, api.FreeTask{JobID: j.ID, Paths: paths})
		}))
		// The next page waits until the busiest worker is back under its
		// prune rate.
		if wait := jobplan.PruneWait(most, j.Options.PruneBandwidth, time.Since(start)); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
	return plan.Outcome()
}
