package fsm

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// Job identity.
//
// A load or free job is identified by what it covers: its index file, or its
// set of paths. The set is canonical: the paths as the state machine stores
// them, sorted, duplicates dropped, so order and repetition never make two
// jobs of one set. Mapping UFS URIs to Alluxio paths and cleaning them
// depends on the mount table, so the proposer does that before it proposes
// (httpapi, with the mount table of the moment): the command carries Alluxio
// paths, and Apply only sorts and dedupes, which is deterministic. A rebalance
// job is identified by its target. The alias of a job of paths is a second
// name, for GET ?alias= and DELETE {"alias"}: it names one job at a time.
//
// Compatibility with state written by earlier versions. Those keyed a job of
// paths by its alias alone and kept its paths as the request spelled them
// (UFS URIs included, in the request's order). Nothing persisted changes:
//   - Job keeps its fields and their msgpack names; the keys are derived
//     state, rebuilt from the jobs on Restore (rebuildJobKeys) and kept by
//     Apply with the same rule, so a snapshot of either version restores to
//     the same lookups. A job written before is found by its alias (as
//     before), by its index as stored, and by the canonical set of its stored
//     paths: a request whose paths are Alluxio paths finds it at once, and one
//     that spells UFS URIs as the earlier request did finds it through
//     SubmitJob.GivenPaths (GivenIndex for an index file).
//   - A SubmitJob written by an earlier version has Rules == RulesByAlias
//     (the field did not exist and decodes as zero). It is applied with the
//     rules of then (resubmitLegacy), so that replaying an old log gives
//     exactly the state that the earlier version reached and may hold in its
//     snapshots; replicas that restore such a snapshot and replicas that
//     replay the log agree. StopJob keys ("index:", "alias:", "target:") keep
//     their form.
//   - A job is never re-keyed after its submission: its stored paths and
//     index are not rewritten (the scheduler's cursor counts positions in
//     Paths), so a job of the earlier version keeps its spelling until it is
//     pruned.

// JobKey names a job among those of its type.
type JobKey struct {
	Type JobType `msgpack:"Type"`
	// Name is "index:<path>", "paths:<digest of the canonical set>",
	// "alias:<alias>" or "target:<worker|ALL>".
	Name string `msgpack:"Name"`
}

// KeyByIndex, KeyByAlias, KeyByPaths and KeyByTarget build the key a caller
// looks a job up by. KeyByPaths canonicalizes paths itself, but does not map
// UFS URIs: pass the Alluxio paths a job was submitted with.
func KeyByIndex(t JobType, index string) JobKey { return JobKey{t, "index:" + index} }
func KeyByAlias(t JobType, alias string) JobKey { return JobKey{t, "alias:" + alias} }
func KeyByPaths(t JobType, paths []string) JobKey {
	return JobKey{t, "paths:" + pathsDigest(CanonicalPaths(paths))}
}
func KeyByTarget(target string) JobKey { return JobKey{JobRebalance, "target:" + target} }

// CanonicalPaths returns a job's set of paths in its canonical form: sorted,
// duplicates dropped, in a new slice (nil for none).
func CanonicalPaths(paths []string) []string {
	if len(paths) == 0 {
		return nil
	}
	out := slices.Clone(paths)
	slices.Sort(out)
	return slices.Compact(out)
}

// pathsDigest names a canonical set of paths in a key of bounded length (a
// job may have thousands of long paths): the SHA-256 of the paths, each
// preceded by its length, so that no two sets give the same input.
func pathsDigest(canonical []string) string {
	h := sha256.New()
	var n []byte
	for _, p := range canonical {
		n = binary.AppendUvarint(n[:0], uint64(len(p)))
		h.Write(n)
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Key is the job's identity among jobs of its type: its rebalance target,
// its index file, or its canonical set of paths.
func (j *Job) Key() JobKey {
	switch {
	case j.Type == JobRebalance:
		return KeyByTarget(j.Target)
	case j.Index != "":
		return KeyByIndex(j.Type, j.Index)
	default:
		return KeyByPaths(j.Type, j.Paths)
	}
}

// keys lists every key that names j: its identity and its alias.
func (j *Job) keys() []JobKey {
	ks := []JobKey{j.Key()}
	if j.Alias != "" && j.Type != JobRebalance {
		ks = append(ks, KeyByAlias(j.Type, j.Alias))
	}
	return ks
}

// legacyKey is the one key by which earlier versions identified a job: its
// target, its index file, or its alias.
func (j *Job) legacyKey() JobKey {
	switch {
	case j.Type == JobRebalance:
		return KeyByTarget(j.Target)
	case j.Index != "":
		return KeyByIndex(j.Type, j.Index)
	default:
		return KeyByAlias(j.Type, j.Alias)
	}
}

// SubmitRules are the rules by which a SubmitJob finds the job it names.
type SubmitRules uint8

const (
	// RulesByAlias are the rules of earlier versions, which every SubmitJob
	// they wrote has (the field decodes as zero): a job of paths is found by
	// its alias alone; a STOPPED job resumes from its cursor with its own
	// options. Applying old log entries by these rules reproduces the state
	// those versions reached.
	RulesByAlias SubmitRules = 0
	// RulesByCoverage: a job is found by what it covers (its index file or
	// its canonical set of paths) whatever alias the submit gives; an alias
	// that names a job over other paths is refused; a rerun takes the
	// submit's options (see SubmitJob).
	RulesByCoverage SubmitRules = 1
)

// setJobKeys points every key of j at j unless a newer job has the key: the
// newest job that has a key owns it. Apply and Restore keep this one rule,
// so live and restored replicas agree on every lookup.
func (s *state) setJobKeys(j *Job) {
	for _, k := range j.keys() {
		if cur, ok := s.jobKeys[k]; !ok || cur < j.ID {
			s.jobKeys[k] = j.ID
		}
	}
}

// rebuildJobKeys rebuilds the keys from the jobs (after Restore or a prune).
func (s *state) rebuildJobKeys() {
	s.jobKeys = make(map[JobKey]string, 2*len(s.jobs))
	for _, j := range s.jobs {
		s.setJobKeys(j)
	}
}

// findJob finds the job a submit by RulesByCoverage names: the one with the
// same identity or, failing that, a job persisted by an earlier version
// whose stored index or paths are spelled as the request gave them.
func (s *state) findJob(in *Job, c *SubmitJob) (string, bool) {
	if id, ok := s.jobKeys[in.Key()]; ok {
		return id, true
	}
	var given JobKey
	switch {
	case in.Type == JobRebalance:
		return "", false
	case in.Index != "" && c.GivenIndex != "":
		given = KeyByIndex(in.Type, c.GivenIndex)
	case in.Index == "" && len(c.GivenPaths) > 0:
		given = KeyByPaths(in.Type, c.GivenPaths)
	default:
		return "", false
	}
	id, ok := s.jobKeys[given]
	return id, ok
}

// JobByKey returns the job a key names: the newest with that identity or
// alias.
func (f *FSM) JobByKey(k JobKey) (Job, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	j, ok := f.s.jobs[f.s.jobKeys[k]]
	if !ok {
		return Job{}, false
	}
	return *j.clone(), true
}
