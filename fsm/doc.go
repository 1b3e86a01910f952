// Package fsm is Alluvium's replicated state machine: everything the
// coordinators agree on through Raft, and nothing else.
//
// It holds jobs (load, free, rebalance), the mount table, quotas with their
// per-worker budgets, TTLs, priorities, cache-filter rules, worker membership,
// the coordinators' API addresses and the global file index.
//
// The package is pure: it imports no Raft runtime, reads no clock, draws no
// random numbers and never lets map order reach its results. Time enters only
// as a field of a command, stamped by the leader before the command is
// proposed, so every replica that applies the same log holds byte-identical
// state. Checks that depend on state (a nested mount, a job that already
// exists) are made inside Apply and answered with typed errors, so two racing
// requests can never both succeed.
//
// Commands are encoded as one type byte followed by a msgpack payload (see
// Encode); explicit msgpack tags on every persisted field are the wire
// contract (see Command), pinned by the golden files of testdata/compat.
// Snapshots are a header followed by typed records and are streamed,
// never built whole in memory (see Snapshot.WriteTo and FSM.Restore).
//
// The coordinator package adapts *FSM to hashicorp/raft's FSM interface.
package fsm
