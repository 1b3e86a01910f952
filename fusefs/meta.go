package fusefs

import (
	"sync"
	"time"
)

// entry is what a path is: a directory, or a file with its UFS size and
// mtime. A zero entry with missing set says the path is not there.
type entry struct {
	dir     bool
	missing bool
	size    int64
	mtime   time.Time
}

// version is what tells a file's content apart: when it is unchanged, the
// kernel may keep the pages it cached.
type version struct {
	size  int64
	mtime int64
}

func (e entry) version() version { return version{e.size, e.mtime.UnixNano()} }

// metaCache holds entries for a TTL, so that a stat, a lookup after a
// readdir or an open costs no request while it is fresh. It is bounded:
// past max entries, a random eighth is dropped (map order is random).
type metaCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[string]cachedEntry
}

type cachedEntry struct {
	e  entry
	at time.Time
}

func newMetaCache(ttl time.Duration, max int) *metaCache {
	return &metaCache{ttl: ttl, max: max, now: time.Now, m: map[string]cachedEntry{}}
}

// get returns path's entry while it is fresh.
func (c *metaCache) get(path string) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ce, ok := c.m[path]
	if !ok {
		return entry{}, false
	}
	if c.now().Sub(ce.at) >= c.ttl {
		delete(c.m, path)
		return entry{}, false
	}
	return ce.e, true
}

// put records path's entry as of now.
func (c *metaCache) put(path string, e entry) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[path]; !ok && len(c.m) >= c.max {
		drop := max(c.max/8, 1)
		for k := range c.m {
			delete(c.m, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.m[path] = cachedEntry{e: e, at: c.now()}
}

// len is how many entries are held (for tests).
func (c *metaCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
