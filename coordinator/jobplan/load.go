package jobplan

import (
	"fmt"
	"slices"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
)

// A load page goes to the owners of its files: each file to its `replicas`
// owners on the ring of the workers that can take work. A verify pass
// sends the same files to the same owners, asking each to load only what
// it does not hold whole; what it reloads is counted in ReloadedFiles.

// Replicas is the number of copies a load job asks for (at least one).
func Replicas(j fsm.Job) int { return max(j.Options.Replicas, 1) }

// Verifies reports whether a job whose first pass is done makes a verify
// pass: a load with verify, of data (not metadata only), none of whose
// files failed (failed is the job's count).
func Verifies(j fsm.Job, failed int64) bool {
	return failed == 0 && j.Options.Verify && j.Type == fsm.JobLoad && !j.Options.LoadMetadataOnly
}

// PlaceLoad assigns each file of a page to its replicas owners on rg:
// worker -> paths, in the page's order.
func PlaceLoad(rg Ring, files []File, replicas int) map[string][]string {
	byWorker := map[string][]string{}
	for _, f := range files {
		for _, w := range rg.Owners(f.Path, replicas) {
			byWorker[w] = append(byWorker[w], f.Path)
		}
	}
	return byWorker
}

// LoadTask is the task a load page sends (without its Paths, which are the
// worker's). A verify pass asks the owners to skip what they hold whole and
// load what they lack, whatever the job's own policy.
func LoadTask(j fsm.Job, verify bool) api.LoadTask {
	t := api.LoadTask{JobID: j.ID, SkipIfExists: j.Options.SkipIfExists, IfChanged: j.Options.LoadPolicy == "IF_CHANGED",
		LoadMetadataOnly: j.Options.LoadMetadataOnly, BandwidthBytes: j.Options.Bandwidth}
	if verify {
		t.SkipIfExists, t.IfChanged = true, false
	}
	return t
}

// Replace places again the files of the workers that could not be reached
// (unreachable: worker -> its files' last answers), once the ring rg has
// changed: each file goes to its replicas owners on rg, except the owners
// that answered for it already (answered: worker -> answers), and once per
// owner. An unreachable worker still on the ring gets its files back.
func Replace(rg Ring, unreachable, answered map[string][]api.FileResult, replicas int) map[string][]string {
	holds := map[string]map[string]bool{} // path -> workers that answered
	for w, rs := range answered {
		for _, r := range rs {
			if holds[r.Path] == nil {
				holds[r.Path] = map[string]bool{}
			}
			holds[r.Path][w] = true
		}
	}
	retry := map[string][]string{}
	for _, u := range workers(unreachable) {
		for _, r := range unreachable[u] {
			for _, w := range rg.Owners(r.Path, replicas) {
				if !holds[r.Path][w] && !slices.Contains(retry[w], r.Path) {
					retry[w] = append(retry[w], r.Path)
				}
			}
		}
	}
	return retry
}

// loadTally is what the replicas of one file did.
type loadTally struct {
	loaded, skipped int
	err             string
	quota           bool
}

// TallyLoad turns the owners' answers to a load page (worker -> answers)
// into its outcome. A file is
//
//   - failed when no owner answered for it, or when one failed it (with
//     that owner's reason; the last owner in id order when several did),
//     even if another loaded it; a file that did not fit under a quota
//     sets QuotaErr, for the first such file of the page;
//   - skipped when every owner that answered already held it;
//   - loaded (its listed size counted, and as non-empty when it is) when
//     some owner loaded it.
//
// A first pass counts every file scanned and its bytes in TotalBytes. A
// verify pass counts only failures, and in ReloadedFiles the files that
// some owner lacked and loaded. Observed records the held files with
// replicas copies.
func TallyLoad(st State, files []File, results map[string][]api.FileResult, replicas int, verify bool) Outcome {
	out := map[string]*loadTally{}
	for _, w := range workers(results) {
		for _, fr := range results[w] {
			t := out[fr.Path]
			if t == nil {
				t = &loadTally{}
				out[fr.Path] = t
			}
			switch {
			case fr.Error != "":
				t.err, t.quota = fr.Error, t.quota || fr.QuotaExceeded
			case fr.Skipped:
				t.skipped++
			default:
				t.loaded++
			}
		}
	}
	var o Outcome
	var v fsm.JobCounters // the verify pass's counters
	for _, f := range files {
		o.Delta.ScannedFiles++
		o.Delta.TotalBytes += f.Size
		t := out[f.Path]
		switch {
		case t == nil:
			o.fail(f.Path, "no worker answered")
		case t.err != "":
			o.fail(f.Path, t.err)
			if t.quota && o.QuotaErr == "" {
				o.QuotaErr = QuotaError(st.Quotas(), f.Path)
			}
		case t.loaded == 0:
			o.Delta.SkippedFiles++
			o.Delta.SkippedBytes += f.Size
		default:
			o.Delta.LoadedFiles++
			o.Delta.LoadedBytes += f.Size
			if f.Size > 0 {
				o.Delta.LoadedNonEmptyFiles++
			}
			v.ReloadedFiles++
		}
	}
	if verify {
		v.FailedFiles = o.Delta.FailedFiles
		o.Delta = v
	}
	o.Observed = Observations(results, replicas)
	return o
}

// QuotaError explains a file that did not fit under its quota: the first of
// quotas that contains it, else any.
func QuotaError(quotas []fsm.Quota, path string) string {
	for _, q := range quotas {
		if apath.Contains(q.Path, path) {
			return fmt.Sprintf("quota of %s (%s) is full: %s and possibly other files were not cached", q.Path, api.Size(q.QuotaBytes), path)
		}
	}
	return "a quota is full: " + path + " was not cached"
}
