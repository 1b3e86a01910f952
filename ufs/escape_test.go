package ufs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

const secret = "SECRET-OUTSIDE-THE-ROOT"

// escapeFixture lays out:
//
//	base/secret.txt                 outside the root
//	base/outside/secret.txt         outside the root
//	base/root-evil/secret.txt       a sibling whose name extends the root's
//	base/root/data/a.txt            inside
//	base/root/<links>               see below
func escapeFixture(t *testing.T) (base, root string) {
	t.Helper()
	base = t.TempDir()
	root = filepath.Join(base, "root")
	writeTree(t, base, map[string]string{
		"secret.txt":              secret,
		"outside/secret.txt":      secret,
		"root-evil/secret.txt":    secret,
		"root/data/a.txt":         "hello",
		"root/%2e%2e/inside.txt":  "a literal name, inside",
		"root/data/nested/b.txt":  "b",
		"root/data/nested/c.bin":  "c",
		"root/zz-last/inside.txt": "z",
	})
	links := map[string]string{
		"link-out-dir":      "../outside",                              // relative, to a directory outside
		"link-out-dir-abs":  filepath.Join(base, "outside"),            // absolute, to a directory outside
		"link-out-file":     "../secret.txt",                           // relative, to a file outside
		"link-out-file-abs": filepath.Join(base, "secret.txt"),         // absolute, to a file outside
		"link-etc-passwd":   "/etc/passwd",                             // absolute, system file
		"chain1":            "chain2",                                  // a chain that ends outside
		"chain2":            "data/chain3",                             //
		"data/chain3":       "../../outside/secret.txt",                //
		"link-evil":         "../root-evil/secret.txt",                 // prefix confusion
		"loop1":             "loop2",                                   // a loop
		"loop2":             "loop1",                                   //
		"dangling":          "does-not-exist",                          // dangling, inside
		"link-in":           "data/a.txt",                              // inside: allowed
		"link-in-dir":       "data",                                    // inside: allowed, not descended by List
		"data/link-up-in":   "../zz-last/inside.txt",                   // up but inside: allowed
		"link-root-abs":     filepath.Join(base, "root", "data/a.txt"), // absolute to inside: refused by os.Root
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	return base, root
}

// TestEscapeAttempts is the table of escape attempts on file://: every one
// is refused by Stat, Open and List with the listed error, and nothing
// outside the root is ever read.
func TestEscapeAttempts(t *testing.T) {
	_, root := escapeFixture(t)
	fs := openLocal(t, root)
	ctx := context.Background()

	tests := []struct {
		path string
		want error // every operation must fail with it
		why  string
	}{
		{"..", ErrEscape, "parent"},
		{"../", ErrEscape, "parent with slash"},
		{"../secret.txt", ErrEscape, "file in the parent"},
		{"../outside/secret.txt", ErrEscape, "sibling directory"},
		{"../root-evil/secret.txt", ErrEscape, "sibling sharing the root's name as prefix"},
		{"a/../../secret.txt", ErrEscape, "dot-dot in the middle"},
		{"data/../../secret.txt", ErrEscape, "dot-dot through an existing dir"},
		{"data/..", ErrEscape, "dot-dot at the end (even though it stays inside)"},
		{"./../secret.txt", ErrEscape, "dot then dot-dot"},
		{"/etc/passwd", ErrEscape, "absolute path"},
		{"/" + "secret.txt", ErrEscape, "absolute, root-relative"},
		{"//etc/passwd", ErrEscape, "double slash absolute"},
		{"link-out-dir/secret.txt", ErrEscape, "through a symlink to a dir outside"},
		{"link-out-dir-abs/secret.txt", ErrEscape, "through an absolute symlink to a dir outside"},
		{"link-out-file", ErrEscape, "symlink to a file outside"},
		{"link-out-file-abs", ErrEscape, "absolute symlink to a file outside"},
		{"link-etc-passwd", ErrEscape, "symlink to /etc/passwd"},
		{"chain1", ErrEscape, "symlink chain ending outside"},
		{"link-evil", ErrEscape, "symlink to the sibling sharing the prefix"},
		{"link-root-abs", ErrEscape, "absolute symlink, even to inside the root"},
		{"loop1", ErrInvalid, "symlink loop"},
		{"secret.txt\x00", ErrInvalid, "NUL byte"},
		{"data/a.txt\x00../../secret.txt", ErrInvalid, "NUL then dot-dot"},
		{"..\\secret.txt", ErrInvalid, "backslash dot-dot"},
		{"data\\..\\..\\secret.txt", ErrInvalid, "backslash separators"},
		{"C:\\Windows\\win.ini", ErrInvalid, "drive letter"},
		{"data//a.txt", ErrInvalid, "empty element"},
		{"data/./a.txt", ErrInvalid, "dot element"},
		{"data/", ErrInvalid, "trailing slash"},
		{"%2e%2e/secret.txt", ErrNotFound, "URL-encoded dot-dot is a literal name (not decoded)"},
		{"%2e%2e%2fsecret.txt", ErrNotFound, "URL-encoded slash is literal"},
		{"..%2fsecret.txt", ErrNotFound, "half-encoded is literal"},
		{"\xc0\xae\xc0\xae/secret.txt", ErrNotFound, "overlong UTF-8 dots are literal bytes"},
		{"\u2025/secret.txt", ErrNotFound, "two-dot leader is a literal name"},
		{"~/secret.txt", ErrNotFound, "no tilde expansion"},
		{"dangling", ErrNotFound, "dangling symlink"},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-36s %-10s %-10s %-10s %s\n", "path", "Stat", "Open", "List", "attempt")
	for _, tt := range tests {
		_, statErr := fs.Stat(ctx, tt.path)
		data, openErr := readRange(t, fs, tt.path, 0, -1)
		files, _, listErr := fs.List(ctx, tt.path, "", 100)
		for op, err := range map[string]error{"Stat": statErr, "Open": openErr, "List": listErr} {
			if !errors.Is(err, tt.want) {
				t.Errorf("%s(%q) [%s] = %v, want %v", op, tt.path, tt.why, err, tt.want)
			}
		}
		if bytes.Contains(data, []byte(secret)) || len(files) > 0 {
			t.Errorf("%q [%s]: read %q, listed %v", tt.path, tt.why, data, paths(files))
		}
		fmt.Fprintf(&table, "%-36q %-10s %-10s %-10s %s\n", tt.path, kind(statErr), kind(openErr), kind(listErr), tt.why)
	}
	t.Log(table.String())
	// The literal "%2e%2e" directory inside the root is reachable as itself.
	if data, err := readRange(t, fs, "%2e%2e/inside.txt", 0, -1); err != nil || string(data) != "a literal name, inside" {
		t.Errorf("literal %%2e%%2e/inside.txt: %q, %v", data, err)
	}
}

func kind(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{{ErrEscape, "ESCAPE"}, {ErrInvalid, "INVALID"}, {ErrNotFound, "NOTFOUND"}, {ErrPermission, "PERM"}} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	if err == nil {
		return "ok(!)"
	}
	return "other"
}

// TestLinksInsideTheRoot: links that stay inside are followed by Stat and
// Open; List lists links to files, skips links out of the root, and does
// not descend into linked directories.
func TestLinksInsideTheRoot(t *testing.T) {
	_, root := escapeFixture(t)
	fs := openLocal(t, root)
	ctx := context.Background()
	for _, p := range []string{"link-in", "data/link-up-in", "link-in-dir/a.txt"} {
		if _, err := fs.Stat(ctx, p); err != nil {
			t.Errorf("Stat(%q) = %v", p, err)
		}
		if data, err := readRange(t, fs, p, 0, -1); err != nil || len(data) == 0 {
			t.Errorf("Open(%q) = %q, %v", p, data, err)
		}
	}
	got := strings.Join(paths(listAll(t, fs, "", "", 3)), " ")
	want := "%2e%2e/inside.txt data/a.txt data/link-up-in data/nested/b.txt data/nested/c.bin link-in zz-last/inside.txt"
	if got != want {
		t.Errorf("listing\n got %s\nwant %s", got, want)
	}
	// An explicit directory link is listed through (the caller named it).
	if got := paths(listAll(t, fs, "link-in-dir", "", 10)); len(got) != 4 {
		t.Errorf("List(link-in-dir) = %v", got)
	}
}

// TestEscapeRace swaps a directory for a symlink to the outside while other
// goroutines read through it: os.Root resolves each component without
// following links out, so the secret is never read whatever the timing.
func TestEscapeRace(t *testing.T) {
	base, root := escapeFixture(t)
	fs := openLocal(t, root)
	flip := filepath.Join(root, "flip")
	writeTree(t, root, map[string]string{"flip/secret.txt": "inside"})
	var stop atomic.Bool
	var flipper, wg sync.WaitGroup
	flipper.Go(func() {
		for i := 0; !stop.Load(); i++ {
			os.RemoveAll(flip)
			if i%2 == 0 {
				os.Symlink(filepath.Join(base, "outside"), flip)
			} else {
				os.Mkdir(flip, 0o755) // no t.Fatal off the test goroutine
				os.WriteFile(filepath.Join(flip, "secret.txt"), []byte("inside"), 0o644)
			}
		}
	})
	var reads, leaks atomic.Int64
	for range 2 {
		wg.Go(func() {
			for range 500 {
				data, err := readRange(t, fs, "flip/secret.txt", 0, -1)
				if err == nil {
					reads.Add(1)
				}
				if bytes.Contains(data, []byte(secret)) {
					leaks.Add(1)
				}
				if files, _, _ := fs.List(context.Background(), "flip", "", 10); len(files) > 0 && files[0].Size == int64(len(secret)) {
					leaks.Add(1)
				}
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	flipper.Wait()
	if leaks.Load() != 0 {
		t.Fatalf("read the secret %d times", leaks.Load())
	}
	t.Logf("%d successful reads of the inside file while flipping, no leak", reads.Load())
}
