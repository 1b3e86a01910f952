package worker

import (
	"testing"

	"github.com/alluvium/alluvium/api"
)

// The worker builds its ring from the policies' workers with their ring
// weights (capacity times --ring-weight), as every other party does; its
// own --ring-weight is checked and sent when it registers.
func TestRingWeightFromPolicies(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.HTTPAddress, cfg.RingWeight = t.TempDir(), "127.0.0.1:1", -1
	if err := cfg.Validate(); err == nil {
		t.Fatal("a negative ring weight is valid")
	}
	cfg.RingWeight = 3
	w := newWorker(t, cfg)
	a := self(w)
	a.CapacityBytes, a.RingWeight = 1<<30, 3
	b := api.Node{ID: "worker-b", Address: "127.0.0.1:2", CapacityBytes: 1 << 30}
	mustSet(t, w, policies(1, t.TempDir(), a, b))
	rg := w.Ring()
	if rg.Weight(a.ID) != 3*rg.Weight(b.ID) {
		t.Fatalf("weights %v and %v, want 3:1", rg.Weight(a.ID), rg.Weight(b.ID))
	}
	if s := rg.Shares(); s[a.ID] < 0.7 || s[a.ID] > 0.8 {
		t.Fatalf("a ring weight of 3 of 4 gives a share of %v", s[a.ID])
	}
}
