package fsm

import (
	"testing"
	"time"
)

func TestApplyFileIndexLimit(t *testing.T) {
	a := newApplier(t)
	for _, w := range []string{"worker-1", "worker-2"} {
		a.ok(&RegisterWorker{Worker: Worker{ID: w, Address: "h:1", CapacityBytes: 1 << 30}, Now: t0})
	}
	status := func(entries, limit int, refused ...string) func(*testing.T, *FSM, any) {
		return func(t *testing.T, f *FSM, _ any) {
			t.Helper()
			eq(t, "status", f.FileIndexStatus(), FileIndexStatus{Entries: entries, Limit: limit, Partial: len(refused) > 0, Refused: refused})
		}
	}
	report := func(w string, epoch uint64, evs ...HoldingEvent) Command {
		return &FileIndexReport{Worker: w, Epoch: epoch, Events: evs}
	}
	run(t, a, []step{
		{"no ceiling at first", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/a", Size: 1}}, Worker: "worker-1"}, nil, status(1, 0)},
		{"a negative ceiling", &SetFileIndexLimit{Limit: -1}, ErrInvalid, nil},
		{"a ceiling of 2", &SetFileIndexLimit{Limit: 2}, nil, status(1, 2)},
		{"the second path fits, the third is refused", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/b", Size: 1}, {Path: "/f/c", Size: 1}}, Worker: "worker-2"},
			nil, func(t *testing.T, f *FSM, res any) {
				eq(t, "added", res, any(1))
				status(2, 2, "worker-2")(t, f, res)
				if _, ok := f.FileIndexGet("/f/c"); ok {
					t.Fatalf("a refused path is in the index")
				}
			}},
		{"a known path takes a new holder at the ceiling", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/a"}}, Worker: "worker-2"}, nil,
			func(t *testing.T, f *FSM, _ any) {
				e, _ := f.FileIndexGet("/f/a")
				eq(t, "holders", e.Workers, []string{"worker-1", "worker-2"})
			}},
		{"a path without a holder is refused too", &FileIndexAdd{Entries: []FileEntry{{Path: "/f/d"}}}, nil, status(2, 2, "", "worker-2")},
		{"a report's new path is refused", report("worker-1", 1, HoldingEvent{Seq: 1, Reset: true}, HoldingEvent{Seq: 2, Path: "/f/e", Size: 1, Held: true}), nil,
			func(t *testing.T, f *FSM, _ any) {
				// the reset dropped worker-1 from /f/a (worker-2 still holds it): 2 entries, /f/e refused
				status(2, 2, "", "worker-1", "worker-2")(t, f, nil)
			}},
		{"a raised ceiling keeps the mark", &SetFileIndexLimit{Limit: 10}, nil, status(2, 10, "", "worker-1", "worker-2")},
		{"a reset that fits clears the worker's mark", report("worker-1", 2, HoldingEvent{Seq: 1, Reset: true}, HoldingEvent{Seq: 2, Path: "/f/e", Size: 1, Held: true}), nil,
			status(3, 10, "", "worker-2")},
		{"a removal clears it", &RemoveWorker{ID: "worker-2", Now: at(time.Minute)}, nil, status(1, 10, "")},
		{"no ceiling again", &SetFileIndexLimit{}, nil, status(1, 0, "")},
	})
	g := restored(t, a.f)
	eq(t, "restored status", g.FileIndexStatus(), a.f.FileIndexStatus())
}
