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

// Where things are:
//
//	cache.go     the Cache, its origin, Close, SetPolicy and small helpers
//	config.go    Config, DefaultConfig, Validate
//	recovery.go  Open: the index rebuilt from the pages on disk
//	read.go      ReadAt, View, Size: read-through of pages (memory, disk, origin)
//	write.go     admission of a page or an empty file, crash-safe writes
//	index.go     the in-memory index: LRU levels, budgets, eviction
//	drop.go      Free, DropUnowned, Sweep
//	load.go      Load: a whole file cached for a load job
//	stats.go     Stats, Stat, Files, UsedBytesUnder
//	holdings.go  numbered changes of the set of files held whole
//	page.go      the on-disk page format and its checksum
//	policy.go    Policy compiled for lookups by path
