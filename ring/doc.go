// Package ring places keys (Alluxio file paths) on workers with consistent
// hashing with bounded loads (buraksezer/consistent over xxhash).
//
// A Ring is immutable and built from a membership list: every coordinator,
// worker and client that knows the same members computes the same owners,
// whatever order it learnt them in. Lookups are table reads: the partition
// of a key is its hash modulo the partition count, the partition's owner was
// fixed when the ring was built, and further replicas follow the owner
// clockwise on a circle of member hashes.
//
// buraksezer/consistent panics ("not enough room to distribute partitions")
// when the members cannot hold all partitions under the load bound; New
// checks that bound first and raises the load factor just enough instead,
// so no member count can make it panic.
package ring
