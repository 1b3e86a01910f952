package fusefs

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: a mount,
// its reads and its readahead must all end at Unmount and Release.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
