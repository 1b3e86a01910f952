package cache

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/alluvium/alluvium/apath"
	"github.com/dgraph-io/ristretto/v2"
)

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
