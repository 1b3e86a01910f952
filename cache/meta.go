package cache

import (
	"encoding/binary"
	"time"

	"github.com/cespare/xxhash/v2"
)

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

// Version is a hash of the version's size, mtime and ETag: what ties
// cached bytes to the UFS file version they were read from. Workers compare
// it to tell whether a peer's copy is the version the UFS has now.
func (m Meta) Version() uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(m.Size))
	binary.LittleEndian.PutUint64(b[8:], uint64(m.ModTime.UnixNano()))
	h := xxhash.New()
	_, _ = h.Write(b[:])
	_, _ = h.WriteString(m.ETag)
	return h.Sum64()
}

// identOf names one version of one file on disk: it is written before the
// file's checksums and compared on every read, so that bytes of another
// file or of another version of this one (a pack slot or an extent left by
// a crash, a reused name) can never pass for this one, even where their
// checksums are right.
func identOf(path string, version uint64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], version)
	h := xxhash.New()
	_, _ = h.WriteString(path)
	_, _ = h.Write(b[:])
	return h.Sum64()
}
