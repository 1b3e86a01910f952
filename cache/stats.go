package cache

import (
	"time"

	"github.com/alluvium/alluvium/apath"
)

// Stats are the cache's counters since it was opened.
type Stats struct {
	MemoryHits, DiskHits, Misses int64
	PageIns, BytesFromOrigin     int64
	// Uncached counts pages read from the origin but not admitted (a
	// skipCache rule, a full quota or a full cache of higher priority).
	Uncached int64
	// Evictions counts pages removed, by reason: capacity, quota, ttl,
	// stale (the UFS file changed), free, unowned, corrupt, io.
	Evictions map[string]int64
	UsedBytes int64
	Pages     int64
	Files     int
	// Packs and PackBytes are the pack files and their bytes, dead ones
	// (of dropped files, until compaction) included.
	Packs     int
	PackBytes int64
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
	return FileState{Path: f.path, Meta: f.meta(), CachedPages: f.readyPages(), TotalPages: c.pageCount(f.size),
		Bytes: f.bytes(), CachedAt: time.Unix(0, f.cachedAt)}
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
	if i, ok := c.bucketOf[dir]; ok && i != 0 && c.pol.budgets[dir] > 0 {
		return c.buckets[i].used
	}
	var sum int64
	for p, f := range c.files {
		if apath.Contains(dir, p) {
			sum += f.bytes()
		}
	}
	return sum
}

// Stats returns the counters and current usage.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{MemoryHits: c.stats.memHits.Load(), DiskHits: c.stats.diskHits.Load(), Misses: c.stats.misses.Load(),
		PageIns: c.stats.pageIns.Load(), BytesFromOrigin: c.stats.bytesIn.Load(), Uncached: c.stats.uncached.Load(),
		Evictions: map[string]int64{}, UsedBytes: c.used, Files: len(c.files), Packs: len(c.packs)}
	// Counted as they change: Stats is called for every heartbeat, and a
	// walk of a million files under the lock would stall reads.
	for k, v := range c.evictions {
		s.Evictions[k] = v
	}
	s.Pages = c.npages
	for _, p := range c.packs {
		s.PackBytes += p.size
	}
	return s
}
