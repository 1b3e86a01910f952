package cache

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

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

// Close releases the memory tier. The pages stay on disk for the next Open.
func (c *Cache) Close() {
	if c.mem != nil {
		c.mem.Close()
	}
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
