package coordinator

// A worker's capacity can change while it runs: its cache disk may turn out
// to hold less than --cache-size (a shared disk filling up), and the worker
// then caches what fits (cache/disk.go). Its heartbeats carry the effective
// capacity, and the leader commits a change to the membership, so that the
// ring, which weighs workers by capacity, stops sending the worker more keys
// than it can hold. Small drifts are not committed: each commit moves keys.

// capacityDrift is the relative change of a worker's capacity below which
// a reported figure is not committed.
const capacityDrift = 0.02

// capacityToCommit returns the capacity to commit for a worker registered
// with registered bytes whose heartbeat reports reported bytes, and whether
// there is one. A report of 0 (a worker of an earlier version, which does
// not send it) changes nothing.
func capacityToCommit(registered, reported int64) (int64, bool) {
	if reported <= 0 || reported == registered {
		return 0, false
	}
	diff := float64(reported - registered)
	if diff < 0 {
		diff = -diff
	}
	if registered > 0 && diff < capacityDrift*float64(registered) {
		return 0, false
	}
	return reported, true
}
