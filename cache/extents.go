package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// A file of several pages has an extent: one file of its own,
//
//	magic "ALVX" | format 1 | 3 reserved | ident (uint64, see identOf)
//	the CRC-32C of each block of each page, page after page
//	(aligned to 4 KiB) the pages, each at its offset in the file
//
// sparse where pages are not cached; an evicted page's bytes are punched
// out. Pages are written in place: a page's record in the journal follows
// its bytes, and its checksums catch a page torn by a crash.
const (
	extentMagic  = "ALVX"
	extentFormat = 1
	extentHeader = 16
)

// extentLayout is where a page's checksums and bytes are in an extent.
type extentLayout struct {
	blocksPerPage int64
	dataAt        int64
}

func (c *Cache) extentLayout(size int64) extentLayout {
	bpp := blocksIn(c.cfg.PageSize, c.block)
	sums := extentHeader + c.pageCount(size)*bpp*4
	return extentLayout{blocksPerPage: bpp, dataAt: (sums + 4095) &^ 4095}
}

func (l extentLayout) sumsAt(idx int64) int64 { return extentHeader + idx*l.blocksPerPage*4 }

func (c *Cache) extentName(id uint64) string {
	return filepath.Join(c.cfg.Dir, storeDir, "extents", fmt.Sprintf("%02x", id&0xff), fmt.Sprintf("%x", id))
}

// extentFiles keeps extents open, up to a limit: opening a file for each
// read would cost more than the read (docs/performance.md).
type extentFiles struct {
	mu    sync.Mutex
	open  map[uint64]*os.File
	limit int
}

var errForeignExtent = errors.New("cache: extent of another file")

// extentFile returns the open extent id, opening it (and with create, making it)
// when it is not; its ident must be ident.
func (c *Cache) extentFile(id, ident uint64, create bool) (*os.File, error) {
	e := &c.extents
	e.mu.Lock()
	defer e.mu.Unlock()
	if f := e.open[id]; f != nil {
		return f, nil
	}
	name := c.extentName(id)
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
		if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(name, flags, 0o600)
	if err != nil {
		return nil, err
	}
	if err := checkExtentHeader(f, ident, create); err != nil {
		f.Close()
		return nil, err
	}
	if len(e.open) >= e.limit {
		for k, old := range e.open { // any one: a cache of descriptors
			old.Close() // reads under way finish first
			delete(e.open, k)
			break
		}
	}
	e.open[id] = f
	return f, nil
}

// checkExtentHeader checks an extent's header, writing it first when the
// file is new (create).
func checkExtentHeader(f *os.File, ident uint64, create bool) error {
	var h [extentHeader]byte
	n, err := f.ReadAt(h[:], 0)
	if n == 0 && create && errors.Is(err, io.EOF) {
		copy(h[:], extentMagic)
		h[4] = extentFormat
		binary.LittleEndian.PutUint64(h[8:], ident)
		_, err = f.WriteAt(h[:], 0)
		return err
	}
	if n < extentHeader || string(h[:4]) != extentMagic || h[4] != extentFormat || binary.LittleEndian.Uint64(h[8:]) != ident {
		return fmt.Errorf("%w: %s", errForeignExtent, f.Name())
	}
	return nil
}

// removeExtent closes and removes extent id.
func (c *Cache) removeExtent(id uint64) {
	e := &c.extents
	e.mu.Lock()
	if f := e.open[id]; f != nil {
		f.Close()
		delete(e.open, id)
	}
	e.mu.Unlock()
	c.removeFile(c.extentName(id))
}

// punch frees the disk blocks of an evicted page of an extent.
func (c *Cache) punch(id, ident uint64, off, n int64) {
	f, err := c.extentFile(id, ident, false)
	if err != nil {
		return // gone or foreign: nothing of it is served
	}
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.Fallocate(int(fd), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
		})
	}
}

// writeExtentPage writes a page of an extent: its bytes, then its
// checksums.
func (c *Cache) writeExtentPage(f *os.File, l extentLayout, idx int64, data []byte) error {
	if _, err := f.WriteAt(data, l.dataAt+idx*c.cfg.PageSize); err != nil {
		return err
	}
	sums := make([]byte, 4*blocksIn(int64(len(data)), c.block))
	putSums(sums, data, c.block)
	_, err := f.WriteAt(sums, l.sumsAt(idx))
	return err
}
