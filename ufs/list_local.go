package ufs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// List walks dir depth first. Entries of a directory are visited in the
// order of their keys, the name for a file and the name plus "/" for a
// directory: that makes the visit order the byte-wise order of the full
// relative paths, the order of S3 listings. Subtrees that sort wholly at or
// before the cursor are skipped without being read, so a page costs one
// directory read per level of the cursor's path plus the directories it
// returns files from; the sorted names of large directories are kept
// between pages (see dirCache), so paging through a flat directory of a
// million files does not read it a thousand times.
//
// Each directory is opened as an os.Root of its own below the UFS root, and
// files are stat'ed relative to it: a directory swapped for a symbolic link
// mid-walk cannot lead the walk, or a stat, outside.
//
// Symbolic links are listed when they resolve, inside the UFS root, to a
// regular file; links to directories are not followed (no cycles), and links
// that leave the root or dangle are left out. Names that CheckPath would
// refuse (a backslash) are left out too, so that every listed file can be
// opened.
func (l *local) List(ctx context.Context, dir, cursor string, limit int) ([]FileInfo, string, error) {
	if err := checkPage(dir, cursor, limit, false); err != nil {
		return nil, "", err
	}
	root, release, err := l.acquire()
	if err != nil {
		return nil, "", err
	}
	defer release()
	fi, err := root.Stat(osName(dir))
	if err != nil {
		return nil, "", localErr("list", dir, err)
	}
	if fi.Mode().IsRegular() {
		if dir > cursor {
			return []FileInfo{fileInfo(dir, fi)}, "", nil
		}
		return nil, "", nil
	}
	if !fi.IsDir() {
		return nil, "", fmt.Errorf("list %q: %w: neither a file nor a directory", dir, ErrInvalid)
	}
	d, err := root.OpenRoot(osName(dir))
	if err != nil {
		return nil, "", localErr("list", dir, err)
	}
	defer d.Close()
	w := walker{ctx: ctx, root: root, cache: &l.cache, cursor: cursor, want: limit + 1}
	if err := w.walk(dir, d); err != nil {
		return nil, "", err
	}
	if len(w.out) > limit {
		return w.out[:limit], w.out[limit-1].Path, nil
	}
	return w.out, "", nil
}

type walker struct {
	ctx    context.Context
	root   *os.Root
	cache  *dirCache
	cursor string
	want   int // one more than the page size, to tell whether more remain
	out    []FileInfo
}

// dirEntry is one name of a directory, as sorted for listing.
type dirEntry struct {
	key string      // the name, plus "/" for a directory
	typ fs.FileMode // fs.ModeDir, fs.ModeSymlink, 0 for a regular file, ...
}

func (e dirEntry) name() string { return strings.TrimSuffix(e.key, "/") }

func (w *walker) full() bool { return len(w.out) >= w.want }

// walk lists the directory d, whose relative path is dir.
func (w *walker) walk(dir string, d *os.Root) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, err := w.cache.read(dir, d)
	if err != nil {
		return localErr("list", dir, err)
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	// Entries sorting at or before the cursor are skipped by a binary
	// search, not one by one: a directory's entry for "x/" is needed when
	// the cursor lies inside it, so search for the cursor's first component.
	start := 0
	if rest, ok := strings.CutPrefix(w.cursor, prefix); ok && w.cursor != "" {
		first, _, _ := strings.Cut(rest, "/")
		start, _ = slices.BinarySearchFunc(entries, first, func(e dirEntry, t string) int {
			return strings.Compare(e.key, t)
		})
	}
	for _, e := range entries[start:] {
		name := e.name()
		p := prefix + name
		if checkPath(p, false) != nil {
			continue
		}
		if e.typ.IsDir() {
			// Everything below sorts after key: visit it when key does, or
			// when the cursor lies inside it.
			key := prefix + e.key
			if key > w.cursor || strings.HasPrefix(w.cursor, key) {
				sub, err := d.OpenRoot(name)
				if err != nil {
					if errors.Is(err, fs.ErrNotExist) {
						continue // removed while we were listing
					}
					return localErr("list", p, err)
				}
				err = w.walk(p, sub)
				sub.Close()
				if err != nil {
					return err
				}
				if w.full() {
					return nil
				}
			}
			continue
		}
		if p <= w.cursor {
			continue
		}
		var fi fs.FileInfo
		if e.typ&fs.ModeSymlink != 0 {
			fi, err = w.root.Stat(osName(p)) // follows the link, inside the UFS root only
		} else {
			fi, err = d.Lstat(name)
		}
		if err != nil || !fi.Mode().IsRegular() {
			continue // escaping or dangling link, vanished file, device, FIFO...
		}
		w.out = append(w.out, fileInfo(p, fi))
		if w.full() {
			return nil
		}
	}
	return nil
}

// Limits of dirCache: only directories big enough for re-reading to cost
// more than a stat are kept, and the names it holds over all directories
// are bounded (about 40 bytes each).
const (
	dirCacheMinEntries = 512
	dirCacheMaxEntries = 2 << 20
	dirCacheMaxDirs    = 16
	// A directory modified less than this long before it was read is not
	// cached: its mtime could be changed again within the file system's
	// timestamp granularity without looking different (git's "racy" rule).
	dirCacheRacyWindow = 2 * time.Second
)

// dirCache keeps the sorted entries of the largest directories read lately,
// so that the next page of a listing does not read them again. An entry is
// used only while the directory's identity and mtime are unchanged: adding,
// removing or renaming a name changes the mtime.
type dirCache struct {
	mu    sync.Mutex
	dirs  map[string]*cachedDir
	total int
	clock uint64
}

type cachedDir struct {
	fi      fs.FileInfo
	entries []dirEntry
	used    uint64
}

// read returns the entries of d sorted by key, from the cache when valid.
func (c *dirCache) read(dir string, d *os.Root) ([]dirEntry, error) {
	f, err := d.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if cd, ok := c.dirs[dir]; ok {
		if os.SameFile(cd.fi, fi) && cd.fi.ModTime().Equal(fi.ModTime()) && cd.fi.Size() == fi.Size() {
			c.clock++
			cd.used = c.clock
			c.mu.Unlock()
			return cd.entries, nil
		}
		c.drop(dir)
	}
	c.mu.Unlock()

	list, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	entries := make([]dirEntry, len(list))
	for i, e := range list {
		key := e.Name()
		if e.IsDir() {
			key += "/"
		}
		entries[i] = dirEntry{key: key, typ: e.Type()}
	}
	slices.SortFunc(entries, func(a, b dirEntry) int { return strings.Compare(a.key, b.key) })
	if len(entries) >= dirCacheMinEntries && len(entries) <= dirCacheMaxEntries &&
		time.Since(fi.ModTime()) > dirCacheRacyWindow {
		c.put(dir, &cachedDir{fi: fi, entries: entries})
	}
	return entries, nil
}

func (c *dirCache) put(dir string, cd *cachedDir) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dirs == nil {
		c.dirs = map[string]*cachedDir{}
	}
	c.drop(dir)
	for len(c.dirs) > 0 && (len(c.dirs) >= dirCacheMaxDirs || c.total+len(cd.entries) > dirCacheMaxEntries) {
		var oldest string
		var min uint64 = 1<<64 - 1
		for k, v := range c.dirs {
			if v.used < min {
				oldest, min = k, v.used
			}
		}
		c.drop(oldest)
	}
	c.clock++
	cd.used = c.clock
	c.dirs[dir] = cd
	c.total += len(cd.entries)
}

func (c *dirCache) drop(dir string) {
	if cd, ok := c.dirs[dir]; ok {
		c.total -= len(cd.entries)
		delete(c.dirs, dir)
	}
}
