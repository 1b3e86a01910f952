package fsm

import (
	"testing"
	"time"
)

// The commands of the golden set v2 (testdata/compat/v2.*), in log order:
// the worker record's RingWeight (a worker's --ring-weight), set, left
// unset (omitted from the bytes, as in every v1 record), refused when
// negative, and changed by a new registration. Never change this list or
// the expectations below once the set is released: they describe bytes on
// disk. A new command or field gets a new set (see compat_test.go).
func compatV2Log() []Command {
	return []Command{
		/* 1 */ &RegisterWorker{Worker: Worker{ID: cwA, Address: "10.0.1.1:29999", CapacityBytes: 2048 * gib,
			StartTime: ct(-time.Hour), Version: "0.10.0", RingWeight: 0.5}, Now: ct(time.Minute)},
		/* 2 */ &RegisterWorker{Worker: Worker{ID: cwB, Address: "10.0.1.2:29999", CapacityBytes: 1024 * gib,
			StartTime: ct(-30 * time.Minute), Version: "0.10.0"}, Now: ct(2 * time.Minute)},
		/* 3 */ &RegisterWorker{Worker: Worker{ID: cwC, Address: "10.0.1.3:29999", CapacityBytes: 1024 * gib,
			StartTime: ct(-time.Minute), RingWeight: -1}, Now: ct(3 * time.Minute)},
		/* 4 */ &RegisterWorker{Worker: Worker{ID: cwA, Address: "10.0.1.1:29999", CapacityBytes: 2048 * gib,
			StartTime: ct(4 * time.Minute), Version: "0.10.1", RingWeight: 2}, Now: ct(5 * time.Minute)},
	}
}

// checkCompatV2 checks the state v2's log reaches.
func checkCompatV2(t *testing.T, f *FSM) {
	t.Helper()
	eq(t, "applied index", f.AppliedIndex(), uint64(4))
	eq(t, "workers", viewOf(f).Workers, []Worker{
		{ID: cwA, Address: "10.0.1.1:29999", State: WorkerLive, CapacityBytes: 2048 * gib, StartTime: ct(4 * time.Minute),
			Version: "0.10.1", StateSince: ct(time.Minute), RingWeight: 2},
		{ID: cwB, Address: "10.0.1.2:29999", State: WorkerLive, CapacityBytes: 1024 * gib, StartTime: ct(-30 * time.Minute),
			Version: "0.10.0", StateSince: ct(2 * time.Minute)},
	})
}
