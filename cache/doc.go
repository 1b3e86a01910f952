// Package cache is the page cache engine of one worker: files of a UFS are
// cached on local disk, page by page, with a memory tier (ristretto) in
// front. Pages are the unit of admission, eviction, quota and TTL; on disk
// they are stored so that a read costs what the kernel costs.
//
// A file of one page (most files of a small-file data set) is packed: its
// bytes follow one another with other files' in a pack, a large file kept
// open, so ten million small files take a few hundred files on disk. A
// larger file has an extent, one sparse file with its pages at their
// offsets. Every block of 4 KiB has a CRC-32C written beside it, and a read
// checks the blocks it touches (a 4 KiB read of a large file checks one or two blocks,
// not the page), against the file's ident as well (path and version), so
// bytes of another file or version never pass. What fails is dropped and
// read again from the origin.
//
// The index is in memory and is rebuilt at Open from a journal: a snapshot
// and a log of records (a file packed, a page of an extent written, a page
// or file dropped), each appended after the bytes it names. Nothing is
// synced unless Config.Fsync: a crash loses what was cached last, never
// serves it torn. A first-format cache directory (pages/) is removed at
// Open. Nothing of a user's path reaches the file system.
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
//	cache.go      the Cache, its origin, Close, SetPolicy, buffers
//	config.go     Config, DefaultConfig, Validate
//	meta.go       Meta (a UFS file's version) and the ident of cached bytes
//	index.go      the in-memory index: entries, pages, LRU buckets, eviction
//	read.go       ReadAt, WriteTo, Size: read-through (memory, disk, origin)
//	write.go      admission of a page or an empty file, journal appends
//	drop.go       Free, DropUnowned, Sweep, removing pages and files
//	load.go       Load: a whole file cached for a load job
//	blocks.go     per-block CRC-32C
//	packs.go      packs: one-page files appended to shared files
//	extents.go    extents: a file of several pages, sparse, its descriptors
//	compact.go    moving the live entries out of mostly dead packs
//	journal.go    journal records, their framing and replay
//	checkpoint.go a new generation of the journal: snapshot, then a new log
//	recovery.go   Open: the index rebuilt from the journal and the disk
//	stats.go      Stats, Stat, Files, UsedBytesUnder
//	holdings.go   numbered changes of the set of files held whole
//	policy.go     Policy compiled for lookups by path
