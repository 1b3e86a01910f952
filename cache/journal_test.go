package cache

import (
	"bytes"
	"testing"
)

func TestRecordsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		want record
	}{
		{"packed", appendPut(nil, recPutPacked, fileRecord{id: packedID(3, 4096), size: 10, mtime: -5, cachedAt: 7, etag: "e", path: "/a/b"}),
			record{kind: recPutPacked, file: fileRecord{id: packedID(3, 4096), size: 10, mtime: -5, cachedAt: 7, etag: "e", path: "/a/b"}}},
		{"empty extent", appendPut(nil, recPutExtent, fileRecord{id: 9, path: "/e"}),
			record{kind: recPutExtent, file: fileRecord{id: 9, path: "/e"}}},
		{"page", appendRef(nil, recPage, 9, 12), record{kind: recPage, id: 9, idx: 12}},
		{"drop page", appendRef(nil, recDropPage, 9, 1), record{kind: recDropPage, id: 9, idx: 1}},
		{"drop", appendRef(nil, recDrop, packedID(1, 0), 0), record{kind: recDrop, id: packedID(1, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRecord(tc.body)
			if err != nil || got != tc.want {
				t.Fatalf("decode: %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestBadRecordsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"unknown kind", append([]byte{99}, make([]byte, 12)...)},
		{"packed id on an extent", appendPut(nil, recPutExtent, fileRecord{id: packedID(1, 1), size: 5, path: "/x"})},
		{"extent id on a packed file", appendPut(nil, recPutPacked, fileRecord{id: 5, size: 5, path: "/x"})},
		{"negative size", appendPut(nil, recPutExtent, fileRecord{id: 5, size: -1, path: "/x"})},
		{"etag past the end", append(appendPut(nil, recPutExtent, fileRecord{id: 5, size: 1})[:33], 200)},
		{"short page", appendRef(nil, recPage, 1, 1)[:12]},
		{"long drop", append(appendRef(nil, recDrop, 1, 0), 0)},
	} {
		if _, err := decodeRecord(tc.body); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// FuzzJournalRecord: no body makes decoding panic, and what decodes
// encodes back to the same bytes.
func FuzzJournalRecord(f *testing.F) {
	f.Add(appendPut(nil, recPutPacked, fileRecord{id: packedID(1, 2), size: 3, path: "/p"}))
	f.Add(appendPut(nil, recPutExtent, fileRecord{id: 4, size: 5, etag: "x", path: "/q"}))
	f.Add(appendRef(nil, recPage, 4, 1))
	f.Add(appendRef(nil, recDrop, 4, 0))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeRecord(body)
		if err != nil {
			return
		}
		var again []byte
		switch r.kind {
		case recPutPacked, recPutExtent:
			again = appendPut(nil, r.kind, r.file)
		default:
			again = appendRef(nil, r.kind, r.id, r.idx)
		}
		if !bytes.Equal(again, body) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", body, r, again)
		}
	})
}
