// Package fusetest decides whether a test may mount a FUSE file system
// here: it needs /dev/fuse and fusermount3. Without them a test skips,
// saying why, unless ALLUVIUM_REQUIRE_FUSE=1 (CI), when it fails.
package fusetest

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/alluvium/alluvium/fusefs"
)

// RequireEnv is the variable that turns a skip into a failure.
const RequireEnv = "ALLUVIUM_REQUIRE_FUSE"

// Problem says why FUSE mounts cannot be tested here, or nil.
func Problem() error {
	if err := fusefs.Available(); err != nil {
		return err
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		return errors.New("fusermount3 is not installed (apt-get install fuse3)")
	}
	return nil
}

// Required reports whether FUSE tests must run (ALLUVIUM_REQUIRE_FUSE=1).
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Require skips (or, with ALLUVIUM_REQUIRE_FUSE=1, fails) t unless FUSE
// mounts work here.
func Require(t testing.TB) {
	t.Helper()
	err := Problem()
	if err == nil {
		return
	}
	if Required() {
		t.Fatalf("FUSE is required here (%s=1): %v", RequireEnv, err)
	}
	t.Skipf("no FUSE here: %v; set %s=1 to fail instead", err, RequireEnv)
}
