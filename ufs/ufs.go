package ufs

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alluvium/alluvium/apath"
)

// FileInfo describes a file of a UFS. Listings hold files only; directories
// are implied by the paths, as in an object store.
type FileInfo struct {
	// Path is slash-separated, relative to the UFS root, without a leading
	// slash: "a/b.parquet".
	Path string
	// Size in bytes.
	Size int64
	// ModTime is the file's modification time (S3: LastModified).
	ModTime time.Time
	// ETag changes whenever the content may have changed. For S3 it is the
	// object's ETag (without quotes); for file:// it is derived from the
	// size and the mtime, as web servers do. Compare it for equality only.
	ETag string
}

// UFS is an under file system rooted at a mount's UFS URI. Paths are
// relative to that root ("" is the root itself) and must be clean: see
// CheckPath. Implementations are safe for concurrent use.
type UFS interface {
	// List returns up to limit files at or below dir, recursively, whose
	// paths sort (byte-wise) after cursor; pass "" to start. next is the
	// cursor for the following page, "" when the listing is complete. A dir
	// that is a file lists just that file. A page is read from the UFS on
	// demand: the whole listing is never held in memory.
	List(ctx context.Context, dir, cursor string, limit int) (files []FileInfo, next string, err error)
	// Stat describes the file at path.
	Stat(ctx context.Context, path string) (FileInfo, error)
	// Open reads length bytes of the file at path from offset off; length < 0
	// reads to the end. A range that runs past the end is cut short; one
	// that starts at or after the end reads nothing.
	Open(ctx context.Context, path string, off, length int64) (io.ReadCloser, error)
	// Close releases the client. Readers already opened stay usable.
	Close() error
}

// pinger is implemented by every UFS of this package: a cheap request that
// proves the root is reachable with the given options.
type pinger interface {
	ping(ctx context.Context) error
}

// Open opens the UFS at uri ("file:///abs/dir", "s3://bucket/prefix") with a
// mount's options. It does not touch the network; use CheckReachable for
// that. Options for s3:// are described at OpenS3; file:// takes none.
func Open(uri string, options map[string]string) (UFS, error) {
	u, err := apath.ParseURI(uri)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	switch u.Scheme {
	case "file":
		for k := range options {
			if strings.HasPrefix(k, "s3.") {
				return nil, fmt.Errorf("%w: option %q is for s3:// and is not accepted by %s", ErrInvalid, k, u)
			}
		}
		return OpenLocal(u.Path)
	case "s3":
		return OpenS3(u.Host, u.Path, options)
	}
	return nil, fmt.Errorf("%w: ufs scheme %q is not supported", ErrInvalid, u.Scheme)
}

// CheckReachable opens the UFS and makes one cheap request against its root
// (a stat of the directory, or a one-key listing of the bucket prefix). A
// coordinator calls it before committing a mount, so that a mistyped bucket,
// endpoint or key is refused at once instead of failing every later read.
func CheckReachable(ctx context.Context, uri string, options map[string]string) error {
	fs, err := Open(uri, options)
	if err != nil {
		return err
	}
	defer fs.Close()
	if p, ok := fs.(pinger); ok {
		return p.ping(ctx)
	}
	_, _, err = fs.List(ctx, "", "", 1)
	return err
}

// CheckPath validates a path relative to a UFS root. "" (the root) is valid.
// A path that could leave the root (an absolute path, a ".." element) fails
// with ErrEscape; one that is not clean (empty, "." elements, a trailing
// slash), has a NUL byte or a backslash, or is too long fails with
// ErrInvalid. Paths are refused, never cleaned, so that a caller never
// reaches a file other than the one it named.
func CheckPath(p string) error {
	return checkPath(p, false)
}

// checkPath implements CheckPath; object stores accept backslashes, which are
// ordinary characters in a key, but a local file system never does, because
// some platforms take them for separators.
func checkPath(p string, allowBackslash bool) error {
	if p == "" {
		return nil
	}
	switch {
	case len(p) > apath.MaxLen:
		return fmt.Errorf("%w: path is longer than %d bytes", ErrInvalid, apath.MaxLen)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("%w: path %q contains a NUL byte", ErrInvalid, p)
	case p[0] == '/':
		return fmt.Errorf("%w: path %q is absolute; paths are relative to the ufs root", ErrEscape, p)
	case !allowBackslash && strings.IndexByte(p, '\\') >= 0:
		return fmt.Errorf("%w: path %q contains a backslash", ErrInvalid, p)
	}
	// ".." is looked for first, so that an attempt to escape is reported as
	// one even when the path is also unclean ("./../x").
	for elem := range strings.SplitSeq(p, "/") {
		if elem == ".." {
			return fmt.Errorf("%w: path %q has a \"..\" element", ErrEscape, p)
		}
	}
	for elem := range strings.SplitSeq(p, "/") {
		if elem == "" || elem == "." {
			return fmt.Errorf("%w: path %q is not clean (empty or \".\" element, or a trailing slash)", ErrInvalid, p)
		}
	}
	if !allowBackslash && !filepath.IsLocal(filepath.FromSlash(p)) {
		// A backstop for platform rules (volume names, reserved names).
		return fmt.Errorf("%w: path %q is not local to the root on this platform", ErrEscape, p)
	}
	if allowBackslash && !utf8.ValidString(p) {
		return fmt.Errorf("%w: object key %q is not valid UTF-8", ErrInvalid, p)
	}
	return nil
}

// checkFilePath validates a path that must name a file (Stat, Open).
func checkFilePath(p string, allowBackslash bool) error {
	if p == "" {
		return fmt.Errorf("%w: the path is empty; name a file below the ufs root", ErrInvalid)
	}
	return checkPath(p, allowBackslash)
}

// checkPage validates the arguments of List.
func checkPage(dir, cursor string, limit int, allowBackslash bool) error {
	if limit <= 0 {
		return fmt.Errorf("%w: list limit must be positive, not %d", ErrInvalid, limit)
	}
	if err := checkPath(dir, allowBackslash); err != nil {
		return err
	}
	// The cursor is compared as a string and never opened, but it comes back
	// from callers, so it is held to the same rules.
	if len(cursor) > apath.MaxLen || strings.IndexByte(cursor, 0) >= 0 {
		return fmt.Errorf("%w: bad list cursor", ErrInvalid)
	}
	return nil
}

// withinRange reports the byte count of a read of [off, off+length) from a
// file of the given size, cutting it at the end; length < 0 means to the end.
func withinRange(size, off, length int64) int64 {
	if off >= size {
		return 0
	}
	if length < 0 || length > size-off {
		return size - off
	}
	return length
}

// checkOffset validates the offset of Open; any length is valid.
func checkOffset(off int64) error {
	if off < 0 {
		return fmt.Errorf("%w: negative read offset %d", ErrInvalid, off)
	}
	return nil
}

// emptyReader is what a read at or after the end of a file returns.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyReader) Close() error             { return nil }
