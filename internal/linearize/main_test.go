package linearize_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: whatever
// a test starts must be stopped by its Shutdown or Close. One wait is
// ignored, by name: the nemesis shuts nodes down in the middle of writes,
// and hashicorp/raft never answers an Apply future still queued in its
// apply channel when it stops (it sets no shutdown channel on those
// futures), so the coordinator's goroutine waiting on it cannot end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/hashicorp/raft.(*deferError).Error"))
}
