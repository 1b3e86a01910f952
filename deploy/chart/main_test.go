package chart

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// alluviumBin is the real binary, built once from the main module (../..),
// that the tests run each rendered container's command line through.
var alluviumBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "alluvium-chart-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	alluviumBin = filepath.Join(dir, "alluvium")
	build := exec.Command("go", "build", "-o", alluviumBin, "./cmd/alluvium")
	build.Dir = "../.."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building alluvium:", err)
		return 1
	}
	return m.Run()
}
