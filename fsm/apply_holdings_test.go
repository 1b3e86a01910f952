package fsm

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// held lists, per path, the holders the index claims.
func heldMap(f *FSM) map[string][]string {
	out := map[string][]string{}
	entries, _ := f.FileIndexList("", "", 0)
	for _, e := range entries {
		out[e.Path] = e.Workers
	}
	return out
}

func ev(seq uint64, path string, held bool) HoldingEvent {
	return HoldingEvent{Seq: seq, Path: path, Size: 10, Held: held}
}

func reset(seq uint64) HoldingEvent { return HoldingEvent{Seq: seq, Reset: true} }

func TestFileIndexReports(t *testing.T) {
	const w1, w2 = "worker-1", "worker-2"
	type step struct {
		cmd     Command
		wantSt  *HoldingState // the answer, when the command is a report
		wantErr error
	}
	rep := func(w string, epoch uint64, evs ...HoldingEvent) Command {
		return &FileIndexReport{Worker: w, Epoch: epoch, Events: evs}
	}
	st := func(w string, epoch, seq uint64) *HoldingState {
		return &HoldingState{Worker: w, Epoch: epoch, Seq: seq}
	}
	obs := func(w string, epoch uint64, files ...ObservedFile) Command {
		return &UpdateJob{ID: "job", Observed: []WorkerObservation{{Worker: w, Epoch: epoch, Files: files}}}
	}
	tests := []struct {
		name  string
		steps []step
		want  map[string][]string
	}{
		{"events apply in order", []step{
			{cmd: rep(w1, 5, reset(1), ev(2, "/a", true), ev(3, "/b", true), ev(4, "/a", false)), wantSt: st(w1, 5, 4)},
		}, map[string][]string{"/b": {w1}}},
		{"a new epoch must start with a reset", []step{
			{cmd: rep(w1, 5, ev(1, "/a", true)), wantSt: st(w1, 0, 0)},
		}, map[string][]string{}},
		{"an older epoch is refused", []step{
			{cmd: rep(w1, 5, reset(1), ev(2, "/a", true)), wantSt: st(w1, 5, 2)},
			{cmd: rep(w1, 4, reset(1), ev(2, "/b", true)), wantSt: st(w1, 5, 2)},
		}, map[string][]string{"/a": {w1}}},
		{"repeated events are skipped, a gap stops the report", []step{
			{cmd: rep(w1, 5, reset(1), ev(2, "/a", true)), wantSt: st(w1, 5, 2)},
			{cmd: rep(w1, 5, ev(2, "/a", true), ev(3, "/a", false), ev(4, "/b", true)), wantSt: st(w1, 5, 4)},
			{cmd: rep(w1, 5, ev(6, "/c", true)), wantSt: st(w1, 5, 4)},
		}, map[string][]string{"/b": {w1}}},
		{"a reset forgets the worker's holding, not the others'", []step{
			{cmd: rep(w1, 5, reset(1), ev(2, "/a", true), ev(3, "/b", true)), wantSt: st(w1, 5, 3)},
			{cmd: rep(w2, 7, reset(10), ev(11, "/a", true)), wantSt: st(w2, 7, 11)},
			{cmd: rep(w1, 6, reset(40), ev(41, "/b", true)), wantSt: st(w1, 6, 41)},
		}, map[string][]string{"/a": {w2}, "/b": {w1}}},
		{"an observation newer than the reports applies", []step{
			{cmd: rep(w1, 5, reset(1)), wantSt: st(w1, 5, 1)},
			{cmd: obs(w1, 5, ObservedFile{Path: "/a", Size: 3, Seq: 2, Held: true, Replicas: 2})},
		}, map[string][]string{"/a": {w1}}},
		{"an observation older than the reports is skipped (the eviction that followed it stays)", []step{
			{cmd: rep(w1, 5, reset(1), ev(2, "/a", true), ev(3, "/a", false)), wantSt: st(w1, 5, 3)},
			{cmd: obs(w1, 5, ObservedFile{Path: "/a", Size: 3, Seq: 2, Held: true})},
		}, map[string][]string{}},
		{"an observation of another epoch is skipped", []step{
			{cmd: rep(w1, 5, reset(1)), wantSt: st(w1, 5, 1)},
			{cmd: obs(w1, 4, ObservedFile{Path: "/a", Size: 3, Seq: 9, Held: true})},
		}, map[string][]string{}},
		{"a later report of the observed change is harmless", []step{
			{cmd: rep(w1, 5, reset(1)), wantSt: st(w1, 5, 1)},
			{cmd: obs(w1, 5, ObservedFile{Path: "/a", Size: 3, Seq: 2, Held: true})},
			{cmd: rep(w1, 5, ev(2, "/a", true), ev(3, "/a", false)), wantSt: st(w1, 5, 3)},
		}, map[string][]string{}},
		{"an observed drop removes the holder", []step{
			{cmd: rep(w1, 5, reset(1), ev(2, "/a", true)), wantSt: st(w1, 5, 2)},
			{cmd: obs(w1, 5, ObservedFile{Path: "/a", Seq: 3})},
		}, map[string][]string{}},
		{"an unusable change is counted and skipped", []step{
			{cmd: rep(w1, 5, reset(1), ev(2, "a", true), HoldingEvent{Seq: 3, Path: "/n", Size: -1, Held: true}, ev(4, "/b", true)), wantSt: st(w1, 5, 4)},
		}, map[string][]string{"/b": {w1}}},
		{"an unknown worker's report is refused", []step{
			{cmd: rep("worker-9", 5, reset(1)), wantErr: ErrNotFound},
		}, map[string][]string{}},
		{"removing a worker forgets its holding", []step{
			{cmd: rep(w1, 5, reset(1), ev(2, "/a", true), ev(3, "/b", true)), wantSt: st(w1, 5, 3)},
			{cmd: rep(w2, 5, reset(1), ev(2, "/a", true)), wantSt: st(w2, 5, 2)},
			{cmd: &RemoveWorker{ID: w1, Now: t0}},
			{cmd: rep(w1, 5, ev(4, "/c", true)), wantErr: ErrGone},
		}, map[string][]string{"/a": {w2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApplier(t)
			for _, w := range []string{w1, w2} {
				a.ok(&RegisterWorker{Worker: Worker{ID: w, Address: "h:1"}, Now: t0})
			}
			a.ok(&SubmitJob{Job: Job{Type: JobLoad, Paths: []string{"/"}, Alias: "x"}, Now: t0})
			jobs, _ := a.f.Jobs("", "", 0)
			for _, s := range tt.steps {
				if u, ok := s.cmd.(*UpdateJob); ok {
					u.ID = jobs[0].ID
				}
				res := a.apply(s.cmd)
				if s.wantErr != nil {
					if err, _ := res.(error); !errors.Is(err, s.wantErr) {
						t.Fatalf("%s: got %v, want %v", s.cmd.Type(), res, s.wantErr)
					}
					continue
				}
				if err, isErr := res.(error); isErr {
					t.Fatalf("%s: %v", s.cmd.Type(), err)
				}
				if s.wantSt != nil && !reflect.DeepEqual(res, *s.wantSt) {
					t.Fatalf("%s: answered %+v, want %+v", s.cmd.Type(), res, *s.wantSt)
				}
			}
			if got := heldMap(a.f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("index = %v, want %v", got, tt.want)
			}
			// The holder index agrees with the file index.
			for _, w := range []string{w1, w2} {
				var want []string
				for p, ws := range tt.want {
					for _, h := range ws {
						if h == w {
							want = append(want, p)
						}
					}
				}
				got := a.f.HeldBy(w, "", 0)
				if len(got) != len(want) || (len(want) > 0 && !sameSet(got, want)) {
					t.Errorf("HeldBy(%s) = %v, want %v", w, got, want)
				}
			}
		})
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestFileIndexReportInvalid(t *testing.T) {
	a := newApplier(t)
	a.ok(&RegisterWorker{Worker: Worker{ID: "worker-1", Address: "h:1"}, Now: t0})
	for name, c := range map[string]*FileIndexReport{
		"no worker":  {Epoch: 1, Events: []HoldingEvent{reset(1)}},
		"seq 0":      {Worker: "worker-1", Epoch: 1, Events: []HoldingEvent{reset(0)}},
		"gap inside": {Worker: "worker-1", Epoch: 1, Events: []HoldingEvent{reset(1), ev(3, "/a", true)}},
		"late reset": {Worker: "worker-1", Epoch: 1, Events: []HoldingEvent{reset(1), reset(2)}},
	} {
		t.Run(name, func(t *testing.T) { a.fail(c, ErrInvalid) })
	}
}

// Holdings and removals survive a snapshot, and the holder index is rebuilt.
func TestHoldingsSnapshotRoundTrip(t *testing.T) {
	a := newApplier(t)
	for _, w := range []string{"worker-1", "worker-2"} {
		a.ok(&RegisterWorker{Worker: Worker{ID: w, Address: "h:1"}, Now: t0})
	}
	a.ok(&FileIndexReport{Worker: "worker-1", Epoch: 3, Events: []HoldingEvent{reset(1), ev(2, "/a", true), ev(3, "/b", true)}})
	a.ok(&FileIndexReport{Worker: "worker-2", Epoch: 4, Events: []HoldingEvent{reset(1), ev(2, "/b", true)}})
	a.ok(&RemoveWorker{ID: "worker-2", Now: at(1)})
	var buf bytes.Buffer
	if _, err := a.f.Snapshot().WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	g := New()
	if err := g.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if st := g.Holding("worker-1"); st.Epoch != 3 || st.Seq != 3 {
		t.Errorf("holding = %+v", st)
	}
	if got := g.HeldBy("worker-1", "", 0); !reflect.DeepEqual(got, []string{"/a", "/b"}) {
		t.Errorf("HeldBy = %v", got)
	}
	if r, ok := g.Removed("worker-2"); !ok || !r.At.Equal(at(1)) {
		t.Errorf("Removed = %+v, %v", r, ok)
	}
	if _, ok := g.Worker("worker-2"); ok {
		t.Error("a removed worker is still a member")
	}
	// Registering again ends the removal.
	b := &applier{t: t, f: g, idx: a.idx}
	b.ok(&RegisterWorker{Worker: Worker{ID: "worker-2", Address: "h:2"}, Now: at(2)})
	if _, ok := g.Removed("worker-2"); ok {
		t.Error("a registered worker is still listed as removed")
	}
}
