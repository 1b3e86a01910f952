package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// binary is the alluvium binary built once for the end-to-end tests.
var binary string

// TestMain builds the binary for the process-level tests, and fails the
// package's tests if a goroutine outlives them: the in-process commands
// must stop everything they start.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "alluvium-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "alluvium")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build alluvium: %v\n%s", err, out)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}
