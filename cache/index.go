package cache

import (
	"container/list"
	"time"

	"github.com/alluvium/alluvium/policy"
)

// levels are the eviction levels, indexed by policy.Priority (1..3).
type levels [4]list.List

func (l *levels) init() {
	for i := range l {
		l[i].Init()
	}
}

// fileEntry is one cached version of a file.
type fileEntry struct {
	path        string
	dir         string // on disk
	meta        Meta
	version     uint64
	cachedAt    time.Time
	validatedAt time.Time
	pages       map[int64]*pageEntry
	readyPages  int64 // pages on disk (not only reserved)
	complete    bool  // held whole: every page ready (see holdings.go)
	bytes       int64 // of ready and reserved pages
	priority    policy.Priority
	quotaDir    string
	metaWritten bool
}

// pageEntry is one page, ready on disk or reserved while being written.
type pageEntry struct {
	file  *fileEntry
	idx   int64
	size  int64
	ready bool
	elem  *list.Element // in Cache.lru[priority], when ready
	qelem *list.Element // in Cache.quotaLRU[quotaDir][priority], when ready
}

// link puts a ready page at the most recently used end of its lists.
func (c *Cache) link(pe *pageEntry) {
	f := pe.file
	pe.elem = c.lru[f.priority].PushFront(pe)
	if f.quotaDir != "" {
		q := c.quotaLRU[f.quotaDir]
		if q == nil {
			q = new(levels)
			q.init()
			c.quotaLRU[f.quotaDir] = q
		}
		pe.qelem = q[f.priority].PushFront(pe)
	}
}

func (c *Cache) unlink(pe *pageEntry) {
	f := pe.file
	if pe.elem != nil {
		c.lru[f.priority].Remove(pe.elem)
		pe.elem = nil
	}
	if pe.qelem != nil {
		c.quotaLRU[f.quotaDir][f.priority].Remove(pe.qelem)
		pe.qelem = nil
	}
}

// touch marks a page as just used.
func (c *Cache) touch(pe *pageEntry) {
	if pe.elem != nil {
		c.lru[pe.file.priority].MoveToFront(pe.elem)
	}
	if pe.qelem != nil {
		c.quotaLRU[pe.file.quotaDir][pe.file.priority].MoveToFront(pe.qelem)
	}
}

// account adds (or with a negative size removes) a page's bytes.
func (c *Cache) account(f *fileEntry, size int64) {
	c.used += size
	f.bytes += size
	if f.quotaDir != "" {
		c.quotaUsed[f.quotaDir] += size
	}
}

// removePage drops a page from the index and from disk. The caller holds mu.
func (c *Cache) removePage(pe *pageEntry, reason string) {
	f := pe.file
	if f.pages[pe.idx] != pe {
		return
	}
	c.unlink(pe)
	delete(f.pages, pe.idx)
	c.account(f, -pe.size)
	c.stats.evictions[reason]++
	if pe.ready {
		f.readyPages--
		c.markIncomplete(f)
		c.removeFile(pageName(f.dir, pe.idx))
	}
	c.mem.Del(memKey(f.path, f.version, pe.idx))
	if len(f.pages) == 0 && f.meta.Size > 0 {
		c.dropFile(f, "")
	}
}

// dropFile drops a file with all its pages. The caller holds mu.
func (c *Cache) dropFile(f *fileEntry, reason string) {
	if c.files[f.path] != f {
		return
	}
	c.markIncomplete(f)
	for _, pe := range f.pages {
		c.unlink(pe)
		c.account(f, -pe.size)
		c.mem.Del(memKey(f.path, f.version, pe.idx))
		if reason != "" {
			c.stats.evictions[reason]++
		}
	}
	f.pages, f.readyPages = nil, 0
	delete(c.files, f.path)
	c.removeAll(f.dir)
}

// reserve makes room for a page of size bytes of file path and reports
// whether it may be admitted: under its quota budget (evicting within the
// quota directory first) and under the capacity (evicting from levels no
// higher than its own). The caller holds mu.
// The pages of protect (the file being admitted) are never evicted for it:
// a file larger than its room would only evict itself page by page.
func (c *Cache) reserve(prio policy.Priority, quotaDir string, budget, size int64, protect *fileEntry) bool {
	if quotaDir != "" {
		if size > budget {
			return false
		}
		q := c.quotaLRU[quotaDir]
		for c.quotaUsed[quotaDir]+size > budget {
			if q == nil || !c.evictOne(q, prio, "quota", protect) {
				return false
			}
		}
	}
	for c.used+size > c.cfg.CapacityBytes {
		if !c.evictOne(&c.lru, prio, "capacity", protect) {
			return false
		}
	}
	return true
}

// evictOne evicts the least recently used page, not of protect, of the
// lowest non-empty level up to maxLevel, and reports whether there was one.
func (c *Cache) evictOne(l *levels, maxLevel policy.Priority, reason string, protect *fileEntry) bool {
	for lv := policy.PriorityLow; lv <= maxLevel; lv++ {
		for e := l[lv].Back(); e != nil; e = e.Prev() {
			if pe := e.Value.(*pageEntry); pe.file != protect {
				c.removePage(pe, reason)
				return true
			}
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
		if prio == f.priority && qdir == f.quotaDir {
			continue
		}
		var ready []*pageEntry
		for _, pe := range f.pages {
			if pe.ready {
				c.unlink(pe)
				ready = append(ready, pe)
			}
		}
		if f.quotaDir != "" {
			c.quotaUsed[f.quotaDir] -= f.bytes
		}
		f.priority, f.quotaDir = prio, qdir
		if f.quotaDir != "" {
			c.quotaUsed[f.quotaDir] += f.bytes
		}
		for _, pe := range ready {
			c.link(pe)
		}
	}
	for dir, used := range c.quotaUsed {
		if _, ok := c.pol.budgets[dir]; !ok && used == 0 {
			delete(c.quotaUsed, dir)
			delete(c.quotaLRU, dir)
		}
	}
}

// enforceBudgets evicts until every quota directory is within its budget
// and the cache within its capacity, after a policy or config change.
func (c *Cache) enforceBudgets() {
	for dir, budget := range c.pol.budgets {
		q := c.quotaLRU[dir]
		for c.quotaUsed[dir] > budget && q != nil && c.evictOne(q, policy.PriorityHigh, "quota", nil) {
		}
	}
	for c.used > c.cfg.CapacityBytes && c.evictOne(&c.lru, policy.PriorityHigh, "capacity", nil) {
	}
}
