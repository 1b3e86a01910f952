// Package tmpfs mounts a small tmpfs for a test: a real file system that
// fills up, to test what a full disk does. Mounting needs root; without it
// the test is skipped, unless ALLUVIUM_REQUIRE_TMPFS is set (as CI does),
// which makes a missing mount a failure instead.
package tmpfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Mount mounts a tmpfs of size (as mount's size= option: "8m") under a new
// temporary directory, unmounted when the test ends, and returns its path.
func Mount(t testing.TB, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("ALLUVIUM_REQUIRE_TMPFS") != "" {
			t.Fatalf("mount a tmpfs: %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here (root is needed): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}
