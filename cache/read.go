package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/alluvium/alluvium/policy"
)

func memKey(path string, version uint64, idx int64) string {
	return path + "\x00" + strconv.FormatUint(version, 16) + "\x00" + strconv.FormatInt(idx, 10)
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
	cacheable := rule.Rule != policy.RuleSkipCache
	f := c.files[path]
	if f != nil {
		if ttl, ok := c.pol.ttl(path); ok && now.Sub(f.cachedAt) > ttl {
			c.dropFile(f, "ttl")
			f = nil
		}
	}
	if f != nil && (rule.Rule != policy.RuleMaxAge || now.Sub(f.validatedAt) <= rule.Time) {
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
