package cache

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// The journal is how the index outlives the process. Every change of what
// is cached on disk appends a record; Open replays the newest snapshot and
// the logs after it. Records carry no data: the bytes and their checksums
// are in the packs and extents, written before the record that names them,
// so a record that survives a crash its data did not is caught by the
// checksums on the first read. Nothing is synced unless Config.Fsync: a
// lost tail of the journal only forgets what was cached last.
//
// A record is framed as
//
//	body length (uint32) | CRC-32C of the body (uint32) | body
//
// and replay stops at the first frame that fails (a torn tail).
const (
	recPutPacked = 1 + iota // a file of one page in a pack
	recPutExtent            // a file of several pages, in its extent
	recPage                 // a page of an extent was written
	recDropPage             // a page of an extent was evicted
	recDrop                 // a file was dropped
)

// maxRecord bounds a record's body: a path, an ETag and fixed fields.
const maxRecord = 64 << 10

// fileRecord is what a put record says of a file.
type fileRecord struct {
	id       uint64 // packed: packedID(pack, off)
	size     int64
	mtime    int64 // unix nanoseconds
	cachedAt int64 // unix nanoseconds
	etag     string
	path     string
}

// record is one decoded journal record.
type record struct {
	kind byte
	file fileRecord // puts
	id   uint64     // page, drop-page and drop records
	idx  uint32     // page and drop-page records
}

// packedID is the id of a packed file: its place, which is never reused.
// Extents are numbered below 1<<62.
func packedID(pack, off uint32) uint64 { return 1<<62 | uint64(pack)<<32 | uint64(off) }

func isPackedID(id uint64) bool { return id>>62 == 1 }

func splitPackedID(id uint64) (pack, off uint32) { return uint32(id>>32) & (1<<30 - 1), uint32(id) }

// appendPut appends a put record of f, of the given kind.
func appendPut(b []byte, kind byte, f fileRecord) []byte {
	b = append(b, kind)
	b = binary.LittleEndian.AppendUint64(b, f.id)
	b = binary.LittleEndian.AppendUint64(b, uint64(f.size))
	b = binary.LittleEndian.AppendUint64(b, uint64(f.mtime))
	b = binary.LittleEndian.AppendUint64(b, uint64(f.cachedAt))
	b = binary.AppendUvarint(b, uint64(len(f.etag)))
	b = append(b, f.etag...)
	return append(b, f.path...)
}

// appendRef appends a page, drop-page or drop record.
func appendRef(b []byte, kind byte, id uint64, idx uint32) []byte {
	b = append(b, kind)
	b = binary.LittleEndian.AppendUint64(b, id)
	if kind != recDrop {
		b = binary.LittleEndian.AppendUint32(b, idx)
	}
	return b
}

var errBadRecord = errors.New("cache: bad journal record")

// decodeRecord decodes a record's body.
func decodeRecord(b []byte) (record, error) {
	if len(b) < 9 {
		return record{}, errBadRecord
	}
	r := record{kind: b[0]}
	switch r.kind {
	case recPutPacked, recPutExtent:
		if len(b) < 33 {
			return record{}, errBadRecord
		}
		r.file = fileRecord{id: binary.LittleEndian.Uint64(b[1:]), size: int64(binary.LittleEndian.Uint64(b[9:])),
			mtime: int64(binary.LittleEndian.Uint64(b[17:])), cachedAt: int64(binary.LittleEndian.Uint64(b[25:]))}
		n, k := binary.Uvarint(b[33:])
		if k <= 0 || k != len(binary.AppendUvarint(nil, n)) || n > uint64(len(b)-33-k) {
			return record{}, errBadRecord
		}
		rest := b[33+k:]
		r.file.etag, r.file.path = string(rest[:n]), string(rest[n:])
		if r.file.size < 0 || (r.kind == recPutPacked) != isPackedID(r.file.id) {
			return record{}, errBadRecord
		}
	case recPage, recDropPage:
		if len(b) != 13 {
			return record{}, errBadRecord
		}
		r.id, r.idx = binary.LittleEndian.Uint64(b[1:]), binary.LittleEndian.Uint32(b[9:])
	case recDrop:
		if len(b) != 9 {
			return record{}, errBadRecord
		}
		r.id = binary.LittleEndian.Uint64(b[1:])
	default:
		return record{}, errBadRecord
	}
	return r, nil
}

// frame appends the frame of body to b.
func frame(b, body []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
	return append(b, body...)
}

// readRecords calls fn for each record of a journal file in order, and
// returns at its end or at the first frame that fails its checks.
func readRecords(name string, fn func(record)) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var hdr [8]byte
	body := make([]byte, 0, 256)
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil // the end, or a torn frame header
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n > maxRecord {
			return fmt.Errorf("%w: %d bytes", errBadRecord, n)
		}
		body = body[:n]
		if _, err := io.ReadFull(br, body); err != nil {
			return nil
		}
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
			return fmt.Errorf("%w: checksum", errBadRecord)
		}
		r, err := decodeRecord(body)
		if err != nil {
			return err
		}
		fn(r)
	}
}

// journal is the log being appended to. The caller holds Cache.mu.
type journal struct {
	f     *os.File
	gen   uint64
	bytes int64
	fsync bool
	buf   []byte
}

// append writes one record (body) to the log.
func (j *journal) append(body []byte) error {
	j.buf = frame(j.buf[:0], body)
	if _, err := j.f.Write(j.buf); err != nil {
		return err
	}
	j.bytes += int64(len(j.buf))
	if j.fsync {
		return j.f.Sync()
	}
	return nil
}
