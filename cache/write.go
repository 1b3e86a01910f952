package cache

import (
	"os"

	"github.com/alluvium/alluvium/policy"
)

// newEntry makes the entry of a file about to be cached, packed if it is
// one page, else with an extent (an empty file has an extent of no pages:
// nothing on disk but its record). The caller holds mu.
func (c *Cache) newEntry(path string, meta Meta, prio policy.Priority, bucket uint16) *fileEntry {
	now := c.now().UnixNano()
	f := &fileEntry{path: path, size: meta.Size, mtime: meta.ModTime.UnixNano(), cachedAt: now, prio: prio, bucket: bucket}
	f.page.f = f
	if meta.ETag != "" {
		f.extra().etag = meta.ETag
	}
	c.files[path] = f
	if c.pageCount(meta.Size) != 1 {
		f.flags |= flagExtent | flagJournaled
		x := f.extra()
		x.id, x.pages = c.nextID, map[uint32]*page{}
		c.nextID++
		c.journalPut(f)
	}
	return f
}

// admit stores a page if the policies let it in, and reports whether it did,
// with the id of the file it belongs to.
func (c *Cache) admit(path string, meta Meta, idx int64, data []byte) (uint64, bool) {
	version := meta.Version()
	size := int64(len(data))
	c.mu.Lock()
	if c.pol.rule(path).Rule == policy.RuleSkipCache {
		c.stats.uncached.Add(1)
		c.mu.Unlock()
		return 0, false
	}
	f := c.files[path]
	if f != nil && f.version() != version {
		c.dropFile(f, "stale")
		f = nil
	}
	if f != nil && f.pageAt(uint32(idx)) != nil {
		id := f.id()
		c.mu.Unlock()
		return id, true // another reader admitted it
	}
	prio := c.pol.priority(path)
	qdir, budget, _ := c.pol.quota(path)
	b := c.bucketFor(qdir)
	if !c.reserve(prio, b, budget, size, f) {
		c.stats.uncached.Add(1)
		c.mu.Unlock()
		return 0, false
	}
	if f == nil || c.files[path] != f {
		f = c.newEntry(path, meta, prio, b)
	}
	p, dst, err := c.place(f, idx)
	if err != nil {
		c.log.Warn("cache: no room on disk", "path", path, "err", err)
		c.dropFile(f, "io")
		c.mu.Unlock()
		return 0, false
	}
	c.account(f, size)
	c.mu.Unlock()

	ident := identOf(path, version)
	err = c.writePage(dst, ident, idx, data)
	for try := 0; try < 2 && isDiskFull(err); try++ {
		c.mu.Lock() // make room as a full cache does, then try again
		shrunk := c.fitDisk(true)
		current := c.files[path] == f && f.pageAt(uint32(idx)) == p
		c.mu.Unlock()
		if !shrunk || !current {
			break
		}
		err = c.writePage(dst, ident, idx, data)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	current := c.files[path] == f && f.pageAt(uint32(idx)) == p
	switch {
	case err != nil:
		c.log.Warn("cache: write page", "path", path, "page", idx, "err", err)
		if current {
			c.removePage(p, "io")
		}
		return 0, false
	case !current: // freed or evicted while being written
		if !dst.packed && c.files[path] != f {
			c.removeExtent(dst.id) // the write may have made it again
		}
		return 0, false
	}
	c.ready(f, p)
	return f.id(), true
}

// target is where a page is written, decided under mu.
type target struct {
	packed bool
	file   *os.File // a pack's
	off    int64
	id     uint64 // an extent's
	layout extentLayout
}

// place reserves page idx of f on disk: the file's place in the active pack,
// or a page of its extent. The caller holds mu.
func (c *Cache) place(f *fileEntry, idx int64) (*page, target, error) {
	if f.has(flagExtent) {
		p := &page{f: f, idx: uint32(idx)}
		f.x.pages[uint32(idx)] = p
		return p, target{id: f.x.id, layout: c.extentLayout(f.size)}, nil
	}
	num, off, err := c.packReserve(c.packEntryLen(f.size))
	if err != nil {
		return nil, target{}, err
	}
	f.pack, f.off = num, off
	return &f.page, target{packed: true, file: c.packs[num].f, off: int64(off)}, nil
}

// writePage writes a page's bytes and checksums where place put it.
func (c *Cache) writePage(t target, ident uint64, idx int64, data []byte) error {
	var f *os.File
	var err error
	if t.packed {
		f, err = t.file, c.writePacked(t.file, t.off, ident, data)
	} else if f, err = c.extentFile(t.id, ident, true); err == nil {
		err = c.writeExtentPage(f, t.layout, idx, data)
	}
	if err == nil && c.cfg.Fsync {
		err = f.Sync()
	}
	return err
}

// ready makes a written page ready and records it in the journal. The
// caller holds mu. A record always follows the change it records: a
// snapshot taken when the record rolls the log must see the change.
func (c *Cache) ready(f *fileEntry, p *page) {
	c.link(p)
	if f.has(flagExtent) {
		f.x.ready++
		c.journalRef(recPage, f.x.id, p.idx)
	} else {
		f.flags |= flagJournaled
		c.journalPut(f)
	}
	c.markComplete(f)
}

// admitEmpty caches an empty file: its metadata alone, so that it is held
// (and listed, freed and reported) like any other file.
func (c *Cache) admitEmpty(path string, meta Meta) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pol.rule(path).Rule == policy.RuleSkipCache {
		return nil
	}
	f := c.files[path]
	if f != nil && f.version() == meta.Version() {
		return nil
	}
	if f != nil {
		c.dropFile(f, "stale")
	}
	qdir, _, _ := c.pol.quota(path)
	f = c.newEntry(path, meta, c.pol.priority(path), c.bucketFor(qdir))
	c.markComplete(f)
	return nil
}

// journalPut appends the put record of f. The caller holds mu.
func (c *Cache) journalPut(f *fileEntry) {
	kind := byte(recPutPacked)
	if f.has(flagExtent) {
		kind = recPutExtent
	}
	r := fileRecord{id: f.id(), size: f.size, mtime: f.mtime, cachedAt: f.cachedAt, path: f.path}
	if f.x != nil {
		r.etag = f.x.etag
	}
	c.rec = appendPut(c.rec[:0], kind, r)
	c.journal()
}

// journalRef appends a page, drop-page or drop record. The caller holds mu.
func (c *Cache) journalRef(kind byte, id uint64, idx uint32) {
	c.rec = appendRef(c.rec[:0], kind, id, idx)
	c.journal()
}

// journal appends the record in c.rec, and starts a new generation of the
// journal when the log has grown past twice the last snapshot.
func (c *Cache) journal() {
	if c.jnl == nil {
		return
	}
	if err := c.jnl.append(c.rec); err != nil {
		c.log.Warn("cache: journal", "err", err)
	}
	if c.jnl.bytes > max(c.cfg.minRoll, 2*c.snapBytes) {
		if err := c.roll(); err != nil {
			// Try again when the log has doubled, not at every record:
			// a disk that is full would make each one write a snapshot.
			c.snapBytes = c.jnl.bytes
			c.log.Warn("cache: journal snapshot", "err", err)
		}
	}
}

// minRoll is the least a log grows before a snapshot replaces it.
const minRoll = 32 << 20
