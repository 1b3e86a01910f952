package cache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/alluvium/alluvium/policy"
)

// memKey names page idx of file id in the memory tier: packed files by
// their place, pages of extents by extent and page. Ids are never reused,
// so a key never names bytes of another file or version. A page of an
// extent numbered past 2^31 is not kept in memory.
func memKey(id uint64, idx uint32) (uint64, bool) {
	if isPackedID(id) {
		return 1<<63 | id&(1<<62-1), idx == 0
	}
	return id<<32 | uint64(idx), id < 1<<31
}

// memKeyHash hashes a key for the memory tier; the key itself is the
// conflict check, so two keys are never taken for each other.
func memKeyHash(k uint64) (uint64, uint64) { return splitmix(k), k }

func (c *Cache) memGet(id uint64, idx uint32) ([]byte, bool) {
	if k, ok := memKey(id, idx); ok && c.mem != nil {
		return c.mem.Get(k)
	}
	return nil, false
}

func (c *Cache) memSet(id uint64, idx uint32, data []byte) {
	if k, ok := memKey(id, idx); ok && c.mem != nil {
		c.mem.Set(k, data, int64(len(data)))
	}
}

func (c *Cache) memDel(id uint64, idx uint32) {
	if k, ok := memKey(id, idx); ok && c.mem != nil {
		c.mem.Del(k)
	}
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
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
		if ttl, ok := c.pol.ttl(path); ok && now.Sub(time.Unix(0, f.cachedAt)) > ttl {
			c.dropFile(f, "ttl")
			f = nil
		}
	}
	if f != nil && (rule.Rule != policy.RuleMaxAge || now.Sub(time.Unix(0, f.validatedAt())) <= rule.Time) {
		m := f.meta()
		c.mu.Unlock()
		return view{meta: m, version: m.Version(), cacheable: cacheable}, nil
	}
	c.mu.Unlock()

	meta, err := o.Stat(ctx)
	if err != nil {
		return view{}, err
	}
	if f != nil { // maxAge passed: keep the cached version only if unchanged
		c.mu.Lock()
		if c.files[path] == f {
			if f.meta().Changed(meta) {
				c.dropFile(f, "stale")
			} else {
				f.extra().validatedAt = now.UnixNano()
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
	n, err := c.each(ctx, path, o, v, off, int64(len(p)), func(b []byte) error {
		copy(p, b)
		p = p[len(b):]
		return nil
	})
	if err == nil && len(p) > 0 {
		err = io.EOF
	}
	return int(n), err
}

// WriteTo writes n bytes of path from off (fewer at the end of the file)
// to w, through the cache as ReadAt does, and returns how many it wrote.
// Bytes leave straight from the memory tier, or from a buffer that a disk
// read filled and checked, in one Write per page at most: no copy through
// the caller's buffers.
func (c *Cache) WriteTo(ctx context.Context, path string, o Origin, w io.Writer, off, n int64) (int64, error) {
	if off < 0 {
		return 0, errors.New("cache: negative offset")
	}
	v, err := c.prepare(ctx, path, o)
	if err != nil {
		return 0, err
	}
	return c.each(ctx, path, o, v, off, n, func(b []byte) error {
		_, err := w.Write(b)
		return err
	})
}

// Size returns the file as the cache would serve it.
func (c *Cache) Size(ctx context.Context, path string, o Origin) (Meta, error) {
	v, err := c.prepare(ctx, path, o)
	return v.meta, err
}

// each calls fn with the bytes of the file from off, n bytes or to its
// end, a part of one page at a time. The slices are valid only during the
// call. It returns how many bytes fn took.
func (c *Cache) each(ctx context.Context, path string, o Origin, v view, off, n int64, fn func([]byte) error) (int64, error) {
	end := min(off+n, v.meta.Size)
	done := int64(0)
	for pos := off; pos < end; {
		idx := pos / c.cfg.PageSize
		base := idx * c.cfg.PageSize
		from, to := pos-base, min(end-base, c.pageLen(v.meta.Size, idx))
		b, release, err := c.pageRange(ctx, path, o, v, idx, from, to)
		if err != nil {
			return done, err
		}
		err = fn(b)
		release()
		if err != nil {
			return done, err
		}
		done += to - from
		pos += to - from
	}
	return done, nil
}

func noRelease() {}

// pageRange returns bytes from to to of page idx, from the memory tier,
// the disk or the origin, and a function to call when done with them.
func (c *Cache) pageRange(ctx context.Context, path string, o Origin, v view, idx, from, to int64) ([]byte, func(), error) {
	for attempt := 0; ; attempt++ {
		l, ok := c.locate(path, v, idx)
		if !ok {
			break
		}
		if data, ok := c.memGet(l.id, uint32(idx)); ok {
			c.stats.memHits.Add(1)
			return data[from:to], noRelease, nil
		}
		if c.promote(l.id, uint32(idx), from == 0 && to == l.pageLen) {
			b, _, err := c.readDisk(l, 0, l.pageLen, true)
			if err == nil {
				c.stats.diskHits.Add(1)
				c.memSet(l.id, uint32(idx), b)
				return b[from:to], noRelease, nil
			}
			if errors.Is(err, os.ErrClosed) && attempt < 3 {
				continue
			}
			c.dropCorrupt(path, l, err)
			break
		}
		b, buf, err := c.readDisk(l, from, to, false)
		if err == nil {
			c.stats.diskHits.Add(1)
			return b, func() { c.putBuf(buf) }, nil
		}
		if buf != nil {
			c.putBuf(buf)
		}
		if errors.Is(err, os.ErrClosed) && attempt < 3 {
			continue // dropped or moved meanwhile: look again
		}
		c.dropCorrupt(path, l, err)
		break
	}
	key := path + "\x00" + strconv.FormatUint(v.version, 16) + "\x00" + strconv.FormatInt(idx, 10)
	res, err, _ := c.flight.Do(key, func() (any, error) {
		return c.fetch(ctx, path, o, v, idx)
	})
	if err != nil {
		return nil, nil, err
	}
	return res.([]byte)[from:to], noRelease, nil
}

func (c *Cache) dropCorrupt(path string, l diskLoc, err error) {
	c.log.Warn("cache: dropping unreadable cached data", "path", path, "page", l.idx, "err", err)
	c.mu.Lock()
	c.removePage(l.p, "corrupt")
	c.mu.Unlock()
}

// promote decides whether a disk read of a page brings the whole page into
// the memory tier: a read of the whole page does; a read of part of one
// does the second time in a short while (a doorkeeper: a page read once
// in a large working set would cost a whole page's read for a few KiB,
// the read amplification the disk tier exists to avoid).
func (c *Cache) promote(id uint64, idx uint32, whole bool) bool {
	if c.mem == nil {
		return false
	}
	k, ok := memKey(id, idx)
	if !ok {
		return false
	}
	if whole {
		return true
	}
	slot := &c.seen[splitmix(k)%uint64(len(c.seen))]
	if slot.Load() == k+1 {
		slot.Store(0)
		return true
	}
	slot.Store(k + 1)
	return false
}

// diskLoc is where a ready page is on disk, taken under mu.
type diskLoc struct {
	p       *page
	id      uint64
	ident   uint64
	pageLen int64
	idx     int64
	// packed files
	packed  bool
	pack    *os.File
	entryAt int64
	blocks  int64 // of the file
	// extents
	layout extentLayout
}

// locate finds page idx of the version v of path on disk, and marks it
// used.
func (c *Cache) locate(path string, v view, idx int64) (diskLoc, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.files[path]
	if f == nil || f.version() != v.version {
		return diskLoc{}, false
	}
	p := f.pageAt(uint32(idx))
	if p == nil || !p.ready() {
		return diskLoc{}, false
	}
	c.touch(p)
	l := diskLoc{p: p, id: f.id(), ident: identOf(path, v.version), pageLen: c.pageLen(f.size, idx), idx: idx}
	if f.has(flagExtent) {
		l.layout = c.extentLayout(f.size)
	} else {
		pk := c.packs[f.pack]
		if pk == nil {
			return diskLoc{}, false
		}
		l.packed, l.pack, l.entryAt, l.blocks = true, pk.f, int64(f.off), blocksIn(f.size, c.block)
	}
	return l, true
}

// readDisk reads bytes from to to of a page from disk: the blocks that
// hold them, checked against their checksums. With whole, the page is
// read into a buffer of its own (for the memory tier); otherwise into a
// pooled buffer, returned for putBuf.
func (c *Cache) readDisk(l diskLoc, from, to int64, whole bool) ([]byte, *[]byte, error) {
	b0, b1 := from/c.block, (to-1)/c.block+1 // blocks [b0, b1)
	dataLen := min(b1*c.block, l.pageLen) - b0*c.block
	nsums := 4 * (b1 - b0)
	var buf *[]byte
	var sums, data []byte
	if whole {
		all := make([]byte, nsums+dataLen)
		sums, data = all[:nsums], all[nsums:]
	} else {
		buf = c.getBuf(nsums + dataLen + 8 + 4*l.blocks)
	}
	var err error
	if l.packed {
		sums, data, err = c.readPacked(l, b0, nsums, dataLen, buf, sums, data)
	} else {
		if buf != nil {
			sums, data = (*buf)[:nsums], (*buf)[nsums:nsums+dataLen]
		}
		err = c.readExtent(l, b0, sums, data)
	}
	if err == nil {
		err = checkSums(sums, data, c.block, b0)
	}
	if err != nil {
		return nil, buf, err
	}
	return data[from-b0*c.block : to-b0*c.block], buf, nil
}

// readPacked reads the ident, the checksums of blocks from b0 and the
// blocks' bytes of a packed file: one pread when they are close together.
func (c *Cache) readPacked(l diskLoc, b0, nsums, dataLen int64, buf *[]byte, sums, data []byte) ([]byte, []byte, error) {
	hdr := 8 + 4*l.blocks
	dataAt := l.entryAt + hdr + b0*c.block
	var ident uint64
	if buf != nil && dataAt+dataLen-l.entryAt <= int64(cap(*buf)) {
		all := (*buf)[:dataAt+dataLen-l.entryAt]
		if err := readFull(l.pack, all, l.entryAt); err != nil {
			return nil, nil, err
		}
		ident = binary.LittleEndian.Uint64(all)
		sums, data = all[8+4*b0:8+4*b0+nsums], all[dataAt-l.entryAt:]
	} else {
		if buf != nil {
			sums, data = (*buf)[:nsums], (*buf)[nsums:nsums+dataLen]
		}
		head := make([]byte, 8+nsums)
		if err := readFull(l.pack, head[:8], l.entryAt); err != nil {
			return nil, nil, err
		}
		if err := readFull(l.pack, head[8:], l.entryAt+8+4*b0); err != nil {
			return nil, nil, err
		}
		ident = binary.LittleEndian.Uint64(head)
		copy(sums, head[8:])
		if err := readFull(l.pack, data, dataAt); err != nil {
			return nil, nil, err
		}
	}
	if ident != l.ident {
		return nil, nil, fmt.Errorf("%w: the pack entry is another file's", errCorrupt)
	}
	return sums, data, nil
}

// readExtent reads the checksums of blocks from b0 and their bytes from
// an extent.
func (c *Cache) readExtent(l diskLoc, b0 int64, sums, data []byte) error {
	f, err := c.extentFile(l.id, l.ident, false)
	if err != nil {
		return err
	}
	if err := readFull(f, sums, l.layout.sumsAt(l.idx)+4*b0); err != nil {
		return err
	}
	return readFull(f, data, l.layout.dataAt+l.idx*c.cfg.PageSize+b0*c.block)
}

// readFull reads len(p) bytes at off; a short file is corrupt.
func readFull(f *os.File, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: %s is short", errCorrupt, f.Name())
	}
	return err
}

// fetch reads a page from the origin and admits it.
func (c *Cache) fetch(ctx context.Context, path string, o Origin, v view, idx int64) ([]byte, error) {
	want := c.pageLen(v.meta.Size, idx)
	data := make([]byte, want)
	n, err := o.ReadAt(ctx, data, idx*c.cfg.PageSize)
	if int64(n) < want {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("cache: %s shrank while being read (page %d: %d of %d bytes)", path, idx, n, want)
		}
		return nil, err
	}
	c.stats.misses.Add(1)
	c.stats.pageIns.Add(1)
	c.stats.bytesIn.Add(want)
	if v.cacheable {
		if id, ok := c.admit(path, v.meta, idx, data); ok {
			c.memSet(id, uint32(idx), data)
		}
	}
	return data, nil
}
