package ufs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCheckPath: no path that CheckPath accepts can leave the root, and a
// file:// UFS never reads a byte from outside its root, whatever the input.
func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"", "a", "a/b", "..", "../x", "a/../../x", "/etc/passwd", "a\x00b", "..\\x",
		"%2e%2e/x", "a//b", "./a", "a/", "link/secret.txt", "link", "in/../secret.txt", "C:\\x", "\xc0\xae"} {
		f.Add(s)
	}
	base := f.TempDir()
	root := filepath.Join(base, "root")
	if err := os.MkdirAll(filepath.Join(root, "in"), 0o755); err != nil {
		f.Fatal(err)
	}
	os.WriteFile(filepath.Join(base, "secret.txt"), []byte(secret), 0o644)
	os.WriteFile(filepath.Join(root, "in", "ok.txt"), []byte("ok"), 0o644)
	os.Symlink("..", filepath.Join(root, "link"))
	os.Symlink("../secret.txt", filepath.Join(root, "in", "s"))
	fs, err := OpenLocal(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { fs.Close() })

	f.Fuzz(func(t *testing.T, p string) {
		err := CheckPath(p)
		if err == nil && p != "" {
			if path.Clean(p) != p || strings.HasPrefix(p, "/") || !filepath.IsLocal(p) ||
				strings.Contains(p, "\\") || strings.Contains(p, "\x00") {
				t.Fatalf("CheckPath accepted %q", p)
			}
			for elem := range strings.SplitSeq(p, "/") {
				if elem == ".." || elem == "." || elem == "" {
					t.Fatalf("CheckPath accepted %q with element %q", p, elem)
				}
			}
		}
		if err != nil && !errors.Is(err, ErrEscape) && !errors.Is(err, ErrInvalid) {
			t.Fatalf("CheckPath(%q) = %v, not ErrEscape or ErrInvalid", p, err)
		}
		ctx := context.Background()
		if data, err := readRange(t, fs, p, 0, -1); err == nil && bytes.Contains(data, []byte(secret)) {
			t.Fatalf("Open(%q) read outside the root", p)
		}
		if fi, err := fs.Stat(ctx, p); err == nil && fi.Size == int64(len(secret)) {
			t.Fatalf("Stat(%q) reached outside the root: %+v", p, fi)
		}
		if files, _, err := fs.List(ctx, p, "", 10); err == nil {
			for _, fi := range files {
				if fi.Size == int64(len(secret)) {
					t.Fatalf("List(%q) reached outside the root: %+v", p, fi)
				}
			}
		}
	})
}
