package inmemtest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: whatever
// a test starts must be stopped by its Shutdown or Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
