package ufs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestLocalStatOpenRanges(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"d/f.txt": "0123456789", "empty": ""})
	fs := openLocal(t, dir)
	ctx := context.Background()

	fi, err := fs.Stat(ctx, "d/f.txt")
	if err != nil || fi.Path != "d/f.txt" || fi.Size != 10 || fi.ModTime.IsZero() || fi.ETag == "" {
		t.Fatalf("Stat = %+v, %v", fi, err)
	}
	ranges := []struct {
		name        string
		path        string
		off, length int64
		want        string
	}{
		{"whole", "d/f.txt", 0, -1, "0123456789"},
		{"start", "d/f.txt", 0, 3, "012"},
		{"middle", "d/f.txt", 4, 3, "456"},
		{"end", "d/f.txt", 7, 3, "789"},
		{"to the end", "d/f.txt", 7, -1, "789"},
		{"runs past the end", "d/f.txt", 8, 100, "89"},
		{"starts at the end", "d/f.txt", 10, 5, ""},
		{"starts past the end", "d/f.txt", 11, -1, ""},
		{"zero length", "d/f.txt", 3, 0, ""},
		{"empty file", "empty", 0, -1, ""},
		{"huge length", "d/f.txt", 9, 1 << 62, "9"},
	}
	for _, tt := range ranges {
		got, err := readRange(t, fs, tt.path, tt.off, tt.length)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: Open(%q, %d, %d) = %q, %v; want %q", tt.name, tt.path, tt.off, tt.length, got, err, tt.want)
		}
	}
	errs := []struct {
		name string
		do   func() error
		want error
	}{
		{"stat missing", func() error { _, err := fs.Stat(ctx, "nope"); return err }, ErrNotFound},
		{"stat under a file", func() error { _, err := fs.Stat(ctx, "d/f.txt/x"); return err }, ErrNotFound},
		{"stat a directory", func() error { _, err := fs.Stat(ctx, "d"); return err }, ErrNotFound},
		{"stat the root", func() error { _, err := fs.Stat(ctx, ""); return err }, ErrInvalid},
		{"open missing", func() error { _, err := fs.Open(ctx, "nope", 0, -1); return err }, ErrNotFound},
		{"open a directory", func() error { _, err := fs.Open(ctx, "d", 0, -1); return err }, ErrNotFound},
		{"open negative offset", func() error { _, err := fs.Open(ctx, "d/f.txt", -1, 1); return err }, ErrInvalid},
		{"list missing", func() error { _, _, err := fs.List(ctx, "nope", "", 10); return err }, ErrNotFound},
		{"list zero limit", func() error { _, _, err := fs.List(ctx, "", "", 0); return err }, ErrInvalid},
	}
	for _, tt := range errs {
		if err := tt.do(); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := fs.Stat(ctx, "nope"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the os error is not kept in the chain: %v", err)
	}
}

func TestLocalETagChanges(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"f": "one"})
	fs := openLocal(t, dir)
	a, _ := fs.Stat(context.Background(), "f")
	writeTree(t, dir, map[string]string{"f": "three"})
	b, _ := fs.Stat(context.Background(), "f")
	old := time.Unix(1_000_000, 0)
	os.Chtimes(filepath.Join(dir, "f"), old, old)
	c, _ := fs.Stat(context.Background(), "f")
	if a.ETag == b.ETag || b.ETag == c.ETag || !c.ModTime.Equal(old) {
		t.Fatalf("ETag did not follow size and mtime: %q %q %q", a.ETag, b.ETag, c.ETag)
	}
}

func TestLocalClosed(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"f": "x"})
	fs, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := fs.Open(context.Background(), "f", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	fs.Close()
	fs.Close() // twice is fine
	if _, err := fs.Stat(context.Background(), "f"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stat after Close = %v", err)
	}
	buf := make([]byte, 1)
	if n, err := r.Read(buf); n != 1 || err != nil {
		t.Fatalf("a reader opened before Close: %d, %v", n, err)
	}
	r.Close()
}

func TestOpenLocalErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"file": "x"})
	for _, tt := range []struct {
		uri  string
		opts map[string]string
		want error
	}{
		{"file://" + dir + "/missing", nil, ErrNotFound},
		{"file://" + dir + "/file", nil, ErrInvalid},
		{"file://" + dir, map[string]string{OptEndpoint: "x"}, ErrInvalid},
		{"file://relative/dir", nil, ErrInvalid},
		{"ftp://x/y", nil, ErrInvalid},
	} {
		fs, err := Open(tt.uri, tt.opts)
		if err == nil {
			fs.Close()
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("Open(%q) = %v, want %v", tt.uri, err, tt.want)
		}
	}
}

func TestCheckReachableLocal(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxTimeout(t)
	if err := CheckReachable(ctx, "file://"+dir, nil); err != nil {
		t.Fatalf("empty dir: %v", err)
	}
	if err := CheckReachable(ctx, "file://"+dir+"/nope", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing dir: %v", err)
	}
}

// TestListOrder pins the listing order: the byte-wise order of the full
// relative paths (the order of S3), which is not the per-component order
// of a naive walk: "a-c" sorts before "a/b" because '-' < '/'.
func TestListOrder(t *testing.T) {
	dir := t.TempDir()
	names := []string{"a/b", "a-c", "a.d", "a0", "a/a/z", "a/a-", "b", "A", "_x/y", "a/a0"}
	files := map[string]string{}
	for _, n := range names {
		files[n] = n
	}
	writeTree(t, dir, files)
	fs := openLocal(t, dir)
	want := slices.Sorted(slices.Values(names))
	for _, page := range []int{1, 2, 3, 100} {
		if got := paths(listAll(t, fs, "", "", page)); !slices.Equal(got, want) {
			t.Fatalf("page %d: %v, want %v", page, got, want)
		}
	}
	if got := paths(listAll(t, fs, "a", "", 2)); !slices.Equal(got, []string{"a/a-", "a/a/z", "a/a0", "a/b"}) {
		t.Fatalf("List(a) = %v", got)
	}
}

// TestListResumeProperty: for random trees, page sizes and cursors (any
// string, not only returned paths), concatenating the pages equals the full
// listing after the cursor, and the full listing is sorted.
func TestListResumeProperty(t *testing.T) {
	elem := rapid.SampledFrom([]string{"a", "b", "a-", "a.b", "a0", "ab", "_", "Z", "é"})
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp(t.TempDir(), "prop")
		if err != nil {
			rt.Fatal(err)
		}
		want := map[string]bool{}
		for _, parts := range rapid.SliceOfN(rapid.SliceOfN(elem, 1, 4), 0, 40).Draw(rt, "paths") {
			p := strings.Join(parts, "/")
			full := filepath.Join(dir, filepath.FromSlash(p))
			if os.MkdirAll(filepath.Dir(full), 0o755) != nil || os.WriteFile(full, nil, 0o644) != nil {
				continue // a file where a directory is wanted, or the reverse
			}
			want[p] = true
		}
		fs, err := OpenLocal(dir)
		if err != nil {
			rt.Fatal(err)
		}
		defer fs.Close()
		all := slices.Sorted(func(yield func(string) bool) {
			for p := range want {
				if !yield(p) {
					return
				}
			}
		})
		if got := paths(listAll(t, fs, "", "", 1000)); !slices.Equal(got, all) {
			rt.Fatalf("full listing %v, want %v", got, all)
		}
		cursor := rapid.OneOf(rapid.Just(""), rapid.SampledFrom(append(all, "a")), rapid.String()).Filter(func(s string) bool { return !strings.Contains(s, "\x00") }).Draw(rt, "cursor")
		page := rapid.IntRange(1, 12).Draw(rt, "page")
		var rest []string
		for _, p := range all {
			if p > cursor {
				rest = append(rest, p)
			}
		}
		if got := paths(listAll(t, fs, "", cursor, page)); !slices.Equal(got, rest) {
			rt.Fatalf("from %q in pages of %d: %v, want %v", cursor, page, got, rest)
		}
	})
}

// TestListDirCache pages through a large directory whose names are kept
// between pages, and sees a name added between two pages.
func TestListDirCache(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	var want []string
	for i := range dirCacheMinEntries + 100 {
		p := fmt.Sprintf("flat/f%05d", i)
		files[p] = "x"
		want = append(want, p)
	}
	writeTree(t, dir, files)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(dir, "flat"), old, old) // out of the racy window
	u := openLocal(t, dir)
	l := u.(*local)
	ctx := context.Background()
	page1, next, err := u.List(ctx, "", "", 100)
	if err != nil || len(page1) != 100 || len(l.cache.dirs) != 1 {
		t.Fatalf("page 1: %d files, %v; %d dirs cached", len(page1), err, len(l.cache.dirs))
	}
	// A new name sorting after the cursor changes the directory's mtime: the
	// next pages see it.
	writeTree(t, dir, map[string]string{"flat/f00150x": "new", "flat/zz": "new"})
	rest := listAll(t, u, "", next, 100)
	got := append(paths(page1), paths(rest)...)
	want = append(want, "flat/f00150x", "flat/zz")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("listing after a change: %d files, want %d", len(got), len(want))
	}
	// Unchanged and old: served from the cache, with file sizes fresh.
	os.Chtimes(filepath.Join(dir, "flat"), old, old)
	listAll(t, u, "", "", 1000)
	writeTree(t, dir, map[string]string{"flat/f00007": "grown"}) // rewrites a file: the dir's mtime stays
	os.Chtimes(filepath.Join(dir, "flat"), old, old)
	for _, f := range listAll(t, u, "flat", "", 50) {
		if f.Path == "flat/f00007" && f.Size != 5 {
			t.Fatalf("stale size from the cache: %+v", f)
		}
	}
	if l.cache.total == 0 {
		t.Fatal("nothing cached")
	}
}
