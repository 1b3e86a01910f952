// Package fusefs is Alluvium's POSIX mount: a read-only FUSE file system
// (github.com/hanwen/go-fuse/v2) over the cluster's namespace, so that any
// program (PyTorch, TensorFlow, cp) reads the cache as ordinary files.
//
// The root lists the top-level mount points of the coordinators' mount
// table; a directory inside a mount lists through the workers' listing API,
// page by page, straight into the kernel's readdir (a directory is never
// held in memory whole); a file's stat is its UFS size and mtime. Reads go
// through the Go client, to the file's owner on the ring with replica and
// next-owner failover, as `alluvium cat` reads. Writes, creates, renames
// and removes answer EROFS (the mount is also read-only in the kernel).
//
// One job per file:
//
//	config.go     Config, DefaultConfig, Validate
//	namespace.go  the tree: mount table, what a path is (stat), attributes
//	nodes.go      the inodes: lookup, getattr, readdir, open; EROFS for writes
//	dirstream.go  directory listings streamed page by page into readdir
//	read.go       file handles: ranged reads, growing sequential readahead
//	meta.go       the metadata cache (TTL, bounded)
//	mount.go      Mount, Unmount, and the takeover of a stale mount
//	errors.go     client errors as errnos
//
// Speed: the kernel keeps entries and attributes for Config.MetadataTTL
// (and so does the metadata cache below it), requests are up to 1 MiB
// (max_pages), the kernel page cache of a file is kept across opens while
// its size and mtime are unchanged (FOPEN_KEEP_CACHE), a sequential reader
// gets a readahead window that doubles up to Config.Readahead, fetched in
// 1 MiB chunks by a few concurrent requests, and readers of one file never
// share a lock (each open file has its own).
//
// Namespace rules: directories are implied by the files below them, as in
// an object store, so an empty directory of a file:// UFS is not shown;
// symbolic links that resolve to files read as those files; other special
// files are absent.
package fusefs
