package fusefs

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/cespare/xxhash/v2"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Modes of what the mount shows: read-only for everyone (the kernel is told
// the mount is read-only too).
const (
	dirMode  = syscall.S_IFDIR | 0o555
	fileMode = syscall.S_IFREG | 0o444
	// blockSize is st_blksize: programs size their reads by it (Python's
	// buffered files, cp), so it is the largest FUSE request.
	blockSize = maxRequest
)

// fsys is the state one mount shares: the client, the metadata cache, the
// mount table and the readahead budget.
type fsys struct {
	cfg      Config
	c        *client.Client
	meta     *metaCache
	uid, gid uint32
	budget   *budget

	mu     sync.Mutex
	mounts []string // mount points, sorted
	mAt    time.Time
}

func newFsys(cfg Config) *fsys {
	return &fsys{cfg: cfg, c: cfg.Client, meta: newMetaCache(cfg.MetadataTTL, cfg.MaxMetadataEntries),
		uid: uint32(os.Getuid()), gid: uint32(os.Getgid()), budget: &budget{max: cfg.ReadaheadMemory}}
}

// mountPoints returns the mount table's paths, read again after the
// metadata TTL; when the coordinators cannot answer, the last table read
// is used.
func (f *fsys) mountPoints(ctx context.Context) ([]string, error) {
	f.mu.Lock()
	paths, at := f.mounts, f.mAt
	f.mu.Unlock()
	if at.IsZero() || time.Since(at) >= f.cfg.MetadataTTL {
		ms, err := f.c.Mounts(ctx)
		if err != nil {
			if at.IsZero() {
				return nil, err
			}
			f.cfg.Logger.Warn("the mount table could not be read again; using the last one", "err", err)
			return paths, nil
		}
		paths = make([]string, 0, len(ms.Results))
		for _, m := range ms.Results {
			paths = append(paths, m.Path)
		}
		slices.Sort(paths)
		f.mu.Lock()
		f.mounts, f.mAt = paths, time.Now()
		f.mu.Unlock()
	}
	return paths, nil
}

// place says where p lies against the mount table: at or inside a mount
// point (listed by the workers), and whether it is a mount point itself or
// an ancestor of one (a directory that the table alone makes).
func place(p string, mounts []string) (inMount, mountPoint, virtual bool) {
	for _, m := range mounts {
		if apath.Contains(m, p) {
			inMount = true
			mountPoint = mountPoint || m == p
		}
		if m != p && apath.Contains(p, m) {
			virtual = true
		}
	}
	return inMount, mountPoint, virtual
}

// mountOf is the mount point that p lies at or in, or "".
func mountOf(p string, mounts []string) string {
	best := ""
	for _, m := range mounts {
		if apath.Contains(m, p) && len(m) > len(best) {
			best = m
		}
	}
	return best
}

// virtualChildren are the names in directory p that the mount table makes:
// the next element of every mount point below p, sorted, without repeats.
func virtualChildren(p string, mounts []string) []string {
	var out []string
	for _, m := range mounts {
		rel, ok := apath.Rel(p, m)
		if !ok || rel == "" || rel == "." {
			continue
		}
		name, _, _ := strings.Cut(rel, "/")
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// classify reads what p is from the first file of its listing: p itself (a
// file), a file below p (a directory), or nothing.
func classify(p string, first []api.ListedFile) entry {
	if len(first) == 0 {
		return entry{missing: true}
	}
	lf := first[0]
	switch {
	case lf.Path == p:
		return fileEntry(lf)
	case strings.HasPrefix(lf.Path, p+"/"):
		return entry{dir: true}
	}
	return entry{missing: true}
}

// fileEntry is a listed file's entry.
func fileEntry(lf api.ListedFile) entry {
	e := entry{size: lf.Size}
	if lf.ModTime != "" {
		e.mtime, _ = time.Parse(time.RFC3339, lf.ModTime)
	}
	return e
}

// stat says what the Alluxio path p is, from the metadata cache or, when
// it holds nothing fresh, a one-file listing of p.
func (f *fsys) stat(ctx context.Context, p string) (entry, error) {
	if p == "/" {
		return entry{dir: true}, nil
	}
	mounts, err := f.mountPoints(ctx)
	if err != nil {
		return entry{}, err
	}
	in, mountPoint, virtual := place(p, mounts)
	switch {
	case mountPoint || (virtual && !in):
		return entry{dir: true}, nil
	case !in:
		return entry{missing: true}, nil
	}
	if e, ok := f.meta.get(p); ok {
		return e, nil
	}
	page, err := f.c.List(ctx, p, "", 1)
	var e entry
	switch {
	case client.IsNotFound(err):
		e = entry{missing: true}
	case err != nil:
		return entry{}, err
	default:
		e = classify(p, page.Results)
	}
	f.meta.put(p, e)
	return e, nil
}

// ino is a path's inode number: stable across lookups and restarts.
func ino(p string, dir bool) uint64 {
	if dir {
		p += "/"
	}
	h := xxhash.Sum64String(p)
	if h <= fuse.FUSE_ROOT_ID {
		h += 2
	}
	return h
}

// fillAttr describes p as e says.
func (f *fsys) fillAttr(out *fuse.Attr, p string, e entry) {
	out.Ino = ino(p, e.dir)
	out.Owner = fuse.Owner{Uid: f.uid, Gid: f.gid}
	out.Blksize = blockSize
	if e.dir {
		out.Mode, out.Nlink = dirMode, 2
		return
	}
	out.Mode, out.Nlink, out.Size = fileMode, 1, uint64(e.size)
	out.Blocks = (uint64(e.size) + 511) / 512
	if !e.mtime.IsZero() {
		out.SetTimes(nil, &e.mtime, &e.mtime)
	}
}

// newChild makes the inode of p, a child of parent, as e says.
func (f *fsys) newChild(ctx context.Context, parent *fs.Inode, p string, e entry) *fs.Inode {
	if e.dir {
		return parent.NewInode(ctx, &dirNode{f: f, path: p}, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino(p, true)})
	}
	return parent.NewInode(ctx, &fileNode{f: f, path: p}, fs.StableAttr{Mode: syscall.S_IFREG, Ino: ino(p, false)})
}
