// Package linearize proves, under faults, that the coordinators' REST API
// behaves as one copy of its state would: every call appears to take effect
// at one instant between its request and its answer (linearizability).
//
// Why: the API promises linearizable writes and reads by default (API.md,
// "Reads are served linearizably by default"), through leader forwarding,
// leader changes, partitions and restarts. Unit tests check single paths;
// only a history of concurrent calls under faults, checked against a
// sequential model, catches a stale read from a deposed leader, an
// acknowledged write lost in an election, or a refused write that took
// effect anyway.
//
// How:
//   - model.go is a porcupine model of the API's registers: each mount
//     point with the quota, TTL and priority of a directory under it (an
//     unmount removes them), the state and id of the load job with a given
//     alias, and the ordered cache-filter rules with the default rule. A
//     history is partitioned by register group, so the check is fast.
//     Writes that got no definite answer (connection cut, client timeout,
//     a 5xx) may have taken effect at any moment after they were sent: they
//     are given a return time after everything else. A 503 "no raft
//     leader" is a definite refusal: httpapi answers it only before a
//     command reaches Raft's log, and the model holds it to that.
//   - cluster.go serves httpapi.Register for each node of an in-memory
//     coordinatortest cluster on a real loopback listener, so followers
//     forward writes and reads to the leader over HTTP. Jobs are not
//     scheduled (NoScheduler), so a job's state changes only through the
//     API.
//   - workload.go has concurrent clients send random calls to random nodes
//     and record them; after the faults, every register is read once more.
//   - nemesis.go kills and restarts the leader, isolates the leader or a
//     follower, and restarts every node, on a schedule derived from the
//     seed.
//   - check.go runs porcupine and writes a failing history as HTML
//     (alluvium-linearize-<seed>.html in $ALLUVIUM_LINEARIZE_OUT, or
//     os.TempDir()).
//
// Run: go test -race ./internal/linearize/ checks 20 seeds of 3 s each;
// ALLUVIUM_LINEARIZE_SEEDS, _DURATION and _CLIENTS make longer runs, and
// ALLUVIUM_LINEARIZE_SEED=<n> replays one seed's fault schedule.
package linearize
