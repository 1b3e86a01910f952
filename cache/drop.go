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
