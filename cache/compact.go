package cache

import (
	"encoding/binary"
	"fmt"
)

// The compactor copies the live entries of a sealed pack that is less than
// half live into the active pack, so that the pack's file can go: the disk
// a pack takes stays within about twice what its files need. It runs in
// the background, one pack at a time, only while there is work, and holds
// the lock only between copies.
func (c *Cache) compactor() {
	for {
		c.mu.Lock()
		if len(c.compactQueue) == 0 {
			c.compactorRunning = false
			c.mu.Unlock()
			return
		}
		num := c.compactQueue[0]
		c.compactQueue = c.compactQueue[1:]
		c.mu.Unlock()
		c.compact(num)
		c.mu.Lock()
		delete(c.compacting, num)
		c.mu.Unlock()
	}
}

// compact moves every live entry of pack num.
func (c *Cache) compact(num uint32) {
	c.mu.Lock()
	var live []*fileEntry
	for _, f := range c.files {
		if !f.has(flagExtent) && f.pack == num && f.page.ready() {
			live = append(live, f)
		}
	}
	c.mu.Unlock()
	for _, f := range live {
		select {
		case <-c.done:
			return
		default:
		}
		if err := c.move(f, num); err != nil {
			c.log.Warn("cache: compacting a pack", "pack", num, "path", f.path, "err", err)
		}
	}
}

// move copies f's entry out of pack num, checked, to the active pack.
func (c *Cache) move(f *fileEntry, num uint32) error {
	c.mu.Lock()
	src := c.packs[num]
	if c.files[f.path] != f || f.pack != num || !f.page.ready() || src == nil {
		c.mu.Unlock()
		return nil
	}
	n := c.packEntryLen(f.size)
	oldOff, ident := int64(f.off), identOf(f.path, f.version())
	dnum, doff, err := c.packReserve(n)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	dst := c.packs[dnum].f
	c.mu.Unlock()

	buf := c.getBuf(n)
	defer c.putBuf(buf)
	entry := (*buf)[:n]
	hdr := 8 + 4*blocksIn(f.size, c.block)
	err = readFull(src.f, entry, oldOff)
	if err == nil && binary.LittleEndian.Uint64(entry) != ident {
		err = fmt.Errorf("%w: the pack entry is another file's", errCorrupt)
	}
	if err == nil {
		err = checkSums(entry[8:hdr], entry[hdr:], c.block, 0)
	}
	if err == nil {
		_, err = dst.WriteAt(entry, int64(doff))
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || c.files[f.path] != f || f.pack != num || int64(f.off) != oldOff {
		c.packRelease(dnum, n)
		if err != nil && c.files[f.path] == f && f.pack == num {
			c.dropFile(f, "corrupt")
		}
		return err
	}
	oldID := f.id()
	f.pack, f.off = dnum, doff
	c.journalPut(f)
	c.memDel(oldID, 0)
	c.packRelease(num, n)
	return nil
}
