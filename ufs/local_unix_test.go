//go:build unix

package ufs

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestLocalListFileAndSpecials(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a/b": "x", "a/c": "y", "a/bad\\name": "z"})
	if err := syscall.Mkfifo(filepath.Join(dir, "a", "fifo"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	fs := openLocal(t, dir)
	ctx := context.Background()
	files, next, err := fs.List(ctx, "a/b", "", 10)
	if err != nil || next != "" || len(files) != 1 || files[0].Path != "a/b" || files[0].Size != 1 {
		t.Fatalf("List(file) = %+v, %q, %v", files, next, err)
	}
	if files, _, _ := fs.List(ctx, "a/b", "a/b", 10); len(files) != 0 {
		t.Fatalf("List(file) after its own cursor = %+v", files)
	}
	// The FIFO and the name with a backslash are not listed; opening the
	// FIFO does not hang.
	if got := paths(listAll(t, fs, "a", "", 10)); !slices.Equal(got, []string{"a/b", "a/c"}) {
		t.Fatalf("List(a) = %v", got)
	}
	done := make(chan error, 1)
	go func() { _, err := fs.Open(ctx, "a/fifo", 0, -1); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("Open(fifo) = %v, want ErrInvalid", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open of a FIFO hangs")
	}
}
