// Package ufs reads under file systems (UFS), the places where the data that
// Alluvium caches really lives: local directories (file://) and S3-compatible
// object stores (s3://).
//
// Every UFS answers the same four questions, which is all a load job and a
// worker's read-through need: List (recursive, paged, resumable from a
// cursor), Stat (size, mtime, ETag, so that a cached copy can be checked
// against its source), Open (a ranged read) and Close.
//
// Paths handed to a UFS are relative to its root (the mount's UFS URI),
// slash-separated and clean: "" is the root, "a/b.parquet" a file. A path is
// refused before any system call when it could leave the root ("..", an
// absolute path) or is not clean. A file:// UFS is, in addition, confined by
// construction: every access goes through an os.Root, which also refuses
// symbolic links that lead out of the root.
//
// Listings of every UFS come in one order, the byte-wise order of the relative
// paths (S3's own order), so a cursor means the same thing on every UFS: the
// next page holds the files whose paths sort after it. A job that commits its
// cursor can therefore resume its listing on any coordinator.
//
// A Pool keeps one client per mount point, and a Resolver maps between
// Alluxio paths and UFS locations through the mount table.
package ufs
