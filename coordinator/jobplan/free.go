package jobplan

import (
	"slices"
	"strings"

	"github.com/alluvium/alluvium/api"
)

// FreePlan is what a free page sends where.
type FreePlan struct {
	// Send is the free task of each worker: every live worker (every
	// holder, not only the owners: a ring change may have left copies
	// anywhere) frees the same Paths.
	Send map[string][]string
	// Paths are the files sent, in the page's order.
	Paths []string
	// Outcome counts the page's files scanned, and failed those that an
	// offline worker holds (unless forced).
	Outcome Outcome
}

// PlanFree plans a free page over the live workers of rg. A file that the
// file index says an offline worker (one off the ring) holds fails, unless
// force: then its live copies are freed and the offline one stays listed.
func PlanFree(st State, rg Ring, files []File, force bool) FreePlan {
	var p FreePlan
	p.Outcome.Delta.ScannedFiles = int64(len(files))
	for _, f := range files {
		if off := offlineHolders(st, rg, f.Path); len(off) > 0 && !force {
			p.Outcome.fail(f.Path, "held by offline worker "+strings.Join(off, ", ")+" (free with force to free the live copies)")
			continue
		}
		p.Paths = append(p.Paths, f.Path)
	}
	if len(p.Paths) == 0 {
		return p
	}
	p.Send = map[string][]string{}
	for _, w := range rg.Members() {
		p.Send[w] = p.Paths
	}
	return p
}

// offlineHolders lists the holders of path in the file index that are not
// on the ring (sorted, as the index keeps them).
func offlineHolders(st State, rg Ring, path string) []string {
	e, ok := st.FileIndexGet(path)
	if !ok {
		return nil
	}
	var off []string
	for _, w := range e.Workers {
		if !rg.Has(w) {
			off = append(off, w)
		}
	}
	return off
}

// TallyFree turns the workers' answers to a free page (worker -> answers)
// into its outcome. A file fails when a worker failed it (the last in id
// order that did gives the reason). Every other file sent counts as freed,
// with the bytes the workers freed: no live worker caches it any more,
// whether some did (an empty file holds no bytes) or none, so that a
// free's processed files add up to its scanned ones.
func TallyFree(p FreePlan, results map[string][]api.FileResult) Outcome {
	o := p.Outcome
	o.Failed = slices.Clone(o.Failed) // the plan's own stays as it was
	freed := map[string]int64{}
	errs := map[string]string{}
	for _, w := range workers(results) {
		for _, fr := range results[w] {
			if fr.Error != "" {
				errs[fr.Path] = fr.Error
				continue
			}
			freed[fr.Path] += fr.Bytes
		}
	}
	for _, path := range p.Paths {
		if e, bad := errs[path]; bad {
			o.fail(path, e)
			continue
		}
		o.Delta.FreedFiles++
		o.Delta.FreedBytes += freed[path]
	}
	o.Observed = Observations(results, 0)
	return o
}
