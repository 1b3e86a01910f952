package fsm

import (
	"fmt"
	"testing"
)

func TestApplyFileIndex(t *testing.T) {
	a := newApplier(t)
	entry := func(t *testing.T, f *FSM, p string) FileEntry {
		t.Helper()
		e, ok := f.FileIndexGet(p)
		if !ok {
			t.Fatalf("%s is not in the index", p)
		}
		return e
	}
	run(t, a, []step{
		{"add two", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/b", Size: 10}, {Path: "/f/a", Size: 5}}, Worker: "worker-2"}, nil,
			func(t *testing.T, f *FSM, res any) {
				eq(t, "added", res, any(2))
				eq(t, "/f/a", entry(t, f, "/f/a"), FileEntry{Path: "/f/a", Size: 5, Workers: []string{"worker-2"}})
				eq(t, "len", f.FileIndexLen(), 2)
			}},
		{"add a holder and a new entry", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/a"}, {Path: "/f/c", Size: 7}}, Worker: "worker-1"}, nil,
			func(t *testing.T, f *FSM, res any) {
				eq(t, "added", res, any(1))
				eq(t, "/f/a", entry(t, f, "/f/a"), FileEntry{Path: "/f/a", Size: 5, Workers: []string{"worker-1", "worker-2"}})
			}},
		{"a known holder again", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/a"}}, Worker: "worker-2"}, nil,
			func(t *testing.T, f *FSM, res any) {
				eq(t, "added", res, any(0))
				eq(t, "holders", entry(t, f, "/f/a").Workers, []string{"worker-1", "worker-2"})
			}},
		{"new size, no worker", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/a", Size: 6}}}, nil,
			func(t *testing.T, f *FSM, res any) {
				eq(t, "added", res, any(0))
				eq(t, "/f/a", entry(t, f, "/f/a"), FileEntry{Path: "/f/a", Size: 6, Workers: []string{"worker-1", "worker-2"}})
			}},
		{"holders by entry", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/c", Workers: []string{"worker-9", "worker-0", "worker-1"}}}}, nil,
			func(t *testing.T, f *FSM, res any) {
				eq(t, "added", res, any(0))
				eq(t, "/f/c", entry(t, f, "/f/c"), FileEntry{Path: "/f/c", Size: 7, Workers: []string{"worker-0", "worker-1", "worker-9"}})
			}},
		{"a new empty file", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/empty"}, {Path: "/f/empty"}}}, nil,
			func(t *testing.T, f *FSM, res any) {
				eq(t, "added", res, any(1))
				eq(t, "/f/empty", entry(t, f, "/f/empty"), FileEntry{Path: "/f/empty"})
			}},
		{"one invalid path refuses all", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/d", Size: 1}, {Path: "f/e"}}, Worker: "worker-1"}, ErrInvalid, nil},
		{"replicas recorded", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/c", Replicas: 2}}}, nil,
			func(t *testing.T, f *FSM, _ any) { eq(t, "replicas", entry(t, f, "/f/c").Replicas, 2) }},
		{"replicas kept when not given", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/c"}}, Worker: "worker-1"}, nil,
			func(t *testing.T, f *FSM, _ any) { eq(t, "replicas", entry(t, f, "/f/c").Replicas, 2) }},
		{"negative replicas", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/c", Replicas: -1}}}, ErrInvalid, nil},
		{"empty holder", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/d", Workers: []string{""}}}}, ErrInvalid, nil},
		{"unclean path", &FileIndexAdd{Entries: []FileEntry{{Path: "/f//d"}}}, ErrInvalid, nil},
		{"negative size", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/d", Size: -1}}}, ErrInvalid, func(t *testing.T, f *FSM, _ any) {
			if _, ok := f.FileIndexGet("/f/d"); ok {
				t.Fatalf("a refused entry is in the index")
			}
			eq(t, "len", f.FileIndexLen(), 4)
		}},
		{"remove a holder", &FileIndexRemove{Paths: []string{"/f/a", "/f/zzz", "/f/b"}, Worker: "worker-2"}, nil,
			func(t *testing.T, f *FSM, res any) {
				eq(t, "removed", res, any(2))
				eq(t, "/f/a holders", entry(t, f, "/f/a").Workers, []string{"worker-1"})
				if _, ok := f.FileIndexGet("/f/b"); ok {
					t.Fatalf("/f/b lost its last holder but is still in the index")
				}
				eq(t, "len", f.FileIndexLen(), 3)
			}},
		{"remove the holder again", &FileIndexRemove{Paths: []string{"/f/a"}, Worker: "worker-2"}, nil,
			func(t *testing.T, f *FSM, res any) { eq(t, "removed", res, any(0)) }},
		{"remove an unknown holder", &FileIndexRemove{Paths: []string{"/f/a"}, Worker: "worker-9"}, nil,
			func(t *testing.T, f *FSM, res any) { eq(t, "removed", res, any(0)) }},
		{"set holders", &FileIndexHolders{Entries: []FileEntry{
			{Path: "/f/c", Size: 999, Workers: []string{"worker-3", "worker-1", "worker-3"}},
			{Path: "/f/nope", Workers: []string{"worker-1"}},
		}}, nil, func(t *testing.T, f *FSM, res any) {
			eq(t, "changed", res, any(1))
			eq(t, "/f/c", entry(t, f, "/f/c"), FileEntry{Path: "/f/c", Size: 7, Workers: []string{"worker-1", "worker-3"}, Replicas: 2})
			if _, ok := f.FileIndexGet("/f/nope"); ok {
				t.Fatalf("FileIndexHolders added an entry")
			}
			eq(t, "held by worker-3", f.HeldBy("worker-3", "", 0), []string{"/f/c"})
		}},
		{"no holders left", &FileIndexHolders{Entries: []FileEntry{{Path: "/f/c"}}}, nil, func(t *testing.T, f *FSM, res any) {
			eq(t, "changed", res, any(1))
			if _, ok := f.FileIndexGet("/f/c"); ok {
				t.Fatalf("/f/c has no holder but is still in the index")
			}
			eq(t, "held by worker-3", len(f.HeldBy("worker-3", "", 0)), 0)
		}},
		{"remove entries", &FileIndexRemove{Paths: []string{"/f/a", "/f/nope", "/f/a"}}, nil, func(t *testing.T, f *FSM, res any) {
			eq(t, "removed", res, any(1))
			eq(t, "len", f.FileIndexLen(), 1)
			if _, ok := f.FileIndexGet("/f/a"); ok {
				t.Fatalf("/f/a is still in the index")
			}
			eq(t, "held by worker-1", len(f.HeldBy("worker-1", "", 0)), 0)
		}},
		{"remove nothing", &FileIndexRemove{}, nil, func(t *testing.T, f *FSM, res any) { eq(t, "removed", res, any(0)) }},
	})
	if _, ok := a.f.FileIndexGet("/f"); ok {
		t.Fatalf("FileIndexGet answers a directory")
	}
}

func TestFileIndexList(t *testing.T) {
	a := newApplier(t)
	var entries []FileEntry
	for i := range 20 {
		entries = append(entries, FileEntry{Path: fmt.Sprintf("/p/a/%02d", i), Size: int64(i + 1)})
	}
	for i := range 5 {
		entries = append(entries, FileEntry{Path: fmt.Sprintf("/p/b/%d", i)})
	}
	entries = append(entries, FileEntry{Path: "/p/a"}, FileEntry{Path: "/q/x"}, FileEntry{Path: "/o"})
	a.ok(&FileIndexAdd{Entries: entries, Worker: "worker-1"})

	paths := func(es []FileEntry) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.Path)
		}
		return out
	}
	// Paging through a prefix returns every entry once, in order.
	var got []string
	last, pages := "", 0
	for {
		es, next := a.f.FileIndexList("/p/a/", last, 7)
		pages++
		if len(es) > 7 {
			t.Fatalf("page of %d entries, want at most 7", len(es))
		}
		got = append(got, paths(es)...)
		if next == "" {
			break
		}
		if next != es[len(es)-1].Path {
			t.Fatalf("next = %q, want the last path of the page %q", next, es[len(es)-1].Path)
		}
		last = next
		if pages > 10 {
			t.Fatalf("paging does not end")
		}
	}
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("/p/a/%02d", i))
	}
	eq(t, "paged", got, want)
	eq(t, "pages", pages, 3)

	tests := []struct {
		prefix, lastKey string
		count           int
		want            []string
		next            string
	}{
		{"/p/b/", "", 0, []string{"/p/b/0", "/p/b/1", "/p/b/2", "/p/b/3", "/p/b/4"}, ""},
		{"/p/b/", "", 5, []string{"/p/b/0", "/p/b/1", "/p/b/2", "/p/b/3", "/p/b/4"}, ""}, // exactly count: no next page
		{"/p/b/", "", 4, []string{"/p/b/0", "/p/b/1", "/p/b/2", "/p/b/3"}, "/p/b/3"},
		{"/p/b/", "", -1, []string{"/p/b/0", "/p/b/1", "/p/b/2", "/p/b/3", "/p/b/4"}, ""},
		{"", "/p/b/2", 0, []string{"/p/b/3", "/p/b/4", "/q/x"}, ""},
		{"", "", 2, []string{"/o", "/p/a"}, "/p/a"},
		{"/p/a", "", 2, []string{"/p/a", "/p/a/00"}, "/p/a/00"},
		{"/p/b/", "/a", 2, []string{"/p/b/0", "/p/b/1"}, "/p/b/1"}, // lastKey before the prefix
		{"/p/b/", "/p/b/4", 2, []string{}, ""},
		{"/p/b/", "/p/c", 2, []string{}, ""},                                // lastKey after the prefix
		{"/p/b/", "/p/b/10", 0, []string{"/p/b/2", "/p/b/3", "/p/b/4"}, ""}, // lastKey need not exist
		{"/none/", "", 0, []string{}, ""},
		{"/q/x", "", 0, []string{"/q/x"}, ""},
	}
	for _, tt := range tests {
		es, next := a.f.FileIndexList(tt.prefix, tt.lastKey, tt.count)
		if p := paths(es); fmt.Sprint(p) != fmt.Sprint(tt.want) || next != tt.next {
			t.Errorf("FileIndexList(%q, %q, %d) = %v, %q; want %v, %q", tt.prefix, tt.lastKey, tt.count, p, next, tt.want, tt.next)
		}
	}
	if es, _ := a.f.FileIndexList("/p/a/01", "", 0); len(es) != 1 || es[0].Size != 2 || fmt.Sprint(es[0].Workers) != "[worker-1]" {
		t.Errorf("FileIndexList entry = %+v", es)
	}
	if n := a.f.FileIndexLen(); n != len(entries) {
		t.Errorf("FileIndexLen = %d, want %d", n, len(entries))
	}
}
