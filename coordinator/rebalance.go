package coordinator

import (
	"context"
	"slices"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
)

// A rebalance job walks the global file index (the record of what is cached
// where) in pages of loadBatchSize entries, in path order; the cursor is the
// last path of the last committed page. For each file of a page:
//
//   - a file that no worker holds is left alone: a rebalance moves cached
//     data, it never caches what nobody holds (a free, or evictions, took
//     it away);
//   - holders that are off the ring (decommissioned, or LOST on a dynamic
//     ring) are not contacted and do not count as copies; the index keeps
//     them, since a LOST worker that comes back still holds its data (its
//     own reports say when it does not);
//   - the file keeps its replication degree n: the replicas its last load
//     asked for (recorded in the index), or, for entries without it, the
//     number of holders it had (at least 1, at most the ring's size); its
//     owners are the n owners on the current ring;
//   - each owner (the target only, unless ALL) that does not hold the file
//     loads it from a live holder (a peer), else from the UFS;
//   - unless skipPrune, each live holder (the target only, unless ALL) that
//     is not an owner drops it, but only once every owner holds it: the
//     last copy is never dropped.
//
// Load and prune run page by page, not in two passes over the whole index,
// and a page's counters are committed with the cursor, so a new leader
// redoes at most the pages in flight; with the recorded degree, a page
// redone after its loads but before its prunes still prunes.

// rebalanceAll is the target that rebalances every worker.
const rebalanceAll = "ALL"

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
		if err := s.update(ctx, j, fsm.UpdateJob{Delta: r.delta, Cursor: &pos, Failed: r.failed, Observed: r.observed}); err != nil {
			return ignoreGone(err)
		}
	}
	return s.end(ctx, j)
}

// rebalancePage loads and prunes one page of the file index.
func (s *scheduler) rebalancePage(ctx context.Context, j fsm.Job, entries []fsm.FileEntry) pageResult {
	rg, addr, err := s.liveRing()
	if err != nil {
		paths := make([]string, len(entries))
		for i, e := range entries {
			paths[i] = e.Path
		}
		d, failed := failAll(paths, err.Error())
		return pageResult{delta: d, failed: failed}
	}
	var observed []fsm.WorkerObservation
	var d fsm.JobCounters
	d.ScannedFiles = int64(len(entries))
	all := j.Target == rebalanceAll
	targeted := func(w string) bool { return all || w == j.Target }

	// Plan: find owners, the loads to send.
	live := map[string][]string{}   // path -> live holders
	owners := map[string][]string{} // path -> owners
	loads := map[string][]string{}  // owner -> paths to load
	size := map[string]int64{}
	for _, e := range entries {
		if len(e.Workers) == 0 {
			continue // nobody holds it: nothing to move
		}
		size[e.Path] = e.Size
		for _, h := range e.Workers {
			if rg.Has(h) {
				live[e.Path] = append(live[e.Path], h)
			}
		}
		n := e.Replicas // as the last load asked; else as many as hold it
		if n == 0 {
			n = len(e.Workers)
		}
		n = min(max(n, 1), rg.Len())
		owners[e.Path] = rg.Owners(e.Path, n)
		for _, o := range owners[e.Path] {
			if targeted(o) && !slices.Contains(live[e.Path], o) {
				loads[o] = append(loads[o], e.Path)
			}
		}
	}

	// Load.
	failedBy := map[string]string{}
	if len(loads) > 0 {
		// An owner reads a file from a live holder (a peer) before the UFS.
		peers := map[string][]string{}
		for p, holders := range live {
			for _, h := range holders {
				peers[p] = append(peers[p], addr[h])
			}
		}
		task := api.LoadTask{JobID: j.ID, SkipIfExists: true, BandwidthBytes: j.Options.LoadBandwidth}
		results := s.sendAll(ctx, loads, addr, func(paths []string) any {
			t := task
			t.Paths = paths
			for _, p := range paths {
				if len(peers[p]) > 0 {
					if t.Peers == nil {
						t.Peers = map[string][]string{}
					}
					t.Peers[p] = peers[p]
				}
			}
			return t
		}, "http://%s"+api.PathTaskLoad)
		for w, rs := range results {
			for _, r := range rs {
				if r.Error != "" {
					failedBy[r.Path] = r.Error
					continue
				}
				if !r.Skipped {
					d.LoadedFiles++
					d.LoadedBytes += r.Bytes
				}
				live[r.Path] = append(live[r.Path], w)
			}
		}
		observed = append(observed, observations(results, 0)...)
		for w, paths := range loads {
			answered := map[string]bool{}
			for _, r := range results[w] {
				answered[r.Path] = true
			}
			for _, p := range paths {
				if !answered[p] {
					if _, known := failedBy[p]; !known {
						failedBy[p] = "worker " + w + " did not answer"
					}
				}
			}
		}
	}

	// Prune: a live holder that is not an owner drops its copy once every
	// owner holds the file.
	if !j.Options.SkipPrune {
		prunes := map[string][]string{} // holder -> paths
		for _, e := range entries {
			hs := live[e.Path]
			complete := true
			for _, o := range owners[e.Path] {
				if !slices.Contains(hs, o) {
					complete = false
					break
				}
			}
			if !complete || len(owners[e.Path]) == 0 {
				continue
			}
			for _, h := range hs {
				if targeted(h) && !slices.Contains(owners[e.Path], h) {
					prunes[h] = append(prunes[h], e.Path)
				}
			}
		}
		if len(prunes) > 0 {
			start := time.Now()
			results := s.sendAll(ctx, prunes, addr, func(paths []string) any {
				return api.FreeTask{JobID: j.ID, Paths: paths}
			}, "http://%s"+api.PathTaskPrune)
			var most int64 // the most bytes a worker dropped
			for w, rs := range results {
				var bytes int64
				for _, r := range rs {
					if r.Error != "" {
						failedBy[r.Path] = "prune on " + w + ": " + r.Error
						continue
					}
					if !r.Skipped {
						d.PrunedFiles++
						d.PrunedBytes += r.Bytes
						bytes += r.Bytes
					}
				}
				most = max(most, bytes)
			}
			observed = append(observed, observations(results, 0)...)
			// pruneBandwidth paces each worker's drops: the next page waits
			// until the busiest worker is back under its rate.
			if bw := j.Options.PruneBandwidth; bw > 0 && most > 0 {
				wait := time.Duration(float64(most)/float64(bw)*float64(time.Second)) - time.Since(start)
				if wait > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(wait):
					}
				}
			}
		}
	}

	var failed []fsm.FailedFile
	for _, e := range entries {
		if reason, bad := failedBy[e.Path]; bad {
			d.FailedFiles++
			failed = append(failed, fsm.FailedFile{Path: e.Path, Reason: reason})
		}
	}
	return pageResult{delta: d, failed: failed, observed: observed}
}
