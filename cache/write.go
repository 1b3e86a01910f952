package cache

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/alluvium/alluvium/policy"
)

// admit stores a page if the policies let it in, and reports whether it did.
func (c *Cache) admit(path string, meta Meta, idx int64, data []byte) bool {
	version := meta.Version()
	size := int64(len(data))
	c.mu.Lock()
	if c.pol.rule(path).Rule == policy.RuleSkipCache {
		c.stats.uncached++
		c.mu.Unlock()
		return false
	}
	f := c.files[path]
	if f != nil && f.version != version {
		c.dropFile(f, "stale")
		f = nil
	}
	if f != nil && f.pages[idx] != nil {
		c.mu.Unlock()
		return true // another reader admitted it
	}
	prio := c.pol.priority(path)
	qdir, budget, _ := c.pol.quota(path)
	if !c.reserve(prio, qdir, budget, size, f) {
		c.stats.uncached++
		c.mu.Unlock()
		return false
	}
	if f == nil || c.files[path] != f {
		now := c.now()
		f = &fileEntry{path: path, dir: c.fileDir(path), meta: meta, version: version, cachedAt: now,
			validatedAt: now, pages: map[int64]*pageEntry{}, priority: prio, quotaDir: qdir}
		c.files[path] = f
	}
	pe := &pageEntry{file: f, idx: idx, size: size}
	f.pages[idx] = pe
	c.account(f, size)
	writeMeta := !f.metaWritten
	f.metaWritten = true
	c.mu.Unlock()

	err := c.writePage(f, pe, data, writeMeta)

	c.mu.Lock()
	defer c.mu.Unlock()
	current := c.files[path] == f && f.pages[idx] == pe
	switch {
	case err != nil:
		c.log.Warn("cache: write page", "path", path, "page", idx, "err", err)
		if current {
			c.removePage(pe, "io")
		}
		return false
	case !current: // freed or evicted while being written
		c.removeFile(pageName(f.dir, idx))
		return false
	}
	pe.ready = true
	f.readyPages++
	c.link(pe)
	c.markComplete(f)
	return true
}

// admitEmpty caches an empty file: its metadata alone, so that it is held
// (and listed, freed and reported) like any other file.
func (c *Cache) admitEmpty(path string, meta Meta) error {
	version := meta.Version()
	c.mu.Lock()
	if c.pol.rule(path).Rule == policy.RuleSkipCache {
		c.mu.Unlock()
		return nil
	}
	f := c.files[path]
	if f != nil && f.version == version {
		c.mu.Unlock()
		return nil
	}
	if f != nil {
		c.dropFile(f, "stale")
	}
	now := c.now()
	f = &fileEntry{path: path, dir: c.fileDir(path), meta: meta, version: version, cachedAt: now, validatedAt: now,
		pages: map[int64]*pageEntry{}, priority: c.pol.priority(path), metaWritten: true}
	f.quotaDir, _, _ = c.pol.quota(path)
	c.files[path] = f
	c.mu.Unlock()

	err := c.writeMeta(f)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.dropFile(f, "io")
		return err
	}
	c.markComplete(f)
	return nil
}

func (c *Cache) writePage(f *fileEntry, pe *pageEntry, data []byte, writeMeta bool) error {
	if writeMeta {
		if err := c.writeMeta(f); err != nil {
			return err
		}
	}
	parts := [][]byte{encodeHeader(data, f.version), data}
	err := c.writeAtomic(pageName(f.dir, pe.idx), parts)
	if errors.Is(err, fs.ErrNotExist) {
		// Another page of the file, admitted first, writes the meta and
		// creates the directory; this one got here before it did.
		if err = os.MkdirAll(f.dir, 0o750); err == nil {
			err = c.writeAtomic(pageName(f.dir, pe.idx), parts)
		}
	}
	return err
}

// writeMeta makes a file's directory and writes its metadata.
func (c *Cache) writeMeta(f *fileEntry) error {
	fresh, err := makeFileDir(f.dir)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(metaFile{Path: f.path, Size: f.meta.Size, ModTime: f.meta.ModTime, ETag: f.meta.ETag, CachedAt: f.cachedAt})
	name := filepath.Join(f.dir, metaName)
	if fresh {
		// A directory this call made holds no older meta to keep whole:
		// the meta is written in place (a torn one fails to parse at
		// rebuild, which drops the directory). For small files this saves
		// a rename per file.
		return writeFile(name, [][]byte{raw}, c.cfg.Fsync)
	}
	return c.writeAtomic(name, [][]byte{raw})
}

// makeFileDir makes a file's page directory and reports whether this call
// made it: a Mkdir first (the shard directory is nearly always there), the
// shard too only when it is missing.
func makeFileDir(dir string) (fresh bool, err error) {
	err = os.Mkdir(dir, 0o750)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(dir), 0o750); err == nil {
			err = os.Mkdir(dir, 0o750)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

// writeAtomic writes through a uniquely named temporary file, so that
// concurrent writers of one name never share a temporary.
func (c *Cache) writeAtomic(name string, parts [][]byte) error {
	tmp := name + "." + strconv.FormatUint(c.tmpSeq.Add(1), 10) + tmpSuffix
	return writeFileAtomic(name, tmp, parts, c.cfg.Fsync)
}
