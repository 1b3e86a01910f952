package cache

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// Files of one page (most files of a small-file data set) are packed:
// appended to a pack, a file of up to packLimit bytes, one entry after the
// other:
//
//	ident (uint64, see identOf) | CRC-32C of each block | data
//
// A pack is only appended to, and a place in it is never reused: a pack
// whose entries are mostly dropped is compacted (its live entries copied to
// the active pack) and removed. Caching ten million 4 KiB files so costs
// a few hundred files, not ten million, and a read is one pread on a file
// kept open.
const packLimit = 256 << 20

// pack is one pack file. The Cache's mu guards its fields.
type pack struct {
	f      *os.File
	size   int64 // bytes appended or reserved
	live   int64 // bytes of the entries of cached files
	sealed bool  // full (or from before Open): only read from now on
}

// packEntryLen is the length of the entry of a file of size bytes.
func (c *Cache) packEntryLen(size int64) int64 {
	return 8 + 4*blocksIn(size, c.block) + size
}

func (c *Cache) packName(n uint32) string {
	return filepath.Join(c.cfg.Dir, storeDir, "packs", fmt.Sprintf("%08x", n))
}

// packReserve reserves n bytes in the active pack, opening a new one when
// it is full, and returns where. The caller holds mu.
func (c *Cache) packReserve(n int64) (num, off uint32, err error) {
	p := c.packs[c.activePack]
	if p == nil || p.size+n > c.cfg.packLimit {
		if p != nil {
			p.sealed = true
			c.maybeCompact(c.activePack, p)
		}
		num = c.nextPack
		f, err := os.OpenFile(c.packName(num), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return 0, 0, err
		}
		c.nextPack++
		p = &pack{f: f}
		c.packs[num] = p
		c.activePack = num
	}
	off = uint32(p.size)
	p.size += n
	p.live += n
	return c.activePack, off, nil
}

// packRelease gives back the n bytes of a dropped entry; a sealed pack with
// nothing left is removed, one mostly empty is compacted. The caller holds
// mu.
func (c *Cache) packRelease(num uint32, n int64) {
	p := c.packs[num]
	if p == nil {
		return
	}
	p.live -= n
	if p.sealed && p.live <= 0 {
		delete(c.packs, num)
		p.f.Close() // reads under way finish first; later ones fail and look again
		c.removeFile(c.packName(num))
		return
	}
	c.maybeCompact(num, p)
}

// maybeCompact asks the compactor to compact a sealed pack less than half
// live. The caller holds mu.
func (c *Cache) maybeCompact(num uint32, p *pack) {
	if !p.sealed || p.live*2 >= p.size || c.compacting[num] || c.closed {
		return
	}
	c.compacting[num] = true
	c.compactQueue = append(c.compactQueue, num)
	if !c.compactorRunning {
		c.compactorRunning = true
		c.bg.Go(c.compactor)
	}
}

// writePacked writes a packed file's entry: its ident, checksums and data.
func (c *Cache) writePacked(f *os.File, off int64, ident uint64, data []byte) error {
	nb := blocksIn(int64(len(data)), c.block)
	hdr := 8 + 4*nb
	if len(data) <= 64<<10 {
		buf := c.getBuf(hdr + int64(len(data)))
		defer c.putBuf(buf)
		b := (*buf)[:hdr+int64(len(data))]
		binary.LittleEndian.PutUint64(b, ident)
		putSums(b[8:hdr], data, c.block)
		copy(b[hdr:], data)
		_, err := f.WriteAt(b, off)
		return err
	}
	h := make([]byte, hdr)
	binary.LittleEndian.PutUint64(h, ident)
	putSums(h[8:], data, c.block)
	if _, err := f.WriteAt(h, off); err != nil {
		return err
	}
	_, err := f.WriteAt(data, off+hdr)
	return err
}
