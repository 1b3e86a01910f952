package fusefs

import (
	"context"
	"strings"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/api"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Paging of a directory listing. The workers' listing is recursive and
// sorted by full path, so the files below a subdirectory come together:
// after the first of them names the subdirectory, the rest of it is
// skipped with a cursor past it (afterSubtree). A page that was mostly
// inside subdirectories asks for fewer files next time; one that was all
// names of this directory asks for more.
const (
	minListPage = 16
	maxListPage = 5000
	// afterSubtree sorts after every valid UTF-8 name: "d/sub/" + it is a
	// cursor past everything below d/sub/.
	afterSubtree = "\U0010FFFF"
	// listTimeout bounds one page's request.
	listTimeout = 30 * time.Second
)

// dirStream reads a directory inside a mount page by page as the kernel's
// readdir asks for names: it holds one page at a time, never the whole
// directory. Names are recorded in the metadata cache, so the lookups of a
// readdirplus (ls -l) or a walk cost no request.
type dirStream struct {
	f      *fsys
	dir    string
	prefix string // of the paths of dir's files: dir + "/"
	rel    string // dir relative to its mount point, as cursors are: "" or "a/b/"

	cursor  string
	done    bool
	count   int
	buf     []fuse.DirEntry
	idx     int
	off     uint64 // names handed out so far
	lastDir string // the subdirectory named last, not to name it twice
	err     syscall.Errno
}

var (
	_ fs.DirStream        = (*dirStream)(nil)
	_ fs.FileSeekdirer    = (*dirStream)(nil)
	_ fs.FileReleasedirer = (*dirStream)(nil)
)

// newDirStream lists dir, which lies in the mount point mount.
func newDirStream(f *fsys, mount, dir string) *dirStream {
	s := &dirStream{f: f, dir: dir, prefix: dir + "/", count: f.cfg.ListPage}
	if dir == "/" {
		s.prefix = "/"
	}
	if rel, ok := apath.Rel(mount, dir); ok && rel != "" && rel != "." {
		s.rel = rel + "/"
	}
	return s
}

// HasNext fetches the next page when the one held is used up.
func (s *dirStream) HasNext() bool {
	for s.idx >= len(s.buf) && !s.done && s.err == 0 {
		s.fill()
	}
	return s.idx < len(s.buf) || s.err != 0
}

// Next returns the next name.
func (s *dirStream) Next() (fuse.DirEntry, syscall.Errno) {
	if s.idx >= len(s.buf) {
		err := s.err
		s.err = 0
		return fuse.DirEntry{}, err
	}
	e := s.buf[s.idx]
	s.idx++
	s.off++
	e.Off = s.off
	return e, 0
}

// Close releases the page held.
func (s *dirStream) Close() { s.buf = nil }

// Releasedir is Close, for the kernel's releasedir.
func (s *dirStream) Releasedir(context.Context, uint32) { s.Close() }

// Seekdir goes back to the off'th name (telldir/seekdir, rewinddir): from
// the start of the listing, skipping the names before it.
func (s *dirStream) Seekdir(_ context.Context, off uint64) syscall.Errno {
	if off == s.off {
		return 0
	}
	*s = dirStream{f: s.f, dir: s.dir, prefix: s.prefix, rel: s.rel, count: s.f.cfg.ListPage}
	for s.off < off {
		if !s.HasNext() {
			return syscall.EINVAL
		}
		if _, err := s.Next(); err != 0 {
			return err
		}
	}
	return 0
}

// fill fetches the next page of the listing into buf.
func (s *dirStream) fill() {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	page, err := s.f.c.List(ctx, s.dir, s.cursor, s.count)
	if err != nil {
		s.f.cfg.Logger.Warn("listing failed", "dir", s.dir, "err", err)
		s.err = errno(err)
		return
	}
	s.buf, s.idx = s.buf[:0], 0
	added, inSub := s.names(page.Results)
	next := page.Cursor
	if next != "" && inSub != "" {
		next = s.rel + inSub + "/" + afterSubtree
	}
	switch {
	case next == "":
		s.done = true
	case next <= s.cursor: // a listing that does not move on would never end
		s.f.cfg.Logger.Error("the listing does not advance", "dir", s.dir, "cursor", s.cursor, "next", next)
		s.err = syscall.EIO
	default:
		s.cursor = next
	}
	s.count = nextPageSize(s.count, added, len(page.Results))
}

// names adds the page's names of this directory to buf, and says how many
// it added and the subdirectory the page ended in ("" when it ended on a
// file of this directory).
func (s *dirStream) names(files []api.ListedFile) (added int, lastSub string) {
	for _, lf := range files {
		name, isDir, ok := childOf(s.prefix, lf.Path)
		if !ok {
			continue
		}
		p := s.prefix + name
		lastSub = ""
		if isDir {
			lastSub = name
			if name == s.lastDir {
				continue
			}
			s.lastDir = name
			s.f.meta.put(p, entry{dir: true})
			s.buf = append(s.buf, fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: ino(p, true)})
		} else {
			e := fileEntry(lf)
			s.f.meta.put(p, e)
			s.buf = append(s.buf, fuse.DirEntry{Name: name, Mode: syscall.S_IFREG, Ino: ino(p, false)})
		}
		added++
	}
	return added, lastSub
}

// childOf is the name, in the directory whose paths start with prefix, of
// the listed file at p: p's own name, or the subdirectory p lies in.
func childOf(prefix, p string) (name string, isDir, ok bool) {
	rel, ok := strings.CutPrefix(p, prefix)
	if !ok || rel == "" {
		return "", false, false
	}
	name, _, isDir = strings.Cut(rel, "/")
	return name, isDir, name != ""
}

// nextPageSize adapts the page size to how much of the last page named
// this directory's entries.
func nextPageSize(count, added, got int) int {
	switch {
	case got == 0:
		return count
	case added*4 < got:
		return max(count/4, minListPage)
	case added == got:
		return min(count*2, maxListPage)
	}
	return count
}
