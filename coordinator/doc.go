// Package coordinator runs one Alluvium coordinator: it owns a *raft.Raft
// over the replicated state machine of package fsm, bootstraps or joins a
// cluster, applies commands with deadlines and typed errors, serves
// linearizable reads, publishes its own API address so that followers can
// forward to the leader, and runs leader-only loops (the job scheduler,
// worker liveness) exactly while it leads.
//
// Raft's log and stable store are one bolt file (raft-boltdb/v2) under the
// data dir, snapshots are files beside it, and peers talk over raft's TCP
// transport. Package coordinatortest swaps those for in-memory parts so that
// tests can build whole clusters in one process.
//
// A Coordinator is HTTP-agnostic: package httpapi serves the REST API over
// it, and the embedding program (or cmd/alluvium) mounts that API on its own
// router. The only HTTP this package speaks itself is the small client used
// to join a cluster and to announce its address to the leader.
package coordinator
