package fsm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// checkBlocks checks the invariants of the packed index: no working set
// left after Apply, blocks in order, none empty or over blockMax, keys and
// holder summaries exact, the count right.
func checkBlocks(t *testing.T, x *fileIndex) {
	t.Helper()
	if x.work != nil {
		t.Fatalf("a working set outlived Apply")
	}
	count, last := 0, ""
	x.tree.Ascend(func(b *block) bool {
		es := decodeBlock(b, nil)
		if len(es) != b.n || b.n == 0 || b.n > blockMax || es[0].path != b.first {
			t.Fatalf("block %q: %d entries decoded, n %d, first %q", b.first, len(es), b.n, es[0].path)
		}
		var hs []uint32
		for _, e := range es {
			if e.path <= last {
				t.Fatalf("%q after %q", e.path, last)
			}
			last = e.path
			hs = append(hs, e.holders...)
		}
		slices.Sort(hs)
		if hs = slices.Compact(hs); !slices.Equal(hs, b.holders) {
			t.Fatalf("block %q: summary %v, holders %v", b.first, b.holders, hs)
		}
		count += b.n
		return true
	})
	if count != x.count {
		t.Fatalf("count %d, blocks hold %d", x.count, count)
	}
}

// TestFileBlocksAgainstAModel applies random batches (in order and not,
// adds, holder removals, deletions, a worker's removal) and compares the
// index, HeldBy and the snapshot bytes with a plain map after each.
func TestFileBlocksAgainstAModel(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 1))
	workers := []string{"worker-a", "worker-b", "worker-c"}
	a := newApplier(t)
	register := func(w string) {
		a.ok(&RegisterWorker{Worker: Worker{ID: w, Address: "h:1", CapacityBytes: 1}, Now: t0})
	}
	for _, w := range workers {
		register(w)
	}
	model := map[string]FileEntry{}
	path := func(i int) string { return fmt.Sprintf("/d%d/f%05d", i%3, i) }
	for round := range 120 {
		start, n := r.IntN(6000), 1+r.IntN(1500)
		op := r.IntN(10)
		switch {
		case op < 5: // a page in listing order, or scattered
			w := workers[r.IntN(len(workers))]
			var es []FileEntry
			for i := range n {
				k := start + i
				if op == 4 {
					k = r.IntN(6000)
				}
				es = append(es, FileEntry{Path: path(k), Size: int64(k)})
			}
			a.ok(&FileIndexAdd{Entries: es, Worker: w})
			for _, e := range es {
				m := model[e.Path]
				m.Path, m.Size = e.Path, e.Size
				if !slices.Contains(m.Workers, w) {
					m.Workers = slices.Sorted(slices.Values(append(slices.Clone(m.Workers), w)))
				}
				model[e.Path] = m
			}
		case op < 8: // a holder leaves a run of entries, or they go
			w := ""
			if op < 7 {
				w = workers[r.IntN(len(workers))]
			}
			var ps []string
			for i := range n {
				ps = append(ps, path(start+i))
			}
			a.ok(&FileIndexRemove{Paths: ps, Worker: w})
			for _, p := range ps {
				m, ok := model[p]
				switch {
				case !ok:
				case w == "":
					delete(model, p)
				case slices.Contains(m.Workers, w):
					if m.Workers = slices.DeleteFunc(slices.Clone(m.Workers), func(x string) bool { return x == w }); len(m.Workers) == 0 {
						delete(model, p)
					} else {
						model[p] = m
					}
				}
			}
		default: // a worker leaves the cluster, and a new one of that name joins
			w := workers[r.IntN(len(workers))]
			a.ok(&RemoveWorker{ID: w, Now: at(time.Duration(round) * time.Second)})
			register(w)
			for p, m := range model {
				if slices.Contains(m.Workers, w) {
					if m.Workers = slices.DeleteFunc(slices.Clone(m.Workers), func(x string) bool { return x == w }); len(m.Workers) == 0 {
						delete(model, p)
					} else {
						model[p] = m
					}
				}
			}
		}
		checkBlocks(t, a.f.s.files)
		compareWithModel(t, a.f, model, workers)
	}
}

// compareWithModel compares the index with the model: its entries, each
// worker's HeldBy, and the snapshot bytes with those of an FSM that added
// the model's entries in one sorted pass (other blocks, other holder ids).
func compareWithModel(t *testing.T, f *FSM, model map[string]FileEntry, workers []string) {
	t.Helper()
	want := slices.SortedFunc(maps.Values(model), func(x, y FileEntry) int { return cmpString(x.Path, y.Path) })
	got, _ := f.FileIndexList("", "", 0)
	if !slices.EqualFunc(got, want, func(x, y FileEntry) bool {
		return x.Path == y.Path && x.Size == y.Size && slices.Equal(x.Workers, y.Workers)
	}) {
		for i := range min(len(got), len(want)) {
			if got[i].Path != want[i].Path || got[i].Size != want[i].Size || !slices.Equal(got[i].Workers, want[i].Workers) {
				t.Fatalf("entry %d is %+v, the model's %+v", i, got[i], want[i])
			}
		}
		t.Fatalf("the index holds %d entries, the model %d", len(got), len(want))
	}
	for _, w := range workers {
		var held []string
		for _, e := range want {
			if slices.Contains(e.Workers, w) {
				held = append(held, e.Path)
			}
		}
		if h := f.HeldBy(w, "", 0); !slices.Equal(h, held) {
			t.Fatalf("HeldBy(%s): %d paths, want %d", w, len(h), len(held))
		}
	}
	b := New()
	b.s.lastIndex = f.s.lastIndex
	for _, e := range slices.Backward(want) { // other holder ids: last worker seen first
		for _, w := range slices.Backward(e.Workers) {
			b.s.addHolder(e.Path, e.Size, 0, w)
		}
	}
	b.s.files.flush()
	sa, sb := f.Snapshot(), b.Snapshot()
	sb.header, sb.workers, sb.holdings, sb.removed = sa.header, sa.workers, sa.holdings, sa.removed
	var ba, bb bytes.Buffer
	if _, err := sa.WriteTo(&ba); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.WriteTo(&bb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ba.Bytes(), bb.Bytes()) {
		t.Fatalf("the same entries, split and numbered otherwise, write other snapshot bytes")
	}
	r := New()
	if err := r.Restore(bytes.NewReader(ba.Bytes())); err != nil {
		t.Fatal(err)
	}
	checkBlocks(t, r.s.files)
	if !bytes.Equal(snapshotBytes(t, r), ba.Bytes()) {
		t.Fatalf("the restored index writes other snapshot bytes")
	}
}

func cmpString(a, b string) int {
	if a < b {
		return -1
	} else if a > b {
		return 1
	}
	return 0
}

// packed encodes entries as a block record (uvarint count, then entries).
func packed(es ...ientry) []byte {
	out := binary.AppendUvarint(nil, uint64(len(es)))
	prev := ""
	for _, e := range es {
		out = appendEntry(out, prev, e.path, e.size, e.replicas, e.holders)
		prev = e.path
	}
	return out
}

// TestRestoreRefusesBadFileBlocks: a version-2 snapshot whose packed
// entries are out of order, name a holder the table lacks, come before
// the table, or lie about their count, is refused.
func TestRestoreRefusesBadFileBlocks(t *testing.T) {
	h := snapshotHeader{Magic: snapshotMagic, Version: SnapshotVersion, LastIndex: 3}
	a, b := ientry{path: "/a", size: 1, holders: []uint32{0}}, ientry{path: "/b", size: 2, holders: []uint32{0, 1}}
	names := []string{"worker-1", "worker-2"}
	good := packed(a, b)
	for _, tt := range []struct {
		name    string
		records []any
		want    string
	}{
		{"good", []any{uint8(recFileNames), names, uint8(recFileBlock), good}, ""},
		{"out of order", []any{uint8(recFileNames), names, uint8(recFileBlock), packed(b, a)}, "out of order"},
		{"out of order across blocks", []any{uint8(recFileNames), names, uint8(recFileBlock), packed(b), uint8(recFileBlock), packed(a)}, "out of order"},
		{"a duplicate", []any{uint8(recFileNames), names, uint8(recFileBlock), packed(a, a)}, "out of order"},
		{"an unknown holder", []any{uint8(recFileNames), names[:1], uint8(recFileBlock), good}, "malformed"},
		{"before the table", []any{uint8(recFileBlock), good, uint8(recFileNames), names}, "before the holder table"},
		{"a wrong count", []any{uint8(recFileNames), names, uint8(recFileBlock), append([]byte{3}, good[1:]...)}, "malformed"},
		{"cut short", []any{uint8(recFileNames), names, uint8(recFileBlock), good[:len(good)-2]}, "malformed"},
		{"two tables", []any{uint8(recFileNames), names, uint8(recFileNames), names}, "second holder table"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := New()
			err := f.Restore(bytes.NewReader(encodeStream(t, h, append(tt.records, uint8(recEnd), nil)...)))
			if tt.want == "" {
				if err != nil || f.FileIndexLen() != 2 {
					t.Fatalf("Restore: %v, %d entries", err, f.FileIndexLen())
				}
				e, _ := f.FileIndexGet("/b")
				eq(t, "/b", e, FileEntry{Path: "/b", Size: 2, Workers: names})
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Restore: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestFileIndexListCopies: a page's entries share their backing arrays, yet
// a caller that changes or appends to one entry's holders changes no other
// entry and not the index.
func TestFileIndexListCopies(t *testing.T) {
	a := newApplier(t)
	a.ok(&FileIndexAdd{Entries: []FileEntry{{Path: "/f/a", Size: 1, Workers: []string{"w2", "w1"}}, {Path: "/f/b", Size: 2, Workers: []string{"w3"}}}})
	page, _ := a.f.FileIndexList("", "", 0)
	eq(t, "page", page, []FileEntry{{Path: "/f/a", Size: 1, Workers: []string{"w1", "w2"}}, {Path: "/f/b", Size: 2, Workers: []string{"w3"}}})
	page[0].Workers = append(page[0].Workers, "w9")
	page[0].Workers[0] = "changed"
	again, _ := a.f.FileIndexList("", "", 0)
	eq(t, "second entry", page[1].Workers, []string{"w3"})
	eq(t, "the index", again[0].Workers, []string{"w1", "w2"})
}
