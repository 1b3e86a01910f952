package jobplan

import (
	"slices"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
)

// A rebalance page is a page of the global file index (the record of what
// is cached where). For each file of a page:
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

// RebalanceAll is the target that rebalances every worker.
const RebalanceAll = "ALL"

// Rebalance is the plan of one rebalance page and what came of it so far.
// PlanRebalance makes it; Loaded takes the owners' answers to Loads, then
// Prunes says what to drop and Pruned takes the answers; Outcome is what
// the page commits. Its methods decide only: they send nothing and change
// nothing but the plan.
type Rebalance struct {
	// Loads is the load task of each owner: the paths it lacks.
	Loads map[string][]string
	// Owners is each held file's owners on the ring (path -> owners).
	Owners map[string][]string
	// Live is each file's holders on the ring (path -> holders), with the
	// owners that loaded it once Loaded.
	Live map[string][]string
	// Peers is, per file, the addresses of its live holders, which an
	// owner reads it from before the UFS.
	Peers map[string][]string

	job      fsm.Job
	entries  []fsm.FileEntry
	out      Outcome
	failedBy map[string]string // path -> why it failed
}

// Degree is the number of copies a rebalance keeps of a file: the replicas
// its last load asked for, else as many as hold it, at least 1 and at most
// ringLen.
func Degree(e fsm.FileEntry, ringLen int) int {
	n := e.Replicas
	if n == 0 {
		n = len(e.Workers)
	}
	return min(max(n, 1), ringLen)
}

// PlanRebalance plans the loads of a page of the file index for job j
// (its Target and options) over the ring rg; addr is each member's address.
func PlanRebalance(j fsm.Job, rg Ring, addr map[string]string, entries []fsm.FileEntry) *Rebalance {
	r := &Rebalance{job: j, entries: entries, failedBy: map[string]string{},
		Loads: map[string][]string{}, Owners: map[string][]string{}, Live: map[string][]string{}, Peers: map[string][]string{}}
	r.out.Delta.ScannedFiles = int64(len(entries))
	for _, e := range entries {
		if len(e.Workers) == 0 {
			continue // nobody holds it: nothing to move
		}
		for _, h := range e.Workers {
			if rg.Has(h) {
				r.Live[e.Path] = append(r.Live[e.Path], h)
				r.Peers[e.Path] = append(r.Peers[e.Path], addr[h])
			}
		}
		r.Owners[e.Path] = rg.Owners(e.Path, Degree(e, rg.Len()))
		for _, o := range r.Owners[e.Path] {
			if r.targeted(o) && !slices.Contains(r.Live[e.Path], o) {
				r.Loads[o] = append(r.Loads[o], e.Path)
			}
		}
	}
	return r
}

func (r *Rebalance) targeted(w string) bool {
	return r.job.Target == RebalanceAll || w == r.job.Target
}

// LoadTask is the load task for paths: skip what the owner holds, read
// from a peer first, at the job's load bandwidth.
func (r *Rebalance) LoadTask(paths []string) api.LoadTask {
	t := api.LoadTask{JobID: r.job.ID, SkipIfExists: true, BandwidthBytes: r.job.Options.LoadBandwidth, Paths: paths}
	for _, p := range paths {
		if len(r.Peers[p]) > 0 {
			if t.Peers == nil {
				t.Peers = map[string][]string{}
			}
			t.Peers[p] = r.Peers[p]
		}
	}
	return t
}

// Loaded takes the owners' answers to Loads (worker -> answers): a file an
// owner loaded or held counts it as a live holder; one it failed, or did
// not answer for, fails.
func (r *Rebalance) Loaded(results map[string][]api.FileResult) {
	for _, w := range workers(results) {
		for _, fr := range results[w] {
			if fr.Error != "" {
				r.failedBy[fr.Path] = fr.Error
				continue
			}
			if !fr.Skipped {
				r.out.Delta.LoadedFiles++
				r.out.Delta.LoadedBytes += fr.Bytes
			}
			r.Live[fr.Path] = append(r.Live[fr.Path], w)
		}
	}
	r.out.Observed = append(r.out.Observed, Observations(results, 0)...)
	for _, w := range workers(r.Loads) {
		answered := map[string]bool{}
		for _, fr := range results[w] {
			answered[fr.Path] = true
		}
		for _, p := range r.Loads[w] {
			if _, known := r.failedBy[p]; !answered[p] && !known {
				r.failedBy[p] = "worker " + w + " did not answer"
			}
		}
	}
}

// Prunes is the prune task of each live holder that is not an owner of a
// file (the target only, unless ALL): holder -> paths. A file is pruned
// only once every owner holds it, so the last copy is never dropped; none
// with skipPrune.
func (r *Rebalance) Prunes() map[string][]string {
	prunes := map[string][]string{}
	if r.job.Options.SkipPrune {
		return prunes
	}
	for _, e := range r.entries {
		owners, holders := r.Owners[e.Path], r.Live[e.Path]
		if len(owners) == 0 || slices.ContainsFunc(owners, func(o string) bool { return !slices.Contains(holders, o) }) {
			continue
		}
		for _, h := range holders {
			if r.targeted(h) && !slices.Contains(owners, h) {
				prunes[h] = append(prunes[h], e.Path)
			}
		}
	}
	return prunes
}

// Pruned takes the holders' answers to Prunes and returns the most bytes
// one worker dropped (to pace the next page, see PruneWait).
func (r *Rebalance) Pruned(results map[string][]api.FileResult) (most int64) {
	for _, w := range workers(results) {
		var bytes int64
		for _, fr := range results[w] {
			if fr.Error != "" {
				r.failedBy[fr.Path] = "prune on " + w + ": " + fr.Error
				continue
			}
			if !fr.Skipped {
				r.out.Delta.PrunedFiles++
				r.out.Delta.PrunedBytes += fr.Bytes
				bytes += fr.Bytes
			}
		}
		most = max(most, bytes)
	}
	r.out.Observed = append(r.out.Observed, Observations(results, 0)...)
	return most
}

// Outcome is what the page did: its counters, its failed files in index
// order, and what the workers said they hold.
func (r *Rebalance) Outcome() Outcome {
	o := r.out
	o.Failed = nil
	o.Observed = slices.Clone(r.out.Observed)
	for _, e := range r.entries {
		if reason, bad := r.failedBy[e.Path]; bad {
			o.fail(e.Path, reason)
		}
	}
	return o
}

// PruneWait is how long the next page waits so that the busiest worker,
// which dropped most bytes in elapsed, stays under bandwidth bytes a
// second (0: no pacing).
func PruneWait(most, bandwidth int64, elapsed time.Duration) time.Duration {
	if bandwidth <= 0 || most <= 0 {
		return 0
	}
	return max(time.Duration(float64(most)/float64(bandwidth)*float64(time.Second))-elapsed, 0)
}
