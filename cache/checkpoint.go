package cache

import (
	"bufio"
	"os"
)

// roll starts a new generation of the journal: a snapshot of the whole
// index (the records that rebuild it), then an empty log, and removes the
// older generations. The caller holds mu. It writes about 60 bytes a
// cached file at the speed of the page cache, and runs when the log has
// grown past twice the last snapshot, so its cost per change is constant.
func (c *Cache) roll() error {
	gen := c.jnl.gen + 1
	name := c.journalName("snap", gen)
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	var body, framed []byte
	put := func() {
		framed = frame(framed[:0], body)
		n += int64(len(framed))
		_, _ = w.Write(framed)
	}
	for _, e := range c.files {
		if !e.has(flagJournaled) {
			continue // its record follows when its page is written
		}
		r := fileRecord{id: e.id(), size: e.size, mtime: e.mtime, cachedAt: e.cachedAt, path: e.path}
		if e.x != nil {
			r.etag = e.x.etag
		}
		if !e.has(flagExtent) {
			body = appendPut(body[:0], recPutPacked, r)
			put()
			continue
		}
		body = appendPut(body[:0], recPutExtent, r)
		put()
		for idx, p := range e.x.pages {
			if p.ready() {
				body = appendRef(body[:0], recPage, r.id, idx)
				put()
			}
		}
	}
	err = w.Flush()
	if err == nil && c.cfg.Fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	lf, err := os.OpenFile(c.journalName("log", gen), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if c.jnl.f != nil {
		c.jnl.f.Close()
	}
	c.jnl.f, c.jnl.gen, c.jnl.bytes = lf, gen, 0
	c.snapBytes = n
	snaps, logs, err := c.journalFiles()
	if err != nil {
		return err
	}
	for _, g := range snaps {
		if g < gen {
			c.removeFile(c.journalName("snap", g))
		}
	}
	for _, g := range logs {
		if g < gen {
			c.removeFile(c.journalName("log", g))
		}
	}
	return nil
}
