package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/fsm"
	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/sync/singleflight"
)

// Origin is where a file's bytes come from on a miss: a file of a UFS.
type Origin interface {
	// Stat returns the file's current version.
	Stat(ctx context.Context) (Meta, error)
	// ReadAt reads len(p) bytes at off (fewer only at the end of the file).
	ReadAt(ctx context.Context, p []byte, off int64) (int, error)
}

// Cache is a worker's page cache. It is safe for concurrent use.
type Cache struct {
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	mem    *ristretto.Cache[string, []byte]
	flight singleflight.Group
	bufs   sync.Pool // page buffers of Load
	tmpSeq atomic.Uint64

	mu        sync.Mutex
	holdEpoch uint64 // see holdings.go
	holdSeq   uint64
	pol       *compiledPolicy
	files     map[string]*fileEntry
	lru       levels
	quotaLRU  map[string]*levels
	used      int64
	quotaUsed map[string]int64
	stats     counters
}

type counters struct {
	memHits, diskHits, misses, pageIns, bytesIn, uncached int64
	evictions                                             map[string]int64
}

// Stats are the cache's counters since it was opened.
type Stats struct {
	MemoryHits, DiskHits, Misses int64
	PageIns, BytesFromOrigin     int64
	// Uncached counts pages read from the origin but not admitted (a
	// skipCache rule, a full quota or a full cache of higher priority).
	Uncached int64
	// Evictions counts pages removed, by reason: capacity, quota, ttl,
	// stale (the UFS file changed), free, unowned, corrupt.
	Evictions map[string]int64
	UsedBytes int64
	Pages     int64
	Files     int
}

// Open opens (or creates) a cache in cfg.Dir and rebuilds its index from
// the pages on disk, dropping temporary and corrupt files.
func Open(cfg Config) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Cache{
		cfg: cfg, now: cfg.Now, log: cfg.Logger,
		pol:       compile(Policy{}),
		files:     map[string]*fileEntry{},
		quotaLRU:  map[string]*levels{},
		quotaUsed: map[string]int64{},
		stats:     counters{evictions: map[string]int64{}},
	}
	c.lru.init()
	memBytes := max(cfg.MemoryBytes, cfg.PageSize) // ristretto needs a positive size
	mem, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		NumCounters: max(memBytes/cfg.PageSize*10, 1000),
		MaxCost:     memBytes,
		BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: memory tier: %w", err)
	}
	c.mem = mem
	if cfg.MemoryBytes == 0 {
		c.mem.Close()
		c.mem = nil
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "pages"), 0o750); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	if err := c.rebuild(); err != nil {
		return nil, err
	}
	return c, nil
}

// Close releases the memory tier. The pages stay on disk for the next Open.
func (c *Cache) Close() {
	if c.mem != nil {
		c.mem.Close()
	}
}

type metaFile struct {
	Path     string    `json:"path"`
	Size     int64     `json:"size"`
	ModTime  time.Time `json:"mtime"`
	ETag     string    `json:"etag,omitempty"`
	CachedAt time.Time `json:"cachedAt"`
}

// rebuild reads the index back from disk.
func (c *Cache) rebuild() error {
	root := filepath.Join(c.cfg.Dir, "pages")
	shards, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	for _, shard := range shards {
		if !shard.IsDir() {
			c.removeFile(filepath.Join(root, shard.Name()))
			continue
		}
		dirs, err := os.ReadDir(filepath.Join(root, shard.Name()))
		if err != nil {
			return fmt.Errorf("cache: %w", err)
		}
		for _, d := range dirs {
			c.rebuildFile(filepath.Join(root, shard.Name(), d.Name()))
		}
	}
	c.enforceBudgets()
	return nil
}

func (c *Cache) rebuildFile(dir string) {
	raw, err := os.ReadFile(filepath.Join(dir, metaName))
	var m metaFile
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil || apath.Validate(m.Path) != nil || c.fileDir(m.Path) != dir {
		c.removeAll(dir)
		return
	}
	meta := Meta{Size: m.Size, ModTime: m.ModTime, ETag: m.ETag}
	f := &fileEntry{path: m.Path, dir: dir, meta: meta, version: meta.Version(), cachedAt: m.CachedAt,
		validatedAt: m.CachedAt, pages: map[int64]*pageEntry{}, metaWritten: true}
	f.priority = c.pol.priority(f.path)
	f.quotaDir, _, _ = c.pol.quota(f.path)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if name == metaName {
			continue
		}
		full := filepath.Join(dir, name)
		idx, err := strconv.ParseInt(name, 10, 64)
		if err != nil || idx < 0 || idx >= c.pageCount(meta.Size) || !c.pageFileOK(full, f, idx) {
			c.removeFile(full) // temporary, torn, stale or foreign
			continue
		}
		pe := &pageEntry{file: f, idx: idx, size: c.pageLen(meta.Size, idx), ready: true}
		f.pages[idx] = pe
		f.readyPages++
		c.account(f, pe.size)
		c.link(pe)
	}
	if len(f.pages) == 0 && meta.Size > 0 {
		c.removeAll(dir)
		return
	}
	// Held whole or not, as it is found: the epoch that the owner starts
	// after Open announces it.
	f.complete = f.readyPages == c.pageCount(meta.Size)
	c.files[f.path] = f
}

// pageFileOK checks a page file's header and length, not its checksum
// (which every read checks).
func (c *Cache) pageFileOK(name string, f *fileEntry, idx int64) bool {
	file, err := os.Open(name)
	if err != nil {
		return false
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return false
	}
	h := make([]byte, pageHeaderSize)
	if _, err := io.ReadFull(file, h); err != nil {
		return false
	}
	ph, err := decodeHeader(h)
	want := c.pageLen(f.meta.Size, idx)
	return err == nil && ph.version == f.version && ph.length == want && st.Size() == pageHeaderSize+want
}

func (c *Cache) pageCount(size int64) int64 {
	return (size + c.cfg.PageSize - 1) / c.cfg.PageSize
}

func (c *Cache) pageLen(size, idx int64) int64 {
	return min(c.cfg.PageSize, size-idx*c.cfg.PageSize)
}

func (c *Cache) removeFile(name string) {
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.Warn("cache: remove", "file", name, "err", err)
	}
}

func (c *Cache) removeAll(dir string) {
	if err := os.RemoveAll(dir); err != nil {
		c.log.Warn("cache: remove", "dir", dir, "err", err)
	}
}

func memKey(path string, version uint64, idx int64) string {
	return path + "\x00" + strconv.FormatUint(version, 16) + "\x00" + strconv.FormatInt(idx, 10)
}

// SetPolicy installs new policies: pages move to their new priority and
// quota directory, and whatever is over a budget is evicted.
func (c *Cache) SetPolicy(p Policy) {
	cp := compile(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pol = cp
	c.rebucket()
	c.enforceBudgets()
}

// view is what a read needs to know of a file before touching pages.
type view struct {
	meta      Meta
	version   uint64
	cacheable bool
}

// prepare decides how to serve a file: from its cached version (if the TTL
// has not expired and, under maxAge, the UFS still has that version), or
// from the origin's current version.
func (c *Cache) prepare(ctx context.Context, path string, o Origin) (view, error) {
	now := c.now()
	c.mu.Lock()
	rule := c.pol.rule(path)
	cacheable := rule.Rule != fsm.RuleSkipCache
	f := c.files[path]
	if f != nil {
		if ttl, ok := c.pol.ttl(path); ok && now.Sub(f.cachedAt) > ttl {
			c.dropFile(f, "ttl")
			f = nil
		}
	}
	if f != nil && (rule.Rule != fsm.RuleMaxAge || now.Sub(f.validatedAt) <= rule.Time) {
		v := view{meta: f.meta, version: f.version, cacheable: cacheable}
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()

	meta, err := o.Stat(ctx)
	if err != nil {
		return view{}, err
	}
	if f != nil { // maxAge passed: keep the cached version only if unchanged
		c.mu.Lock()
		if c.files[path] == f {
			if f.meta.Changed(meta) {
				c.dropFile(f, "stale")
			} else {
				f.validatedAt = now
			}
		}
		c.mu.Unlock()
	}
	return view{meta: meta, version: meta.Version(), cacheable: cacheable}, nil
}

// ReadAt reads len(p) bytes of path at off through the cache, fetching
// missing pages from o. It returns io.EOF when fewer bytes remain.
func (c *Cache) ReadAt(ctx context.Context, path string, o Origin, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("cache: negative offset")
	}
	v, err := c.prepare(ctx, path, o)
	if err != nil {
		return 0, err
	}
	n := 0
	for n < len(p) && off+int64(n) < v.meta.Size {
		pos := off + int64(n)
		idx := pos / c.cfg.PageSize
		data, err := c.page(ctx, path, o, v, idx)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], data[pos-idx*c.cfg.PageSize:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// View returns the bytes of path from off to the end of the page holding
// off, fetching the page from o on a miss as ReadAt does, but without
// copying: the slice is the cache's own page, shared with other readers,
// and must not be modified. It returns io.EOF when off is at or past the
// end of the file. A server writes a whole cached page to a connection in
// one call this way, instead of copying it through a buffer.
func (c *Cache) View(ctx context.Context, path string, o Origin, off int64) ([]byte, error) {
	if off < 0 {
		return nil, errors.New("cache: negative offset")
	}
	v, err := c.prepare(ctx, path, o)
	if err != nil {
		return nil, err
	}
	if off >= v.meta.Size {
		return nil, io.EOF
	}
	idx := off / c.cfg.PageSize
	data, err := c.page(ctx, path, o, v, idx)
	if err != nil {
		return nil, err
	}
	// Full slice expression: an append by the caller cannot write into
	// the page.
	return data[off-idx*c.cfg.PageSize : len(data) : len(data)], nil
}

// Size returns the size of the file as the cache would serve it.
func (c *Cache) Size(ctx context.Context, path string, o Origin) (Meta, error) {
	v, err := c.prepare(ctx, path, o)
	return v.meta, err
}

// page returns one page's bytes from memory, disk or the origin.
func (c *Cache) page(ctx context.Context, path string, o Origin, v view, idx int64) ([]byte, error) {
	key := memKey(path, v.version, idx)
	if c.mem != nil {
		if data, ok := c.mem.Get(key); ok {
			c.mu.Lock()
			c.stats.memHits++
			if f := c.files[path]; f != nil && f.version == v.version {
				if pe := f.pages[idx]; pe != nil {
					c.touch(pe)
				}
			}
			c.mu.Unlock()
			return data, nil
		}
	}
	want := c.pageLen(v.meta.Size, idx)
	c.mu.Lock()
	var onDisk *pageEntry
	if f := c.files[path]; f != nil && f.version == v.version {
		if pe := f.pages[idx]; pe != nil && pe.ready {
			onDisk = pe
			c.touch(pe)
		}
	}
	c.mu.Unlock()
	if onDisk != nil {
		data, err := readPageFile(pageName(onDisk.file.dir, idx), v.version, want)
		if err == nil {
			c.mu.Lock()
			c.stats.diskHits++
			c.mu.Unlock()
			c.remember(key, data)
			return data, nil
		}
		c.log.Warn("cache: dropping an unreadable page", "path", path, "page", idx, "err", err)
		c.mu.Lock()
		c.removePage(onDisk, "corrupt")
		c.mu.Unlock()
	}
	res, err, _ := c.flight.Do(key, func() (any, error) {
		return c.fetch(ctx, path, o, v, idx, want)
	})
	if err != nil {
		return nil, err
	}
	return res.([]byte), nil
}

func (c *Cache) remember(key string, data []byte) {
	if c.mem != nil {
		c.mem.Set(key, data, int64(len(data)))
	}
}

// fetch reads a page from the origin and admits it.
func (c *Cache) fetch(ctx context.Context, path string, o Origin, v view, idx, want int64) ([]byte, error) {
	data := make([]byte, want)
	n, err := o.ReadAt(ctx, data, idx*c.cfg.PageSize)
	if int64(n) < want {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("cache: %s shrank while being read (page %d: %d of %d bytes)", path, idx, n, want)
		}
		return nil, err
	}
	c.mu.Lock()
	c.stats.misses++
	c.stats.pageIns++
	c.stats.bytesIn += want
	c.mu.Unlock()
	if v.cacheable && c.admit(path, v.meta, idx, data) {
		c.remember(memKey(path, v.version, idx), data)
	}
	return data, nil
}

// admit stores a page if the policies let it in, and reports whether it did.
func (c *Cache) admit(path string, meta Meta, idx int64, data []byte) bool {
	version := meta.Version()
	size := int64(len(data))
	c.mu.Lock()
	if c.pol.rule(path).Rule == fsm.RuleSkipCache {
		c.stats.uncached++
		c.mu.Unlock()
		return false
	}
	f := c.files[path]
	if f != nil && f.version != version {
		c.dropFile(f, "stale")
		f = nil
	}
	if f != nil && f.pages[idx] != nil {
		c.mu.Unlock()
		return true // another reader admitted it
	}
	prio := c.pol.priority(path)
	qdir, budget, _ := c.pol.quota(path)
	if !c.reserve(prio, qdir, budget, size, f) {
		c.stats.uncached++
		c.mu.Unlock()
		return false
	}
	if f == nil || c.files[path] != f {
		now := c.now()
		f = &fileEntry{path: path, dir: c.fileDir(path), meta: meta, version: version, cachedAt: now,
			validatedAt: now, pages: map[int64]*pageEntry{}, priority: prio, quotaDir: qdir}
		c.files[path] = f
	}
	pe := &pageEntry{file: f, idx: idx, size: size}
	f.pages[idx] = pe
	c.account(f, size)
	writeMeta := !f.metaWritten
	f.metaWritten = true
	c.mu.Unlock()

	err := c.writePage(f, pe, data, writeMeta)

	c.mu.Lock()
	defer c.mu.Unlock()
	current := c.files[path] == f && f.pages[idx] == pe
	switch {
	case err != nil:
		c.log.Warn("cache: write page", "path", path, "page", idx, "err", err)
		if current {
			c.removePage(pe, "io")
		}
		return false
	case !current: // freed or evicted while being written
		c.removeFile(pageName(f.dir, idx))
		return false
	}
	pe.ready = true
	f.readyPages++
	c.link(pe)
	c.markComplete(f)
	return true
}

// admitEmpty caches an empty file: its metadata alone, so that it is held
// (and listed, freed and reported) like any other file.
func (c *Cache) admitEmpty(path string, meta Meta) error {
	version := meta.Version()
	c.mu.Lock()
	if c.pol.rule(path).Rule == fsm.RuleSkipCache {
		c.mu.Unlock()
		return nil
	}
	f := c.files[path]
	if f != nil && f.version == version {
		c.mu.Unlock()
		return nil
	}
	if f != nil {
		c.dropFile(f, "stale")
	}
	now := c.now()
	f = &fileEntry{path: path, dir: c.fileDir(path), meta: meta, version: version, cachedAt: now, validatedAt: now,
		pages: map[int64]*pageEntry{}, priority: c.pol.priority(path), metaWritten: true}
	f.quotaDir, _, _ = c.pol.quota(path)
	c.files[path] = f
	c.mu.Unlock()

	err := c.writeMeta(f)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.dropFile(f, "io")
		return err
	}
	c.markComplete(f)
	return nil
}

func (c *Cache) writePage(f *fileEntry, pe *pageEntry, data []byte, writeMeta bool) error {
	if writeMeta {
		if err := c.writeMeta(f); err != nil {
			return err
		}
	}
	parts := [][]byte{encodeHeader(data, f.version), data}
	err := c.writeAtomic(pageName(f.dir, pe.idx), parts)
	if errors.Is(err, fs.ErrNotExist) {
		// Another page of the file, admitted first, writes the meta and
		// creates the directory; this one got here before it did.
		if err = os.MkdirAll(f.dir, 0o750); err == nil {
			err = c.writeAtomic(pageName(f.dir, pe.idx), parts)
		}
	}
	return err
}

// writeMeta makes a file's directory and writes its metadata.
func (c *Cache) writeMeta(f *fileEntry) error {
	fresh, err := makeFileDir(f.dir)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(metaFile{Path: f.path, Size: f.meta.Size, ModTime: f.meta.ModTime, ETag: f.meta.ETag, CachedAt: f.cachedAt})
	name := filepath.Join(f.dir, metaName)
	if fresh {
		// A directory this call made holds no older meta to keep whole:
		// the meta is written in place (a torn one fails to parse at
		// rebuild, which drops the directory). For small files this saves
		// a rename per file.
		return writeFile(name, [][]byte{raw}, c.cfg.Fsync)
	}
	return c.writeAtomic(name, [][]byte{raw})
}

// makeFileDir makes a file's page directory and reports whether this call
// made it: a Mkdir first (the shard directory is nearly always there), the
// shard too only when it is missing.
func makeFileDir(dir string) (fresh bool, err error) {
	err = os.Mkdir(dir, 0o750)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(dir), 0o750); err == nil {
			err = os.Mkdir(dir, 0o750)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

// writeAtomic writes through a uniquely named temporary file, so that
// concurrent writers of one name never share a temporary.
func (c *Cache) writeAtomic(name string, parts [][]byte) error {
	tmp := name + "." + strconv.FormatUint(c.tmpSeq.Add(1), 10) + tmpSuffix
	return writeFileAtomic(name, tmp, parts, c.cfg.Fsync)
}

// Free drops every cached file at or under the Alluxio path prefix and
// returns how many files and bytes it dropped.
func (c *Cache) Free(prefix string) (files int, bytes int64) {
	return c.drop(func(p string) bool { return apath.Contains(prefix, p) }, "free")
}

// DropUnowned drops every cached file for which owned returns false: what a
// ring change moved away from this worker.
func (c *Cache) DropUnowned(owned func(path string) bool) (files int, bytes int64) {
	return c.drop(func(p string) bool { return !owned(p) }, "unowned")
}

func (c *Cache) drop(match func(string) bool, reason string) (files int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, f := range c.files {
		if match(p) {
			files++
			bytes += f.bytes
			c.dropFile(f, reason)
		}
	}
	return files, bytes
}

// Sweep drops files whose TTL has expired and returns how many.
func (c *Cache) Sweep() int {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, f := range c.files {
		if ttl, ok := c.pol.ttl(p); ok && now.Sub(f.cachedAt) > ttl {
			c.dropFile(f, "ttl")
			n++
		}
	}
	return n
}

// FileState describes a cached file.
type FileState struct {
	Path        string
	Meta        Meta
	CachedPages int64
	TotalPages  int64
	Bytes       int64
	CachedAt    time.Time
}

// Complete reports whether every page of the file is cached.
func (s FileState) Complete() bool { return s.CachedPages == s.TotalPages }

// Stat returns the cached state of a file.
func (c *Cache) Stat(path string) (FileState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.files[path]
	if f == nil {
		return FileState{}, false
	}
	return c.state(f), true
}

func (c *Cache) state(f *fileEntry) FileState {
	ready := int64(0)
	for _, pe := range f.pages {
		if pe.ready {
			ready++
		}
	}
	return FileState{Path: f.path, Meta: f.meta, CachedPages: ready, TotalPages: c.pageCount(f.meta.Size), Bytes: f.bytes, CachedAt: f.cachedAt}
}

// Files calls fn for each cached file under prefix, in no order, until fn
// returns false. fn must not call the Cache.
func (c *Cache) Files(prefix string, fn func(FileState) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, f := range c.files {
		if apath.Contains(prefix, p) && !fn(c.state(f)) {
			return
		}
	}
}

// UsedBytesUnder sums the bytes cached under an Alluxio directory.
func (c *Cache) UsedBytesUnder(dir string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if used, ok := c.quotaUsed[dir]; ok && c.pol.budgets[dir] > 0 {
		return used
	}
	var sum int64
	for p, f := range c.files {
		if apath.Contains(dir, p) {
			sum += f.bytes
		}
	}
	return sum
}

// Stats returns the counters and current usage.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{MemoryHits: c.stats.memHits, DiskHits: c.stats.diskHits, Misses: c.stats.misses,
		PageIns: c.stats.pageIns, BytesFromOrigin: c.stats.bytesIn, Uncached: c.stats.uncached,
		Evictions: map[string]int64{}, UsedBytes: c.used, Files: len(c.files)}
	for k, v := range c.stats.evictions {
		s.Evictions[k] = v
	}
	for _, f := range c.files {
		s.Pages += int64(len(f.pages))
	}
	return s
}

// LoadResult reports what Load did.
type LoadResult struct {
	Meta          Meta
	LoadedPages   int64 // fetched from the origin and admitted
	LoadedBytes   int64
	CachedPages   int64 // already cached
	RejectedPages int64 // not admitted (policy, quota or capacity)
}

// ErrNotAdmitted is returned by Load when some pages could not be cached.
var ErrNotAdmitted = errors.New("cache: not every page could be admitted")

// A StreamOrigin also reads a file sequentially from an offset to its
// end. Load prefers it for files of several pages: one sequential read
// keeps the UFS's read-ahead (a local disk's, one S3 GET) where a read per
// page starts over each time.
type StreamOrigin interface {
	Origin
	Stream(ctx context.Context, off int64) (io.ReadCloser, error)
}

// loadWriters is how many goroutines of one Load write pages while its
// reader reads the next ones, and loadQueue how many read pages wait for
// them: a file being loaded holds at most loadWriters+loadQueue+1 page
// buffers.
const (
	loadWriters = 4
	loadQueue   = 2
)

// Load caches every page of a file (a load job's unit of work). Pages are
// read from the origin loadParallelism at a time; the first error stops
// the others. Loaded pages do not enter the memory tier: a load fills the
// disk tier without evicting what readers are using.
func (c *Cache) Load(ctx context.Context, path string, o Origin) (LoadResult, error) {
	v, err := c.prepare(ctx, path, o)
	if err != nil {
		return LoadResult{}, err
	}
	res := LoadResult{Meta: v.meta}
	if !v.cacheable {
		return res, fmt.Errorf("%w: %s matches a skipCache rule", ErrNotAdmitted, path)
	}
	pages := c.pageCount(v.meta.Size)
	switch {
	case pages == 0:
		err = c.admitEmpty(path, v.meta)
	case pages == 1: // most files of a small-file job: no goroutines
		err = c.loadPage(ctx, path, o, v, 0, &res)
	default:
		err = c.loadPages(ctx, path, o, v, pages, &res)
	}
	if err != nil {
		return res, err
	}
	if res.RejectedPages > 0 {
		return res, fmt.Errorf("%w: %d of %d pages of %s", ErrNotAdmitted, res.RejectedPages, pages, path)
	}
	return res, nil
}

// loadPages loads a file of several pages: the pages not yet cached are
// read in order, in runs of consecutive pages (one stream each), while
// loadWriters goroutines admit the pages already read.
func (c *Cache) loadPages(ctx context.Context, path string, o Origin, v view, pages int64, res *LoadResult) error {
	c.mu.Lock()
	var cached map[int64]*pageEntry
	if f := c.files[path]; f != nil && f.version == v.version {
		cached = f.pages
	}
	todo := make([]int64, 0, pages)
	for idx := range pages {
		if pe := cached[idx]; pe != nil && pe.ready {
			res.CachedPages++
		} else {
			todo = append(todo, idx)
		}
	}
	c.mu.Unlock()

	type readPage struct {
		idx int64
		buf *[]byte
	}
	queue := make(chan readPage, loadQueue)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range loadWriters {
		wg.Go(func() {
			for rp := range queue {
				data := (*rp.buf)[:c.pageLen(v.meta.Size, rp.idx)]
				ok := c.admit(path, v.meta, rp.idx, data)
				c.bufs.Put(rp.buf)
				mu.Lock()
				if ok {
					res.LoadedPages++
					res.LoadedBytes += int64(len(data))
				} else {
					res.RejectedPages++
				}
				mu.Unlock()
			}
		})
	}
	err := c.readRuns(ctx, path, o, v, todo, func(idx int64, buf *[]byte) bool {
		select {
		case queue <- readPage{idx, buf}:
			return true
		case <-ctx.Done():
			c.bufs.Put(buf)
			return false
		}
	})
	close(queue)
	wg.Wait()
	return err
}

// readRuns reads the pages todo (ascending) and hands each to put, which
// takes the buffer; a run of consecutive pages is read as one stream.
func (c *Cache) readRuns(ctx context.Context, path string, o Origin, v view, todo []int64, put func(int64, *[]byte) bool) error {
	for len(todo) > 0 {
		run := 1
		for run < len(todo) && todo[run] == todo[run-1]+1 {
			run++
		}
		start := todo[0] * c.cfg.PageSize
		rc, err := openStream(ctx, o, start, v.meta.Size)
		if err != nil {
			return err
		}
		for _, idx := range todo[:run] {
			want := c.pageLen(v.meta.Size, idx)
			buf := c.pageBuffer()
			if _, err = io.ReadFull(rc, (*buf)[:want]); err != nil {
				c.bufs.Put(buf)
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					err = fmt.Errorf("cache: %s shrank while being loaded (page %d)", path, idx)
				}
				break
			}
			c.mu.Lock()
			c.stats.pageIns++
			c.stats.bytesIn += want
			c.mu.Unlock()
			if !put(idx, buf) {
				err = ctx.Err()
				break
			}
		}
		rc.Close()
		if err != nil {
			return err
		}
		todo = todo[run:]
	}
	return nil
}

// openStream reads o from off to size, as one stream when o offers it, else
// through ReadAt.
func openStream(ctx context.Context, o Origin, off, size int64) (io.ReadCloser, error) {
	if so, ok := o.(StreamOrigin); ok {
		return so.Stream(ctx, off)
	}
	return io.NopCloser(io.NewSectionReader(readerAt{ctx, o}, off, size-off)), nil
}

// readerAt adapts an Origin to io.ReaderAt.
type readerAt struct {
	ctx context.Context
	o   Origin
}

func (r readerAt) ReadAt(p []byte, off int64) (int, error) { return r.o.ReadAt(r.ctx, p, off) }

// loadPage caches page idx unless it is cached already, counting the
// outcome in res. The page's buffer is reused: admit writes it to disk and
// keeps no reference.
func (c *Cache) loadPage(ctx context.Context, path string, o Origin, v view, idx int64, res *LoadResult) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	f := c.files[path]
	cached := f != nil && f.version == v.version && f.pages[idx] != nil && f.pages[idx].ready
	c.mu.Unlock()
	if cached {
		res.CachedPages++
		return nil
	}
	want := c.pageLen(v.meta.Size, idx)
	buf := c.pageBuffer()
	defer c.bufs.Put(buf)
	data := (*buf)[:want]
	n, err := o.ReadAt(ctx, data, idx*c.cfg.PageSize)
	if int64(n) < want {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("cache: %s shrank while being loaded", path)
		}
		return err
	}
	c.mu.Lock()
	c.stats.pageIns++
	c.stats.bytesIn += want
	c.mu.Unlock()
	if c.admit(path, v.meta, idx, data) {
		res.LoadedPages++
		res.LoadedBytes += want
	} else {
		res.RejectedPages++
	}
	return nil
}

// pageBuffer returns a page-sized buffer from the pool, for loads only (a
// page that enters the memory tier must own its bytes).
func (c *Cache) pageBuffer() *[]byte {
	if b, ok := c.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, c.cfg.PageSize)
	return &b
}
