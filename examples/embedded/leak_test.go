package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: the
// service must stop everything it starts when its context ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
