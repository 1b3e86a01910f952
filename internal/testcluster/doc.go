// Package testcluster starts real coordinator clusters for tests: each node
// is a coordinator on raft-boltdb in a temporary directory, Raft over TCP and
// its HTTP API, all on loopback. Nodes can be stopped (as by a crash: the
// process is gone, the disk stays) and started again on the same addresses.
package testcluster
