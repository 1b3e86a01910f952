package fsm

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"

	"github.com/google/btree"
)

// The file index holds tens of millions of entries, so it is stored packed:
// sorted, immutable blocks of up to blockMax entries, front-coded (each path
// as the length of the prefix it shares with the previous one and the rest),
// sizes, replica counts and holders as varints, holders as small integers
// into an interned table of worker ids. A B-tree of blocks, keyed by their
// first path, orders them. A change decodes the block it falls in into a
// working set (ientry values), edits it there, and writes it back as new
// blocks when the next change falls elsewhere or the command ends (flush):
// a batch of a load job, which arrives in listing order, decodes and encodes
// each block it touches once. Blocks are never changed in place, so a
// Snapshot clones the B-tree copy-on-write and streams the blocks later.
//
// Holder ids are assigned in Apply order and never reused; they are local
// to a replica (a restored one numbers them by name): nothing observable
// depends on them, the snapshot writes holders by name rank.

const (
	blockMax = 256           // entries a block holds at most
	blockMin = 64            // a block smaller than this merges with a neighbour
	workMax  = 32 * blockMax // a working set this large is written back at once (long runs of inserts)
)

// block is a run of entries in path order, encoded by appendEntry.
type block struct {
	first   string   // path of the first entry: the block's key
	n       int      // entries
	data    []byte   // the entries, front-coded from the first
	holders []uint32 // distinct holder ids of the entries, sorted: lets a scan for one holder skip blocks
}

// ientry is one decoded entry; holders are ids, ascending.
type ientry struct {
	path     string
	size     int64
	replicas int
	holders  []uint32
}

// fileIndex is the file index of a state.
type fileIndex struct {
	tree  *btree.BTreeG[*block]
	count int
	names []string          // holder id -> worker id
	ids   map[string]uint32 // worker id -> holder id
	work  *workSet          // the block being edited, until flush
	enc   []byte            // scratch buffer of encodeBlock
}

// workSet is a decoded block under edit. orig is the block it replaces
// (nil when the index had none); the paths from lo (all when first) to
// before hi (all when last) fall in it.
type workSet struct {
	orig        *block
	es          []ientry
	lo, hi      string
	first, last bool
}

// covers reports whether path falls in the working set's block.
func (w *workSet) covers(path string) bool {
	return (w.first || path >= w.lo) && (w.last || path < w.hi)
}

func newFileIndex() *fileIndex {
	return &fileIndex{tree: newBlockTree(), ids: map[string]uint32{}}
}

func newBlockTree() *btree.BTreeG[*block] {
	return btree.NewG(16, func(a, b *block) bool { return a.first < b.first })
}

// holderID returns w's id, assigning the next one to a new worker.
func (x *fileIndex) holderID(w string) uint32 {
	if id, ok := x.ids[w]; ok {
		return id
	}
	id := uint32(len(x.names))
	x.names = append(x.names, w)
	x.ids[w] = id
	return id
}

// locate returns the block that path falls in: the last one whose first
// path is not after it, else the first block (nil when there is none).
func locate(t *btree.BTreeG[*block], path string) *block {
	var found *block
	t.DescendLessOrEqual(&block{first: path}, func(b *block) bool { found = b; return false })
	if found == nil {
		found, _ = t.Min()
	}
	return found
}

// load makes the block that path falls in the working set.
func (x *fileIndex) load(path string) {
	if x.work != nil {
		if x.work.covers(path) {
			return
		}
		x.flush()
	}
	b := locate(x.tree, path)
	w := &workSet{orig: b, es: decodeBlock(b, nil), first: true, last: true}
	if b != nil {
		x.tree.DescendLessOrEqual(b, func(p *block) bool {
			if p != b {
				w.lo, w.first = b.first, false
			}
			return p == b
		})
		x.tree.AscendGreaterOrEqual(b, func(n *block) bool {
			if n != b {
				w.hi, w.last = n.first, false
			}
			return n == b
		})
	}
	x.work = w
}

// find returns the working set's index of path, and whether it is there.
func (w *workSet) find(path string) (int, bool) {
	return slices.BinarySearchFunc(w.es, path, func(e ientry, p string) int { return strings.Compare(e.path, p) })
}

// get returns the entry of path.
func (x *fileIndex) get(path string) (ientry, bool) {
	if x.work != nil && x.work.covers(path) {
		if i, ok := x.work.find(path); ok {
			return x.work.es[i], true
		}
		return ientry{}, false
	}
	b := locate(x.tree, path)
	if b == nil {
		return ientry{}, false
	}
	var it blockIter
	for it.reset(b); it.next(); {
		if c := strings.Compare(string(it.key()), path); c >= 0 {
			if c > 0 {
				break
			}
			return it.entry(), true
		}
	}
	return ientry{}, false
}

// put stores e (replacing the entry of its path); an entry with no holder
// is kept (FileIndexAdd records paths without holders).
func (x *fileIndex) put(e ientry) {
	x.load(e.path)
	i, ok := x.work.find(e.path)
	if ok {
		x.work.es[i] = e
		return
	}
	x.work.es = slices.Insert(x.work.es, i, e)
	x.count++
	if len(x.work.es) > workMax {
		x.flush() // a long run of appends (a restore, a big batch) stays bounded
	}
}

// remove deletes the entry of path.
func (x *fileIndex) remove(path string) bool {
	x.load(path)
	i, ok := x.work.find(path)
	if ok {
		x.work.es = slices.Delete(x.work.es, i, i+1)
		x.count--
	}
	return ok
}

// flush writes the working set back as blocks of at most blockMax entries,
// evenly filled, merging a small one with its right neighbour.
func (x *fileIndex) flush() {
	w := x.work
	if w == nil {
		return
	}
	x.work = nil
	if w.orig != nil {
		x.tree.Delete(w.orig)
	}
	es := w.es
	if len(es) < blockMin && len(es) > 0 {
		var next *block
		x.tree.AscendGreaterOrEqual(&block{first: es[len(es)-1].path}, func(b *block) bool { next = b; return false })
		if next != nil {
			x.tree.Delete(next)
			es = decodeBlock(next, es)
		}
	}
	k := (len(es) + blockMax - 1) / blockMax
	for i := range k {
		lo, hi := len(es)*i/k, len(es)*(i+1)/k
		x.tree.ReplaceOrInsert(x.encodeBlock(es[lo:hi]))
	}
}

// encodeBlock encodes entries (in path order) as a block.
func (x *fileIndex) encodeBlock(es []ientry) *block {
	buf := x.enc[:0]
	var hs []uint32
	prev := ""
	for _, e := range es {
		buf = appendEntry(buf, prev, e.path, e.size, e.replicas, e.holders)
		prev = e.path
		for _, h := range e.holders {
			if i, ok := slices.BinarySearch(hs, h); !ok {
				hs = slices.Insert(hs, i, h)
			}
		}
	}
	x.enc = buf
	return &block{first: es[0].path, n: len(es), data: slices.Clone(buf), holders: slices.Clip(hs)}
}

// appendEntry appends an entry, its path front-coded against the previous
// one; holders must be sorted.
func appendEntry[S ~string | ~[]byte](buf []byte, prev, path S, size int64, replicas int, holders []uint32) []byte {
	shared := 0
	for shared < len(prev) && shared < len(path) && prev[shared] == path[shared] {
		shared++
	}
	buf = binary.AppendUvarint(buf, uint64(shared))
	buf = binary.AppendUvarint(buf, uint64(len(path)-shared))
	buf = append(buf, path[shared:]...)
	buf = binary.AppendUvarint(buf, uint64(size))
	buf = binary.AppendUvarint(buf, uint64(replicas))
	buf = binary.AppendUvarint(buf, uint64(len(holders)))
	for _, h := range holders {
		buf = binary.AppendUvarint(buf, uint64(h))
	}
	return buf
}

// decodeBlock appends b's entries to es.
func decodeBlock(b *block, es []ientry) []ientry {
	if b == nil {
		return es
	}
	es = slices.Grow(es, b.n)
	var it blockIter
	for it.reset(b); it.next(); {
		es = append(es, it.entry())
	}
	return es
}

// blockIter decodes a block's entries one by one, reusing its buffers. It
// moves by offsets and writes the path and holders into buffers it grows
// only when they are too small, so decoding stores no pointers (which
// would cost write barriers while the GC runs).
type blockIter struct {
	data     []byte
	off      int
	pbuf     []byte
	plen     int
	hbuf     []uint32
	hlen     int
	size     int64
	replicas int
	err      error
}

var errBadBlock = errors.New("malformed file index block")

func (it *blockIter) reset(b *block) {
	it.data, it.off, it.plen, it.hlen, it.err = b.data, 0, 0, 0, nil
}

// key is the current entry's path, valid until next.
func (it *blockIter) key() []byte { return it.pbuf[:it.plen] }

// hs is the current entry's holders, valid until next.
func (it *blockIter) hs() []uint32 { return it.hbuf[:it.hlen] }

// next decodes the next entry; false at the end or on malformed data (err).
func (it *blockIter) next() bool {
	if it.off >= len(it.data) || it.err != nil {
		return false
	}
	shared, ok1 := it.uvarint()
	n, ok2 := it.uvarint()
	if !ok1 || !ok2 || shared > uint64(it.plen) || n > uint64(len(it.data)-it.off) {
		it.err = errBadBlock
		return false
	}
	if need := int(shared + n); need > len(it.pbuf) {
		it.pbuf = append(it.pbuf[:it.plen], make([]byte, need-it.plen+64)...)
	}
	it.plen = int(shared) + copy(it.pbuf[shared:], it.data[it.off:it.off+int(n)])
	it.off += int(n)
	size, ok1 := it.uvarint()
	repl, ok2 := it.uvarint()
	nh, ok3 := it.uvarint()
	if !ok1 || !ok2 || !ok3 || size > 1<<62 || repl > 1<<30 || nh > uint64(len(it.data)-it.off) {
		it.err = errBadBlock
		return false
	}
	it.size, it.replicas, it.hlen = int64(size), int(repl), 0
	if int(nh) > len(it.hbuf) {
		it.hbuf = make([]uint32, nh+4)
	}
	for range nh {
		h, ok := it.uvarint()
		if !ok || h > 1<<31 {
			it.err = errBadBlock
			return false
		}
		it.hbuf[it.hlen] = uint32(h)
		it.hlen++
	}
	return true
}

func (it *blockIter) uvarint() (uint64, bool) {
	v, k := binary.Uvarint(it.data[it.off:])
	if k <= 0 {
		return 0, false
	}
	it.off += k
	return v, true
}

// entry returns the current entry as an ientry (copying the buffers).
func (it *blockIter) entry() ientry {
	return ientry{path: string(it.key()), size: it.size, replicas: it.replicas, holders: slices.Clone(it.hs())}
}

// toFileEntry converts a decoded entry to a FileEntry, holders by name in
// order.
func toFileEntry(path string, size int64, replicas int, holders []uint32, names []string) FileEntry {
	e := FileEntry{Path: path, Size: size, Replicas: replicas}
	if len(holders) > 0 {
		e.Workers = make([]string, len(holders))
		for i, h := range holders {
			e.Workers[i] = names[h]
		}
		slices.Sort(e.Workers)
	}
	return e
}

// ascend calls fn with every entry from the first whose path is at least
// from, in path order, until fn returns false; fn must not keep path or
// holders. Only outside Apply (no working set). The iterator stays on the
// stack (fn gets its fields, not a pointer to it), so decoding writes no
// heap pointers, which would cost write barriers while the GC runs.
func (x *fileIndex) ascend(from string, fn func(path []byte, size int64, replicas int, holders []uint32) bool) {
	start := locate(x.tree, from)
	if start == nil {
		return
	}
	var it blockIter
	x.tree.AscendGreaterOrEqual(start, func(b *block) bool {
		for it.reset(b); it.next(); {
			if string(it.key()) < from {
				continue
			}
			if !fn(it.key(), it.size, it.replicas, it.hs()) {
				return false
			}
		}
		return true
	})
}

// clone returns a copy-on-write copy (the working set must be flushed).
func (x *fileIndex) clone() *fileIndex {
	x.flush()
	return &fileIndex{tree: x.tree.Clone(), count: x.count, names: slices.Clip(x.names)}
}

// dropFromBlock removes holder id from block b without decoding it into a
// working set: entries are copied as bytes, those id alone held are left
// out. It returns the block's last path, and false (changing nothing)
// when the result would be a small block, which the working set must
// merge with a neighbour.
func (x *fileIndex) dropFromBlock(b *block, id uint32) (string, bool) {
	buf := x.enc[:0]
	var prev, first []byte
	var hs, summary []uint32
	kept := 0
	var it blockIter
	for it.reset(b); it.next(); {
		hs = append(hs[:0], it.hs()...)
		if j, has := slices.BinarySearch(hs, id); has {
			if hs = slices.Delete(hs, j, j+1); len(hs) == 0 {
				continue
			}
		}
		if kept == 0 {
			first = append(first, it.key()...)
		}
		buf = appendEntry(buf, prev, it.key(), it.size, it.replicas, hs)
		prev = append(prev[:0], it.key()...)
		for _, h := range hs {
			if i, ok := slices.BinarySearch(summary, h); !ok {
				summary = slices.Insert(summary, i, h)
			}
		}
		kept++
	}
	x.enc = buf
	last := string(it.key())
	if kept > 0 && kept < blockMin {
		return last, false
	}
	x.tree.Delete(b)
	x.count -= b.n - kept
	if kept > 0 {
		x.tree.ReplaceOrInsert(&block{first: string(first), n: kept, data: slices.Clone(buf), holders: summary})
	}
	return last, true
}
