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
	block  int64 // bytes of a checksummed block
	now    func() time.Time
	opened time.Time
	log    *slog.Logger
	mem    *ristretto.Cache[uint64, []byte]
	flight singleflight.Group
	bufs   sync.Pool // page buffers of Load
	small  sync.Pool // read and write buffers of up to smallBuf bytes
	stats  counters
	seen   [4096]atomic.Uint64 // pages read in part once lately (see promote)

	extents   extentFiles
	done      chan struct{}
	bg        sync.WaitGroup
	closeOnce sync.Once

	mu         sync.Mutex
	holdEpoch  uint64 // see holdings.go
	holdSeq    uint64
	pol        *compiledPolicy
	files      map[string]*fileEntry
	buckets    []*bucket // [0] holds what is under no quota
	bucketOf   map[string]uint16
	used       int64
	capacity   int64 // effective: see disk.go
	shrunk     bool  // the capacity was lowered to fit the disk (warned)
	npages     int64 // reserved and ready
	evictions  map[string]int64
	jnl        *journal
	snapBytes  int64
	rec        []byte // record being encoded
	nextID     uint64 // of the next extent
	packs      map[uint32]*pack
	activePack uint32
	nextPack   uint32
	compacting map[uint32]bool // queued or being compacted
	// compactQueue are the packs to compact; the compactor runs while
	// there are (compactorRunning).
	compactQueue     []uint32
	compactorRunning bool
	closed           bool
}

// counters are updated without the lock.
type counters struct {
	memHits, diskHits, misses, pageIns, bytesIn, uncached atomic.Int64
}

// Close stops the compactor and closes the files. The cache stays on disk
// for the next Open.
func (c *Cache) Close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.bg.Wait()
		if c.mem != nil {
			c.mem.Close()
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range c.packs {
			p.f.Close()
		}
		c.extents.mu.Lock()
		for _, f := range c.extents.open {
			f.Close()
		}
		c.extents.open = map[uint64]*os.File{}
		c.extents.mu.Unlock()
		if c.jnl != nil {
			c.jnl.f.Close()
		}
	})
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

// smallBuf is the size of the pooled buffers of reads and writes of small
// files and of a few blocks.
const smallBuf = 68 << 10

// getBuf returns a buffer of at least n bytes, pooled when n is small.
func (c *Cache) getBuf(n int64) *[]byte {
	if n <= smallBuf {
		if b, ok := c.small.Get().(*[]byte); ok {
			return b
		}
		b := make([]byte, smallBuf)
		return &b
	}
	if n <= c.cfg.PageSize+pageSlack {
		return c.pageBuffer()
	}
	b := make([]byte, n)
	return &b
}

func (c *Cache) putBuf(b *[]byte) {
	switch int64(cap(*b)) {
	case smallBuf:
		c.small.Put(b)
	case c.cfg.PageSize + pageSlack:
		c.bufs.Put(b)
	}
}
