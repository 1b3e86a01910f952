package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
)

// A page file is a fixed header followed by the page's bytes:
//
//	magic "ALVP" | format 1 | 3 reserved | crc32c of data | data length | file version
//
// The file version ties a page to the UFS file version it was read from
// (size, mtime, ETag), so pages of an older version are never mixed in.
const (
	pageMagic      = "ALVP"
	pageFormat     = 1
	pageHeaderSize = 4 + 1 + 3 + 4 + 4 + 8
	tmpSuffix      = ".tmp"
	metaName       = "meta"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a page that fails its checks; it is dropped and refetched.
var errCorrupt = errors.New("cache: corrupt page")

// Meta identifies a version of a UFS file.
type Meta struct {
	Size    int64
	ModTime time.Time
	ETag    string
}

// Changed reports whether o is a different version of the file.
func (m Meta) Changed(o Meta) bool {
	return m.Size != o.Size || !m.ModTime.Equal(o.ModTime) || m.ETag != o.ETag
}

// Version is a hash of the version's size, mtime and ETag: what ties a
// page to the UFS file version it was read from. Workers compare it to tell
// whether a peer's copy is the version the UFS has now.
func (m Meta) Version() uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(m.Size))
	binary.LittleEndian.PutUint64(b[8:], uint64(m.ModTime.UnixNano()))
	h := xxhash.New()
	_, _ = h.Write(b[:])
	_, _ = h.WriteString(m.ETag)
	return h.Sum64()
}

// fileDir is where a file's pages live: pages/<2 hex>/<sha256 hex>.
func (c *Cache) fileDir(path string) string {
	sum := sha256.Sum256([]byte(path))
	name := hex.EncodeToString(sum[:])
	return filepath.Join(c.cfg.Dir, "pages", name[:2], name)
}

func pageName(dir string, idx int64) string {
	return filepath.Join(dir, strconv.FormatInt(idx, 10))
}

// writeFileAtomic writes data to name through the temporary file tmp (in the
// same directory) and a rename, so that a reader or a crash sees the old
// file or the whole new one.
func writeFileAtomic(name, tmp string, parts [][]byte, fsync bool) error {
	err := writeFile(tmp, parts, fsync)
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// writeFile writes parts to name, synced when fsync is set. Small parts
// are joined first: one write costs less than a copy of a few KiB.
func writeFile(name string, parts [][]byte, fsync bool) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	if len(parts) > 1 && total <= 64<<10 {
		parts = [][]byte{slices.Concat(parts...)}
	}
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			break
		}
	}
	if err == nil && fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func encodeHeader(data []byte, version uint64) []byte {
	h := make([]byte, pageHeaderSize)
	copy(h, pageMagic)
	h[4] = pageFormat
	binary.LittleEndian.PutUint32(h[8:], crc32.Checksum(data, castagnoli))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[16:], version)
	return h
}

type pageHeader struct {
	crc     uint32
	length  int64
	version uint64
}

func decodeHeader(h []byte) (pageHeader, error) {
	if len(h) < pageHeaderSize || string(h[:4]) != pageMagic || h[4] != pageFormat {
		return pageHeader{}, errCorrupt
	}
	return pageHeader{
		crc:     binary.LittleEndian.Uint32(h[8:]),
		length:  int64(binary.LittleEndian.Uint32(h[12:])),
		version: binary.LittleEndian.Uint64(h[16:]),
	}, nil
}

// readPageFile reads and checks a whole page file.
func readPageFile(name string, version uint64, want int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, pageHeaderSize+want)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if int64(n) != pageHeaderSize+want {
		return nil, fmt.Errorf("%w: %s is %d bytes, want %d", errCorrupt, name, n, pageHeaderSize+want)
	}
	h, err := decodeHeader(buf)
	if err != nil {
		return nil, err
	}
	data := buf[pageHeaderSize:]
	if h.length != want || h.version != version || crc32.Checksum(data, castagnoli) != h.crc {
		return nil, fmt.Errorf("%w: %s fails its checksum or version", errCorrupt, name)
	}
	return data, nil
}
