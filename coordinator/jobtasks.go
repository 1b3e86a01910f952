package coordinator

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/ring"
)

// pageResult is what the workers did with a page of a load or free job.
type pageResult struct {
	delta    fsm.JobCounters
	failed   []fsm.FailedFile
	quotaErr string
	// observed is what the workers said they hold once done: committed
	// with the page's progress, in one command.
	observed []fsm.WorkerObservation
}

// dispatch sends a page of files to the workers and returns the counters.
// In a verify pass only failures count: the files were counted by the
// pass before, and those found missing are counted in ReloadedFiles.
func (s *scheduler) dispatch(ctx context.Context, j fsm.Job, files []file, verify bool) pageResult {
	rg, addr, err := s.liveRing()
	if err != nil {
		paths := make([]string, len(files))
		for i, f := range files {
			paths[i] = f.path
		}
		d, failed := failAll(paths, err.Error())
		if verify {
			d = fsm.JobCounters{FailedFiles: d.FailedFiles}
		}
		return pageResult{delta: d, failed: failed}
	}
	if j.Type == fsm.JobFree {
		return s.free(ctx, j, files, rg, addr)
	}
	return s.load(ctx, j, files, rg, addr, verify)
}

// outcome is what the replicas of one file did.
type outcome struct {
	loaded, skipped int
	bytes           int64
	err             string
	quota           bool
}

func (s *scheduler) load(ctx context.Context, j fsm.Job, files []file, rg *ring.Ring, addr map[string]string, verify bool) pageResult {
	replicas := max(j.Options.Replicas, 1)
	byWorker := map[string][]string{}
	size := map[string]int64{}
	var r pageResult
	r.delta.ScannedFiles = int64(len(files))
	for _, f := range files {
		size[f.path] = f.size
		r.delta.TotalBytes += f.size
		for _, w := range rg.Owners(f.path, replicas) {
			byWorker[w] = append(byWorker[w], f.path)
		}
	}
	task := api.LoadTask{JobID: j.ID, SkipIfExists: j.Options.SkipIfExists, IfChanged: j.Options.LoadPolicy == "IF_CHANGED",
		LoadMetadataOnly: j.Options.LoadMetadataOnly, BandwidthBytes: j.Options.Bandwidth}
	if verify { // what an owner holds whole is skipped; what it lacks, loaded
		task.SkipIfExists, task.IfChanged = true, false
	}
	results := s.loadOnOwners(ctx, byWorker, addr, replicas, func(paths []string) any {
		t := task
		t.Paths = paths
		return t
	})

	out := map[string]*outcome{}
	for _, rs := range results {
		for _, fr := range rs {
			o := out[fr.Path]
			if o == nil {
				o = &outcome{}
				out[fr.Path] = o
			}
			switch {
			case fr.Error != "":
				o.err, o.quota = fr.Error, o.quota || fr.QuotaExceeded
			case fr.Skipped:
				o.skipped++
			default:
				o.loaded++
				o.bytes = max(o.bytes, fr.Bytes)
			}
		}
	}
	var v fsm.JobCounters // the verify pass's counters
	for _, f := range files {
		o := out[f.path]
		switch {
		case o == nil:
			r.delta.FailedFiles++
			r.failed = append(r.failed, fsm.FailedFile{Path: f.path, Reason: "no worker answered"})
		case o.err != "":
			r.delta.FailedFiles++
			r.failed = append(r.failed, fsm.FailedFile{Path: f.path, Reason: o.err})
			if o.quota && r.quotaErr == "" {
				r.quotaErr = s.quotaError(f.path)
			}
		case o.loaded == 0:
			r.delta.SkippedFiles++
			r.delta.SkippedBytes += f.size
		default:
			r.delta.LoadedFiles++
			r.delta.LoadedBytes += f.size
			if f.size > 0 {
				r.delta.LoadedNonEmptyFiles++
			}
			v.ReloadedFiles++
		}
	}
	if verify {
		v.FailedFiles = r.delta.FailedFiles
		r.delta = v
	}
	r.observed = observations(results, replicas)
	return r
}

// observations turns the workers' answers into what the file index learns
// with the page (see fsm/holdings.go): for every file a worker reported on,
// whether it holds it whole, as of which of its holding changes. Answers
// without a change number (from a worker that has not reported its holding
// yet) teach nothing. Workers and files keep their order, so the command is
// the same whatever order the answers came in.
func observations(results map[string][]api.FileResult, replicas int) []fsm.WorkerObservation {
	var out []fsm.WorkerObservation
	for _, w := range slices.Sorted(maps.Keys(results)) {
		byEpoch := map[uint64][]fsm.ObservedFile{}
		for _, fr := range results[w] {
			if fr.HoldSeq == 0 || fr.HoldEpoch == 0 {
				continue
			}
			of := fsm.ObservedFile{Path: fr.Path, Seq: fr.HoldSeq, Held: fr.Held}
			if fr.Held {
				of.Size, of.Replicas = fr.Size, replicas
			}
			byEpoch[fr.HoldEpoch] = append(byEpoch[fr.HoldEpoch], of)
		}
		for _, e := range slices.Sorted(maps.Keys(byEpoch)) {
			files := byEpoch[e]
			slices.SortStableFunc(files, func(a, b fsm.ObservedFile) int { return strings.Compare(a.Path, b.Path) })
			out = append(out, fsm.WorkerObservation{Worker: w, Epoch: e, Files: files})
		}
	}
	return out
}

// loadOnOwners sends load tasks and returns every worker's results. The
// files of a worker that cannot be reached are not failed at once: a worker
// that died is LOST once its heartbeats stop, and its files then go to
// their new owners on the ring (or to the worker itself, back). Only files
// still unplaced after three worker timeouts fail.
func (s *scheduler) loadOnOwners(ctx context.Context, byWorker map[string][]string, addr map[string]string,
	replicas int, task func([]string) any) map[string][]api.FileResult {
	results, unreachable := s.send(ctx, byWorker, addr, task, "http://%s"+api.PathTaskLoad)
	deadline := time.Now().Add(3 * s.c.cfg.WorkerTimeout)
	for len(unreachable) > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return results
		case <-time.After(min(s.c.cfg.WorkerTimeout/4, time.Second)):
		}
		rg, addrNow, err := s.liveRing()
		if err != nil {
			continue
		}
		holds := map[string]map[string]bool{} // path -> workers that answered
		for w, rs := range results {
			for _, r := range rs {
				if holds[r.Path] == nil {
					holds[r.Path] = map[string]bool{}
				}
				holds[r.Path][w] = true
			}
		}
		retry := map[string][]string{}
		for _, rs := range unreachable {
			for _, r := range rs {
				for _, w := range rg.Owners(r.Path, replicas) {
					if !holds[r.Path][w] && !slices.Contains(retry[w], r.Path) {
						retry[w] = append(retry[w], r.Path)
					}
				}
			}
		}
		var again map[string][]api.FileResult
		results2, again := s.send(ctx, retry, addrNow, task, "http://%s"+api.PathTaskLoad)
		for w, rs := range results2 {
			results[w] = append(results[w], rs...)
		}
		unreachable = again
	}
	for w, rs := range unreachable {
		results[w] = append(results[w], rs...)
	}
	return results
}

// quotaError explains a file that did not fit under its quota.
func (s *scheduler) quotaError(path string) string {
	for _, q := range s.c.fsm.Quotas() {
		if apath.Contains(q.Path, path) {
			return fmt.Sprintf("quota of %s (%s) is full: %s and possibly other files were not cached", q.Path, api.Size(q.QuotaBytes), path)
		}
	}
	return "a quota is full: " + path + " was not cached"
}

// free frees a page of files on every live worker (every holder, not only
// the owners: a ring change may have left copies anywhere). A file that the
// file index says an offline worker holds fails, unless the job forces it:
// then its live copies are freed and the offline one stays listed.
func (s *scheduler) free(ctx context.Context, j fsm.Job, files []file, rg *ring.Ring, addr map[string]string) pageResult {
	var r pageResult
	r.delta.ScannedFiles = int64(len(files))
	live := rg.Members()
	var paths []string
	for _, f := range files {
		if off := s.offlineHolders(f.path, live); len(off) > 0 && !j.Options.Force {
			r.delta.FailedFiles++
			r.failed = append(r.failed, fsm.FailedFile{Path: f.path,
				Reason: "held by offline worker " + strings.Join(off, ", ") + " (free with force to free the live copies)"})
			continue
		}
		paths = append(paths, f.path)
	}
	if len(paths) == 0 {
		return r
	}
	byWorker := map[string][]string{}
	for _, w := range live {
		byWorker[w] = paths
	}
	results := s.sendAll(ctx, byWorker, addr, func(paths []string) any {
		return api.FreeTask{JobID: j.ID, Paths: paths}
	}, "http://%s"+api.PathTaskFree)
	freed := map[string]int64{}
	errs := map[string]string{}
	for _, rs := range results {
		for _, fr := range rs {
			if fr.Error != "" {
				errs[fr.Path] = fr.Error
				continue
			}
			freed[fr.Path] += fr.Bytes
		}
	}
	// Every file that did not fail counts as freed: no live worker caches
	// it any more, whether some did (an empty file holds no bytes) or
	// none, so that a free's processed files add up to its scanned ones.
	for _, p := range paths {
		if e, bad := errs[p]; bad {
			r.delta.FailedFiles++
			r.failed = append(r.failed, fsm.FailedFile{Path: p, Reason: e})
			continue
		}
		r.delta.FreedFiles++
		r.delta.FreedBytes += freed[p]
	}
	r.observed = observations(results, 0)
	return r
}

// offlineHolders lists the holders of path in the file index that are not
// live (sorted, as the index keeps them).
func (s *scheduler) offlineHolders(path string, live []string) []string {
	e, ok := s.c.fsm.FileIndexGet(path)
	if !ok {
		return nil
	}
	var off []string
	for _, w := range e.Workers {
		if !slices.Contains(live, w) {
			off = append(off, w)
		}
	}
	return off
}
