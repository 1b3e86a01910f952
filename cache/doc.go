// Package cache is the page cache engine of one worker: files of a UFS are
// cached as fixed-size pages on local disk, with a memory tier (ristretto)
// in front.
//
// Pages are written crash-safely (a temporary file, then a rename) and carry
// a CRC-32C checked on read, so a torn or corrupt page is dropped and read
// again rather than served. The in-memory index is rebuilt from disk at
// start. Nothing of a user's path reaches the file system: files are stored
// under the SHA-256 of their Alluxio path, so no path can escape the cache
// directory.
//
// Admission and eviction obey the worker's policies (see Policy): eviction
// takes LOW, then MEDIUM, then HIGH priority, least recently used first
// within a level, and never admits a page of lower priority than everything
// in a full cache; a quota budget is a hard cap on the bytes cached under its
// directory; a TTL expires data cached longer ago than it; cache-filter
// rules decide whether a file is cached at all (skipCache), trusted forever
// (immutable) or re-validated against the UFS once older than a maximum age
// (maxAge).
//
// Read is read-through: a miss fetches the page from the file's Origin (a
// UFS), with concurrent misses of one page fetched once.
package cache
