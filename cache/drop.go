package cache

import (
	"github.com/alluvium/alluvium/apath"
)

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
			bytes += f.bytes()
			c.dropFile(f, reason)
		}
	}
	return files, bytes
}

// Sweep drops files whose TTL has expired and returns how many.
func (c *Cache) Sweep() int {
	now := c.now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, f := range c.files {
		if ttl, ok := c.pol.ttl(p); ok && now-f.cachedAt > int64(ttl) {
			c.dropFile(f, "ttl")
			n++
		}
	}
	return n
}

// removePage drops a page from the index and from disk. The caller holds mu.
func (c *Cache) removePage(p *page, reason string) {
	f := p.f
	if c.files[f.path] != f || f.pageAt(p.idx) != p {
		return
	}
	if !f.has(flagExtent) { // the page is the file
		c.dropFile(f, reason)
		return
	}
	wasReady := p.ready()
	unlink(p)
	delete(f.x.pages, p.idx)
	size := c.pageLen(f.size, int64(p.idx))
	c.account(f, -size)
	c.evictions[reason]++
	c.memDel(f.x.id, p.idx)
	if wasReady {
		f.x.ready--
		c.markIncomplete(f)
		c.journalRef(recDropPage, f.x.id, p.idx)
		c.punch(f.x.id, identOf(f.path, f.version()), c.extentLayout(f.size).dataAt+int64(p.idx)*c.cfg.PageSize, size)
	}
	if len(f.x.pages) == 0 && f.size > 0 {
		c.dropFile(f, "")
	}
}

// dropFile drops a file with all its pages. The caller holds mu.
func (c *Cache) dropFile(f *fileEntry, reason string) {
	if c.files[f.path] != f {
		return
	}
	c.markIncomplete(f)
	id := f.id()
	c.eachPage(f, func(p *page) {
		unlink(p)
		c.account(f, -c.pageLen(f.size, int64(p.idx)))
		c.memDel(id, p.idx)
		if reason != "" {
			c.evictions[reason]++
		}
	})
	delete(c.files, f.path)
	if f.has(flagJournaled) {
		c.journalRef(recDrop, id, 0)
	}
	if f.has(flagExtent) {
		f.x.pages, f.x.ready = nil, 0
		if f.size > 0 {
			c.removeExtent(id)
		}
	} else {
		c.packRelease(f.pack, c.packEntryLen(f.size))
	}
}
