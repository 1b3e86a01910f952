package cache

import (
	"bytes"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// FuzzPageFile checks the page file format, which a worker reads back after
// a crash or a torn write: a page it wrote reads back as itself; one flipped
// bit anywhere but the reserved bytes is caught (the page is refetched, not
// served); and whatever arbitrary bytes it accepts are exactly a header
// that matches the data, its length and its version.
func FuzzPageFile(f *testing.F) {
	for _, s := range []struct {
		data    string
		version uint64
		bit     uint32
		raw     string
		want    uint16
	}{
		{"hello, page", 42, 0, "", 0},
		{"", 0, 7, "ALVP\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 0},
		{string(bytes.Repeat([]byte{0xff}, 4096)), 1<<64 - 1, 8*24 + 3, "ALVP\x02", 4},
		{"x", 7, 8*5 + 1, "ALVP\x01\xff\xff\xff", 1},
		{"abc", 3, 8*12 + 31, "not a page file at all", 3},
	} {
		f.Add([]byte(s.data), s.version, s.bit, []byte(s.raw), s.want)
	}
	// Three page files an input: on tmpfs when there is one, so that the
	// fuzzer measures the decoder rather than the disk.
	dir, err := os.MkdirTemp("/dev/shm", "pagefuzz-")
	if err != nil {
		dir = f.TempDir()
	} else {
		f.Cleanup(func() { os.RemoveAll(dir) })
	}
	name := filepath.Join(dir, "0")
	f.Fuzz(func(t *testing.T, data []byte, version uint64, bit uint32, raw []byte, want uint16) {
		// What the cache writes reads back as itself.
		good := append(encodeHeader(data, version), data...)
		h, err := decodeHeader(good)
		if err != nil || h.length != int64(len(data)) || h.version != version || h.crc != crc32.Checksum(data, castagnoli) {
			t.Fatalf("decodeHeader(encodeHeader(%d bytes, %d)) = %+v, %v", len(data), version, h, err)
		}
		if err := os.WriteFile(name, good, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readPageFile(name, version, int64(len(data)))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("a written page reads back as %d bytes, %v", len(got), err)
		}

		// One flipped bit is caught, unless it is in the reserved bytes.
		pos := int(bit/8) % len(good)
		if pos < 5 || pos > 7 {
			bad := bytes.Clone(good)
			bad[pos] ^= 1 << (bit % 8)
			if err := os.WriteFile(name, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			if got, err := readPageFile(name, version, int64(len(data))); !errors.Is(err, errCorrupt) {
				t.Fatalf("a page with bit %d of byte %d flipped was accepted (%d bytes, %v)", bit%8, pos, len(got), err)
			}
		}

		// Arbitrary bytes: refused as corrupt, or exactly a valid page.
		if err := os.WriteFile(name, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err = readPageFile(name, version, int64(want))
		if err != nil {
			return // any error drops the page and refetches it
		}
		// Bytes past the page are not read (rebuild's pageFileOK refuses
		// such a file by its size); the page itself must be exact.
		if len(got) != int(want) || len(raw) < pageHeaderSize+int(want) {
			t.Fatalf("accepted %d bytes of a %d-byte file as a %d-byte page", len(got), len(raw), want)
		}
		norm := bytes.Clone(raw[:pageHeaderSize])
		copy(norm[5:8], []byte{0, 0, 0}) // reserved: not checked
		if !bytes.Equal(norm, encodeHeader(got, version)) || !bytes.Equal(raw[pageHeaderSize:pageHeaderSize+int(want)], got) {
			t.Fatalf("accepted a page whose header %x does not match its data", raw[:pageHeaderSize])
		}
	})
}
