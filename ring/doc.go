// Package ring places keys (Alluxio file paths) on workers: a fixed table
// of 2^20 partitions, each owned by one member, with owners chosen by
// weighted rendezvous hashing and then kept within 0.955-1.045x each
// member's fair share of its weight (place.go says how and why).
//
// A Ring is immutable and a pure function of the membership and weights:
// every coordinator, worker and client that knows the same members and
// capacities computes the same owners, whatever order it learnt them in,
// on any architecture (placement is integer arithmetic). Lookups are table
// reads: a key's partition is the top bits of its xxhash, the partition's
// owner was fixed when the ring was built, and further replicas are the
// partition's rendezvous first and second, then the owners of the
// following partitions. FromCapacities is how every party builds the ring
// of a cluster from its workers' capacities.
package ring
