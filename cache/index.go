package cache

import (
	"time"

	"github.com/alluvium/alluvium/policy"
)

// The index is kept small: a cached small file costs one fileEntry (96
// bytes with its one page), its path and a map slot; a page of a larger
// file costs a page and a map slot. Checksums stay on disk beside the data.

// page is one page of a cached file: reserved while it is written, then
// ready, and then a node of its bucket's LRU list at its file's priority
// (ready and linked are the same thing).
type page struct {
	prev, next *page
	f          *fileEntry
	touched    uint32 // seconds since Open of the last use: orders buckets' tails
	idx        uint32
}

func (p *page) ready() bool { return p.prev != nil }

// fileEntry is one cached version of a file. A file of one page is packed
// (its bytes in a pack, its page the embedded one); a larger file has an
// extent and its pages in x.
type fileEntry struct {
	page             // a packed file's page
	path      string // shares the bytes of its key in Cache.files
	size      int64
	mtime     int64 // unix nanoseconds
	cachedAt  int64 // unix nanoseconds
	pack, off uint32
	prio      policy.Priority
	flags     uint8
	bucket    uint16 // index into Cache.buckets
	x         *fileExtra
}

// fileExtra is what only some files need.
type fileExtra struct {
	etag        string
	validatedAt int64 // unix nanoseconds, when revalidated after cachedAt
	id          uint64
	pages       map[uint32]*page // extents
	ready       int64            // extents: pages ready
	bytes       int64            // extents: bytes of pages ready or reserved
}

const (
	flagComplete  uint8 = 1 << iota // held whole (see holdings.go)
	flagJournaled                   // its put record is in the journal
	flagExtent                      // its pages are in an extent
)

func (f *fileEntry) has(fl uint8) bool { return f.flags&fl != 0 }

func (f *fileEntry) meta() Meta {
	m := Meta{Size: f.size, ModTime: time.Unix(0, f.mtime)}
	if f.x != nil {
		m.ETag = f.x.etag
	}
	return m
}

func (f *fileEntry) version() uint64 { return f.meta().Version() }

// id names the file in the journal, the memory tier and (extents) on disk.
func (f *fileEntry) id() uint64 {
	if f.has(flagExtent) {
		return f.x.id
	}
	return packedID(f.pack, f.off)
}

func (f *fileEntry) extra() *fileExtra {
	if f.x == nil {
		f.x = &fileExtra{}
	}
	return f.x
}

func (f *fileEntry) validatedAt() int64 {
	if f.x != nil && f.x.validatedAt > f.cachedAt {
		return f.x.validatedAt
	}
	return f.cachedAt
}

// bytes counts the bytes of pages ready or reserved.
func (f *fileEntry) bytes() int64 {
	if f.has(flagExtent) {
		return f.x.bytes
	}
	return f.size
}

// readyPages counts the pages on disk.
func (f *fileEntry) readyPages() int64 {
	switch {
	case f.has(flagExtent):
		return f.x.ready
	case f.page.ready():
		return 1
	}
	return 0
}

// pageAt returns page idx, reserved or ready, or nil.
func (f *fileEntry) pageAt(idx uint32) *page {
	switch {
	case f.has(flagExtent):
		return f.x.pages[idx]
	case idx == 0 && f.size > 0:
		return &f.page
	}
	return nil
}

// bucket is the LRU lists of the pages under one quota directory (dir ""
// is everything under none), a list per priority. Lists are circular with
// a sentinel; the front is the most recently used.
type bucket struct {
	dir    string
	used   int64
	levels [4]page
}

func newBucket(dir string) *bucket {
	b := &bucket{dir: dir}
	for i := range b.levels {
		b.levels[i].prev, b.levels[i].next = &b.levels[i], &b.levels[i]
	}
	return b
}

func (b *bucket) pushFront(lv policy.Priority, p *page) {
	s := &b.levels[lv]
	p.prev, p.next = s, s.next
	s.next.prev = p
	s.next = p
}

func unlink(p *page) {
	if p.prev == nil {
		return
	}
	p.prev.next, p.next.prev = p.next, p.prev
	p.prev, p.next = nil, nil
}

// oldest returns the least recently used page of level lv that is not of
// protect, or nil.
func (b *bucket) oldest(lv policy.Priority, protect *fileEntry) *page {
	s := &b.levels[lv]
	for p := s.prev; p != s; p = p.prev {
		if p.f != protect {
			return p
		}
	}
	return nil
}

// bucketFor returns the index of the bucket of quota directory dir.
func (c *Cache) bucketFor(dir string) uint16 {
	if i, ok := c.bucketOf[dir]; ok {
		return i
	}
	if len(c.buckets) > 1<<16-1 {
		return 0 // more quota directories than a worker can tell apart
	}
	i := uint16(len(c.buckets))
	c.buckets = append(c.buckets, newBucket(dir))
	c.bucketOf[dir] = i
	return i
}

// tick is the clock of LRU order between buckets.
func (c *Cache) tick() uint32 { return uint32(time.Since(c.opened) / time.Second) }

// link makes a page ready: the most recently used of its list.
func (c *Cache) link(p *page) {
	p.touched = c.tick()
	c.buckets[p.f.bucket].pushFront(p.f.prio, p)
}

// touch marks a ready page as just used.
func (c *Cache) touch(p *page) {
	if p.ready() && p.prev != &c.buckets[p.f.bucket].levels[p.f.prio] {
		unlink(p)
		c.link(p)
	}
}

// account adds (or with a negative size removes) a page and its bytes.
func (c *Cache) account(f *fileEntry, size int64) {
	if size > 0 {
		c.npages++
	} else {
		c.npages--
	}
	c.used += size
	c.buckets[f.bucket].used += size
	if f.has(flagExtent) {
		f.x.bytes += size
	}
}

// reserve makes room for a page of size bytes and reports whether it may
// be admitted: under its quota budget (evicting within the quota directory
// first) and under the capacity (evicting from levels no higher than its
// own). The caller holds mu. The pages of protect (the file being admitted)
// are never evicted for it: a file larger than its room would only evict
// itself page by page.
func (c *Cache) reserve(prio policy.Priority, bi uint16, budget, size int64, protect *fileEntry) bool {
	if bi != 0 {
		if size > budget {
			return false
		}
		b := c.buckets[bi]
		for b.used+size > budget {
			if !c.evictFrom([]*bucket{b}, prio, "quota", protect) {
				return false
			}
		}
	}
	for c.used+size > c.capacity {
		if !c.evictFrom(c.buckets, prio, "capacity", protect) {
			return false
		}
	}
	return true
}

// evictFrom evicts the least recently used page, not of protect, of the
// lowest non-empty level up to maxLevel of the buckets, and reports whether
// there was one. Between buckets the page last used longest ago goes.
func (c *Cache) evictFrom(buckets []*bucket, maxLevel policy.Priority, reason string, protect *fileEntry) bool {
	for lv := policy.PriorityLow; lv <= maxLevel; lv++ {
		var victim *page
		for _, b := range buckets {
			if p := b.oldest(lv, protect); p != nil && (victim == nil || p.touched < victim.touched) {
				victim = p
			}
		}
		if victim != nil {
			c.removePage(victim, reason)
			return true
		}
	}
	return false
}

// rebucket moves every file to the priority and quota directory the
// policy now gives it. The caller holds mu.
func (c *Cache) rebucket() {
	for _, f := range c.files {
		prio := c.pol.priority(f.path)
		qdir, _, _ := c.pol.quota(f.path)
		b := c.bucketFor(qdir)
		if prio == f.prio && b == f.bucket {
			continue
		}
		var ready []*page
		c.eachPage(f, func(p *page) {
			if p.ready() {
				unlink(p)
				ready = append(ready, p)
			}
		})
		c.buckets[f.bucket].used -= f.bytes()
		f.prio, f.bucket = prio, b
		c.buckets[f.bucket].used += f.bytes()
		for _, p := range ready {
			c.buckets[b].pushFront(prio, p)
		}
	}
}

// eachPage calls fn for each page of f, reserved or ready.
func (c *Cache) eachPage(f *fileEntry, fn func(*page)) {
	if f.has(flagExtent) {
		for _, p := range f.x.pages {
			fn(p)
		}
	} else if f.size > 0 {
		fn(&f.page)
	}
}

// enforceBudgets evicts until every quota directory is within its budget
// and the cache within its capacity, after a policy or config change.
func (c *Cache) enforceBudgets() {
	for _, b := range c.buckets[1:] {
		budget := c.pol.budgets[b.dir]
		for b.used > budget && c.evictFrom([]*bucket{b}, policy.PriorityHigh, "quota", nil) {
		}
	}
	for c.used > c.capacity && c.evictFrom(c.buckets, policy.PriorityHigh, "capacity", nil) {
	}
}
