// Package coordinatortest builds whole coordinator clusters in one process,
// on Raft's in-memory transport and stores, for tests: this project's own,
// and those of users who embed Alluvium and want to test their code against
// a real replicated coordinator without ports or disks.
//
// A Cluster can kill and restart nodes (their Raft state survives, as a disk
// would), and partition and heal the network between them.
package coordinatortest
