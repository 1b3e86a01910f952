package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// The file index in a snapshot (version 2): a record of the ceiling, a
// record of the holders' worker ids in name order, then records of packed
// entries, blockMax each (the last one fewer), encoded as in memory
// (appendEntry) with holders as ranks in that table. The records are cut
// and the holders numbered anew when writing, so the bytes depend only on
// the entries, not on how a replica happened to split its blocks or number
// its holders. A version-1 snapshot has one msgpack record per entry
// (recFileEntry) instead; Restore reads both.

// writeFiles streams the file index records through put (the record
// writer of WriteTo); a block record is written with putBlock.
func (s *Snapshot) writeFiles(put func(recordType, any), putBlock func([]byte) error) error {
	x := s.files
	put(recFileLimit, &fileLimitRecord{Limit: s.fileLimit, Refused: s.refused})
	inUse := map[uint32]bool{}
	x.tree.Ascend(func(b *block) bool {
		for _, h := range b.holders {
			inUse[h] = true
		}
		return true
	})
	ids := make([]uint32, 0, len(inUse))
	for h := range inUse {
		ids = append(ids, h)
	}
	slices.SortFunc(ids, func(a, b uint32) int { return strings.Compare(x.names[a], x.names[b]) })
	names := make([]string, len(ids))
	remap := make([]uint32, len(x.names))
	for rank, h := range ids {
		names[rank], remap[h] = x.names[h], uint32(rank)
	}
	put(recFileNames, names)
	var rec, prev, out []byte // reused: putBlock copies what it writes
	var hs []uint32
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		out = append(binary.AppendUvarint(out[:0], uint64(n)), rec...)
		err := putBlock(out)
		rec, prev, n = rec[:0], prev[:0], 0
		return err
	}
	var it blockIter
	var err error
	x.tree.Ascend(func(b *block) bool {
		for it.reset(b); it.next() && err == nil; {
			hs = hs[:0]
			for _, h := range it.hs() {
				hs = append(hs, remap[h])
			}
			slices.Sort(hs)
			rec = appendEntry(rec, prev, it.key(), it.size, it.replicas, hs)
			prev = append(prev[:0], it.key()...)
			if n++; n == blockMax {
				err = flush()
			}
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// fileRestore is the state of a restore's file index records.
type fileRestore struct {
	names bool   // the holder table was read
	last  []byte // the last path restored
}

// restoreFileRecord decodes one record of the file index (either version).
func (s *state) restoreFileRecord(dec *msgpack.Decoder, t recordType, fr *fileRestore) error {
	x := s.files
	switch t {
	case recFileEntry: // version 1
		if fr.names {
			return errors.New("a version-1 file entry among packed ones")
		}
		var v FileEntry
		if err := decodeSafely(dec, &v); err != nil {
			return err
		}
		e := ientry{path: v.Path, size: v.Size, replicas: v.Replicas}
		for _, w := range v.Workers {
			id := x.holderID(w)
			if i, has := slices.BinarySearch(e.holders, id); !has {
				e.holders = slices.Insert(e.holders, i, id)
			}
		}
		x.put(e)
	case recFileLimit:
		var v fileLimitRecord
		if err := decodeSafely(dec, &v); err != nil {
			return err
		}
		s.fileLimit = v.Limit
		for _, w := range v.Refused {
			s.refused[w] = struct{}{}
		}
	case recFileNames:
		var names []string
		if err := decodeSafely(dec, &names); err != nil {
			return err
		}
		if fr.names || x.count > 0 {
			return fmt.Errorf("a second holder table")
		}
		for _, w := range names {
			x.holderID(w)
		}
		fr.names = true
	case recFileBlock:
		var data []byte
		if err := decodeSafely(dec, &data); err != nil {
			return err
		}
		if !fr.names {
			return fmt.Errorf("file entries before the holder table")
		}
		return s.restoreBlock(data, fr)
	}
	return nil
}

// restoreBlock checks a record of packed entries (order, holders, counts)
// and adopts its bytes as a block of the index.
func (s *state) restoreBlock(data []byte, fr *fileRestore) error {
	x := s.files
	n, k := binary.Uvarint(data)
	if k <= 0 || n == 0 || n > blockMax {
		return errBadBlock
	}
	b := &block{n: int(n), data: data[k:]}
	var it blockIter
	seen := 0
	for it.reset(b); it.next(); seen++ {
		if len(it.key()) == 0 || fr.last != nil && bytes.Compare(it.key(), fr.last) <= 0 {
			return fmt.Errorf("file entry %q is out of order", it.key())
		}
		for i, h := range it.hs() {
			if int(h) >= len(x.names) || i > 0 && h <= it.hs()[i-1] {
				return errBadBlock
			}
			if j, has := slices.BinarySearch(b.holders, h); !has {
				b.holders = slices.Insert(b.holders, j, h)
			}
		}
		if seen == 0 {
			b.first = string(it.key())
		}
		fr.last = append(fr.last[:0], it.key()...)
	}
	if it.err != nil || seen != b.n {
		return errBadBlock
	}
	x.tree.ReplaceOrInsert(b)
	x.count += b.n
	return nil
}
