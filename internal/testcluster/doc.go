// Package testcluster starts real coordinator clusters for tests: each node
// is a coordinator on its Raft log in a temporary directory, Raft over TCP
// and its HTTP API, all on loopback. Nodes can be stopped (as by a crash: the
// process is gone, the disk stays) and started again on the same addresses.
//
// It is internal/localcluster/coordinators (the one start-up of local
// clusters, its coordinator half) with the
// timings of a test under the race detector, and failures reported to a
// testing.TB.
package testcluster
