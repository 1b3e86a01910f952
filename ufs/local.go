package ufs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// local is a file:// UFS. Every access goes through an os.Root, which opens
// each path component relative to the root directory and refuses ".." and
// symbolic links that lead outside it; CheckPath refuses such paths earlier
// still, so confinement does not rest on one check alone.
type local struct {
	dir   string
	cache dirCache
	// mu is held shared by every operation and exclusively by Close, so that
	// Close waits for operations in progress instead of failing them midway
	// (a Pool closes a client when its mount changes, while reads may run).
	mu   sync.RWMutex
	root *os.Root // nil once closed
}

// OpenLocal opens the directory dir (an absolute path) as a file:// UFS.
func OpenLocal(dir string) (UFS, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("%w: file ufs root %q is not an absolute path", ErrInvalid, dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
			return nil, fmt.Errorf("%w: file ufs root %q is not a directory", ErrInvalid, dir)
		}
		return nil, localErr("open root", dir, err)
	}
	return &local{dir: dir, root: root}, nil
}

func (l *local) String() string { return "file://" + filepath.ToSlash(l.dir) }

// acquire returns the root for one operation; the caller must call release.
func (l *local) acquire() (root *os.Root, release func(), err error) {
	l.mu.RLock()
	if l.root == nil {
		l.mu.RUnlock()
		return nil, nil, fmt.Errorf("%s: %w", l, ErrClosed)
	}
	return l.root, l.mu.RUnlock, nil
}

// Close closes the root once operations in progress have finished.
func (l *local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.root == nil {
		return nil
	}
	err := l.root.Close()
	l.root = nil
	return err
}

// osName turns a checked relative path into a name for os.Root.
func osName(rel string) string {
	if rel == "" {
		return "."
	}
	return filepath.FromSlash(rel)
}

// fileETag derives an ETag from what changes when a file is rewritten: its
// size and modification time (as nginx does). It is cheap, needs no read of
// the content, and is stable across processes and restarts.
func fileETag(fi fs.FileInfo) string {
	return fmt.Sprintf("%x-%x", fi.ModTime().UnixNano(), fi.Size())
}

func fileInfo(rel string, fi fs.FileInfo) FileInfo {
	return FileInfo{Path: rel, Size: fi.Size(), ModTime: fi.ModTime(), ETag: fileETag(fi)}
}

func (l *local) ping(ctx context.Context) error {
	root, release, err := l.acquire()
	if err != nil {
		return err
	}
	defer release()
	f, err := root.Open(".")
	if err != nil {
		return localErr("open", "", err)
	}
	defer f.Close()
	if _, err := f.ReadDir(1); err != nil && err != io.EOF {
		return localErr("read directory", "", err)
	}
	return ctx.Err()
}

// Stat describes a regular file; symbolic links inside the root are followed.
func (l *local) Stat(ctx context.Context, p string) (FileInfo, error) {
	if err := checkFilePath(p, false); err != nil {
		return FileInfo{}, err
	}
	root, release, err := l.acquire()
	if err != nil {
		return FileInfo{}, err
	}
	defer release()
	fi, err := root.Stat(osName(p))
	if err != nil {
		return FileInfo{}, localErr("stat", p, err)
	}
	if err := regular(p, fi); err != nil {
		return FileInfo{}, err
	}
	return fileInfo(p, fi), nil
}

func regular(p string, fi fs.FileInfo) error {
	switch {
	case fi.IsDir():
		return fmt.Errorf("stat %q: %w: it is a directory, not a file", p, ErrNotFound)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("stat %q: %w: not a regular file (%v)", p, ErrInvalid, fi.Mode().Type())
	}
	return nil
}

// Open opens the file and returns a reader of the range. The file is opened
// non-blocking where the platform allows, so that a FIFO planted in the
// directory cannot hang the caller; it is then refused as not regular.
func (l *local) Open(ctx context.Context, p string, off, length int64) (io.ReadCloser, error) {
	if err := checkFilePath(p, false); err != nil {
		return nil, err
	}
	if err := checkOffset(off); err != nil {
		return nil, err
	}
	root, release, err := l.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	f, err := root.OpenFile(osName(p), openFlags, 0)
	if err != nil {
		return nil, localErr("open", p, err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = regular(p, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	n := withinRange(fi.Size(), off, length)
	if n == 0 {
		f.Close()
		return emptyReader{}, nil
	}
	if n > sequentialHint {
		adviseSequential(f, off, n)
	}
	return &fileRange{SectionReader: io.NewSectionReader(f, off, n), f: f}, nil
}

// fileRange reads a range of an open file with pread, so that it shares no
// file offset, and closes the file.
type fileRange struct {
	*io.SectionReader
	f *os.File
}

func (r *fileRange) Close() error { return r.f.Close() }

// localErr maps an error of the os package to the sentinels, keeping the
// original in the chain and naming only the relative path.
func localErr(op, p string, err error) error {
	var kind error
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		kind = ErrNotFound
	case isEscape(err):
		kind = ErrEscape
	case errors.Is(err, fs.ErrPermission):
		kind = ErrPermission
	case errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.ENAMETOOLONG):
		kind = ErrInvalid
	default:
		return fmt.Errorf("%s %q: %w", op, p, err)
	}
	return fmt.Errorf("%s %q: %w: %w", op, p, kind, unwrapPath(err))
}

// isEscape recognises os.Root's refusal of a path that leaves the root; the
// package does not export that error value, only its text.
func isEscape(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent"
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil {
		return pe.Err
	}
	return err
}
