package fusefs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/fusefs"
)

const wideEntries = 10000

// testTree is the generated tree: sizes around page boundaries, a deep
// directory, names that sort around "/", and 10,000 entries in one
// directory.
func testTree() map[string][]byte {
	tree := map[string][]byte{"empty": {}, "one": {0x42}}
	for name, n := range map[string]int{
		"page-1": 4095, "page": 4096, "page+1": 4097, "mib-1": 1<<20 - 1, "mib": 1 << 20, "mib+1": 1<<20 + 1,
		"multi/part-0.bin": 3<<20 + 17, "a/b/c/d/e/f/g/h/deep.txt": 100, "a/sibling": 10, "a.b": 3, "a-": 2,
		"big/large.bin": 24 << 20,
	} {
		tree[name] = pattern(name, n)
	}
	for i := range wideEntries { // empty but for a few: the entries are the point
		var body []byte
		if i%1000 == 999 {
			body = []byte(fmt.Sprint(i))
		}
		tree[fmt.Sprintf("wide/f%05d", i)] = body
	}
	return tree
}

// readTree reads every file below dir, failing on anything but files and
// directories.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: mode %v", p, d.Type())
		}
		body, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = body
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sameTree(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d files, want %d", what, len(got), len(want))
	}
	for name, body := range want {
		b, ok := got[name]
		if !ok {
			t.Fatalf("%s: %s is missing", what, name)
		}
		sameBytes(t, what+" "+name, b, body)
	}
}

// TestMount reads a generated tree through a real kernel mount: every byte
// with os calls and with cp -r, stat against the UFS, random offsets,
// concurrent readers, and writes refused.
func TestMount(t *testing.T) {
	t.Parallel()
	tree := testTree()
	e := newEnv(t, 2, tree, func(c *fusefs.Config) { c.ListPage = 100 })

	t.Run("root lists the mount points", func(t *testing.T) {
		entries, err := os.ReadDir(e.mnt)
		if err != nil || len(entries) != 1 || entries[0].Name() != "data" || !entries[0].IsDir() {
			t.Fatalf("root: %v, %v", entries, err)
		}
		if _, err := os.Stat(filepath.Join(e.mnt, "nope")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("stat of a name outside the mounts: %v", err)
		}
		if _, err := os.Stat(e.path("no/such/file")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("stat of a missing file: %v", err)
		}
	})
	t.Run("every byte with os calls", func(t *testing.T) {
		sameTree(t, "mount", readTree(t, e.path("")), tree)
	})
	t.Run("stat is the UFS's size and mtime", func(t *testing.T) { statLikeUFS(t, e, tree) })
	t.Run("every byte with cp -r", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "copy")
		if out, err := exec.Command("cp", "-r", e.path(""), dst).CombinedOutput(); err != nil {
			t.Fatalf("cp -r: %v: %s", err, out)
		}
		sameTree(t, "cp -r", readTree(t, dst), tree)
	})
	t.Run("random offsets", func(t *testing.T) { randomReads(t, e.path("big/large.bin"), tree["big/large.bin"]) })
	t.Run("8 concurrent readers of one file", func(t *testing.T) {
		concurrentReaders(t, e.path("big/large.bin"), tree["big/large.bin"], 8)
	})
	t.Run("writes refused", func(t *testing.T) { writesRefused(t, e) })
}

func statLikeUFS(t *testing.T, e *env, tree map[string][]byte) {
	for _, name := range []string{"empty", "one", "mib+1", "multi/part-0.bin", "wide/f09999"} {
		got, err := os.Stat(e.path(name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.Stat(filepath.Join(e.ufs, name))
		if err != nil {
			t.Fatal(err)
		}
		if got.Size() != int64(len(tree[name])) || !got.ModTime().Equal(want.ModTime().Truncate(time.Second)) || got.Mode() != 0o444 {
			t.Errorf("%s: size %d mtime %v mode %v; the UFS has %d %v", name, got.Size(), got.ModTime(), got.Mode(), want.Size(), want.ModTime())
		}
	}
	entries, err := os.ReadDir(e.path("wide"))
	if err != nil || len(entries) != wideEntries {
		t.Fatalf("wide: %d entries, %v", len(entries), err)
	}
	if fi, err := os.Stat(e.path("a/b/c")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o555 {
		t.Fatalf("a directory: %v, %v", fi, err)
	}
}

func randomReads(t *testing.T, name string, want []byte) {
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		off := rng.IntN(len(want) + 10)
		buf := make([]byte, 1+rng.IntN(300<<10))
		n, err := f.ReadAt(buf, int64(off))
		end := min(off+len(buf), len(want))
		if off >= len(want) {
			end = off
		}
		if n != end-off || (err != nil && n == len(buf)) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d", len(buf), off, n, err, end-off)
		}
		sameBytes(t, fmt.Sprintf("at %d", off), buf[:n], want[off:end])
	}
}

func concurrentReaders(t *testing.T, name string, want []byte, n int) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			f, err := os.Open(name)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			// Each reader starts elsewhere, reads to the end, then wraps.
			start := int64(i) * int64(len(want)) / int64(n)
			got := make([]byte, len(want))
			if _, err := f.ReadAt(got[start:], start); err != nil {
				errs <- err
				return
			}
			if _, err := f.ReadAt(got[:start], 0); err != nil {
				errs <- err
				return
			}
			if string(got) != string(want) {
				errs <- fmt.Errorf("reader %d read different bytes", i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func writesRefused(t *testing.T, e *env) {
	for name, op := range map[string]func() error{
		"create": func() error { return os.WriteFile(e.path("new"), []byte("x"), 0o644) },
		"open to write": func() error {
			f, err := os.OpenFile(e.path("one"), os.O_WRONLY, 0)
			if err == nil {
				f.Close()
			}
			return err
		},
		"truncate":          func() error { return os.Truncate(e.path("one"), 0) },
		"mkdir":             func() error { return os.Mkdir(e.path("d"), 0o755) },
		"remove":            func() error { return os.Remove(e.path("one")) },
		"rmdir":             func() error { return os.Remove(e.path("a/b/c/d/e/f/g/h")) },
		"rename":            func() error { return os.Rename(e.path("one"), e.path("two")) },
		"symlink":           func() error { return os.Symlink("one", e.path("link")) },
		"chmod":             func() error { return os.Chmod(e.path("one"), 0o777) },
		"mkdir at the root": func() error { return os.Mkdir(filepath.Join(e.mnt, "x"), 0o755) },
	} {
		if err := op(); !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s: %v, want EROFS", name, err)
		}
	}
	if body, err := os.ReadFile(e.path("one")); err != nil || string(body) != "\x42" {
		t.Fatalf("after the refused writes: %q, %v", body, err)
	}
}
