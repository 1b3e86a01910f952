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
// A Coordinator serves no HTTP itself: package httpapi serves the REST API
// over it, and the embedding program (or cmd/alluvium) mounts that API on
// its own router. It is an HTTP client of the other nodes, though: it joins
// a cluster and announces its address to the leader through a coordinator's
// API, and the leader drives the workers through their task API (the job
// scheduler's load, free and prune tasks, clear-stale), with the typed
// client of package internal/workerclient. Every such call goes through
// package internal/jsonhttp: the cluster token, a context deadline (10 s, or
// 10 min for a task), bounded answers and one error type.
package coordinator
