package jobplan

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/ring"
)

// State is what the planner reads of the replicated state. *fsm.FSM
// satisfies it; tests use a map.
type State interface {
	// FileIndexGet returns the file index entry of a path.
	FileIndexGet(path string) (fsm.FileEntry, bool)
	// Quotas returns the quotas, to explain a file that did not fit.
	Quotas() []fsm.Quota
}

// Ring is the consistent-hash ring of the workers that can take work now.
// *ring.Ring satisfies it; tests use a ring whose owners they choose.
type Ring interface {
	// Owners returns up to n distinct owners of key, its primary first.
	Owners(key string, n int) []string
	// Members returns the members, sorted.
	Members() []string
	// Has reports whether id is a member.
	Has(id string) bool
	// Len is the number of members.
	Len() int
}

var _ Ring = (*ring.Ring)(nil)

// File is a file of a listing page.
type File struct {
	Path string // Alluxio path
	Size int64
}

// Outcome is what a page did: committed with the page's cursor in one
// fsm.UpdateJob (Delta, Failed, QuotaCheckError once per job, Observed).
type Outcome struct {
	Delta  fsm.JobCounters
	Failed []fsm.FailedFile
	// QuotaErr explains the first file that did not fit under its quota.
	QuotaErr string
	// Observed is what the workers said they hold once done (see
	// fsm/holdings.go): committed with the page's progress, in one command.
	Observed []fsm.WorkerObservation
}

// Add adds the outcome of another part of the page: counters add up,
// failed files and observations append, the first quota error stays.
func (o *Outcome) Add(p Outcome) {
	o.Delta.Add(p.Delta)
	o.Failed = append(o.Failed, p.Failed...)
	if o.QuotaErr == "" {
		o.QuotaErr = p.QuotaErr
	}
	o.Observed = append(o.Observed, p.Observed...)
}

// fail counts path as failed, for reason.
func (o *Outcome) fail(path, reason string) {
	o.Delta.FailedFiles++
	o.Failed = append(o.Failed, fsm.FailedFile{Path: path, Reason: reason})
}

// FailPage counts every file of a page as scanned and failed, for one
// reason (no live worker). In a verify pass only failures count: its files
// were scanned by the pass before.
func FailPage(paths []string, reason string, verify bool) Outcome {
	var o Outcome
	for _, p := range paths {
		o.fail(p, reason)
	}
	if !verify {
		o.Delta.ScannedFiles = int64(len(paths))
	}
	return o
}

// ListFailed is the outcome of a root that cannot be listed: it fails as a
// file would (it was never scanned).
func ListFailed(root string, err error) Outcome {
	var o Outcome
	o.fail(root, err.Error())
	return o
}

// Filter keeps the files whose path matches re (all of them when re is nil).
func Filter(files []File, re *regexp.Regexp) []File {
	var kept []File
	for _, f := range files {
		if re == nil || re.MatchString(f.Path) {
			kept = append(kept, f)
		}
	}
	return kept
}

// Paths returns the paths of files.
func Paths(files []File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

// Observations turns the workers' answers (worker -> its answers) into
// what the file index learns with the page (see fsm/holdings.go): for
// every file a worker reported on, whether it holds it whole, as of which
// of its holding changes. A held file records replicas, the copies its
// load asked for (0: unchanged). Answers without a change number (from a
// worker that has not reported its holding yet) teach nothing. Workers and
// files keep their order, so the command is the same whatever order the
// answers came in.
func Observations(results map[string][]api.FileResult, replicas int) []fsm.WorkerObservation {
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

// Retry returns the files of a task's answers to try again: those that
// failed, except for lack of quota (trying again would not make room).
func Retry(answers []api.FileResult) []string {
	var out []string
	for _, r := range answers {
		if r.Error != "" && !r.QuotaExceeded {
			out = append(out, r.Path)
		}
	}
	return out
}

// workers returns the workers of a map keyed by worker, in id order, so
// that a tally does not depend on the order in which the answers came.
func workers[V any](byWorker map[string]V) []string {
	return slices.Sorted(maps.Keys(byWorker))
}
