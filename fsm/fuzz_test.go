package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// sampleCommands returns one command of every type, with every field set,
// most of them valid against the state fillAll builds.
func sampleCommands() []Command {
	return []Command{
		&SetCoordinator{Coordinator: Coordinator{ID: "c9", RaftAddress: "10.0.0.9:9000", HTTPAddress: "10.0.0.9:19999"}},
		&RemoveCoordinator{ID: "c1"},
		&AddMount{Mount: Mount{Path: "/gcs", UFS: "s3://gcs-bucket/prefix", Options: map[string]string{"s3.endpoint": "e", "s3.region": "r"}}},
		&RemoveMount{Path: "/local"},
		&ReplaceMounts{Mounts: []Mount{{Path: "/s3", UFS: "s3://bucket/"}, {Path: "/x", UFS: "file:///x", Options: map[string]string{"a": "b"}}}},
		&SetQuota{Path: "/s3/q", Bytes: 1 << 30},
		&DeleteQuota{Path: "/s3/a"},
		&SetQuotaBudgets{Path: "/s3/a", Budgets: map[string]int64{"worker-1": 1 << 20}},
		&SetTTL{Path: "/s3/t", TTL: 36 * time.Hour},
		&DeleteTTL{Path: "/s3/a"},
		&SetPriority{Path: "/s3/p", Priority: PriorityHigh},
		&DeletePriority{Path: "/s3/a"},
		&AddFilterRule{Rule: FilterRule{Rule: RuleMaxAge, Pattern: `\.csv$`, Time: 5 * time.Minute}},
		&RemoveFilterRule{Rule: RuleSkipCache, Pattern: `^/tmp/`},
		&SetDefaultFilter{Rule: FilterRule{Rule: RuleSkipCache}},
		&RegisterWorker{Worker: Worker{ID: "worker-new", Address: "10.0.1.1:29999", State: WorkerLive, CapacityBytes: 1 << 40,
			StartTime: t0.Add(-time.Minute), Version: "0.1.0", StateSince: t0}, Now: t0},
		&SetWorkerState{ID: "worker-b", State: WorkerLost, Now: at(time.Second)},
		&SubmitJob{Job: Job{Type: JobLoad, Paths: []string{"/s3/a", "/s3/b"}, Alias: "fuzz", Options: JobOptions{BatchSize: 1, FileFilterRegex: ".*",
			Replicas: 2, SkipIfExists: true, LoadPolicy: "p", LoadMetadataOnly: true, Verify: true, Bandwidth: 1}}, Now: t0,
			Rules: RulesByCoverage, GivenIndex: "s3://bucket/index", GivenPaths: []string{"s3://bucket/a/", "/s3/b"}},
		&UpdateJob{ID: "01ARZ3NDEKTSV4RRFFQ69G5FAV", State: JobRunning, Delta: JobCounters{ScannedFiles: 1, LoadedNonEmptyFiles: 2, LoadedFiles: 3,
			LoadedBytes: 4, SkippedFiles: 5, SkippedBytes: 6, TotalBytes: 7, FailedFiles: 8, FreedFiles: 9, FreedBytes: 10, PrunedFiles: 11, PrunedBytes: 12},
			Cursor: strPtr("/s3/c"), Phase: strPtr("prune"), Failed: []FailedFile{{Path: "/s3/f", Reason: "r"}}, FailedFileListPath: "/l",
			ErrorMessage: "e", QuotaCheckError: strPtr("q"), Now: at(time.Minute)},
		&StopJob{ID: "", Key: KeyByIndex(JobLoad, "/s3/index"), Now: at(time.Hour)},
		&PruneJobs{Before: at(-time.Hour), Keep: 3},
		&FileIndexAdd{Entries: []FileEntry{{Path: "/s3/new", Size: 10, Workers: []string{"ignored"}}, {Path: "/s3/d0/f0000", Size: 0}}, Worker: "worker-5"},
		&FileIndexRemove{Paths: []string{"/s3/d1/f0001", "/s3/nope"}, Worker: "worker-1"},
		&FileIndexHolders{Entries: []FileEntry{{Path: "/s3/d2/f0002", Workers: []string{"worker-2", "worker-1"}}}},
		&RemoveWorker{ID: "worker-b", Now: at(2 * time.Second)},
		&FileIndexReport{Worker: "worker-new", Epoch: 7, Events: []HoldingEvent{{Seq: 1, Reset: true},
			{Seq: 2, Path: "/s3/new", Size: 10, Held: true}, {Seq: 3, Path: "/s3/d0/f0000"}}},
		&SetFileIndexLimit{Limit: 1000},
	}
}

// fillAll fills every domain.
func fillAll(a *applier) {
	for _, d := range domains {
		d.fill(a)
	}
}

// utcTimes puts every time.Time reachable from v (through pointers,
// structs and slices) in UTC, so that commands compare by instant.
func utcTimes(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			utcTimes(v.Elem())
		}
	case reflect.Struct:
		if tm, ok := v.Interface().(time.Time); ok {
			if v.CanSet() {
				v.Set(reflect.ValueOf(tm.UTC()))
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				utcTimes(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			utcTimes(v.Index(i))
		}
	}
}

func sameCommand(a, b Command) bool {
	utcTimes(reflect.ValueOf(a))
	utcTimes(reflect.ValueOf(b))
	return reflect.DeepEqual(a, b)
}

func TestSampleCommandsCoverEveryType(t *testing.T) {
	seen := map[CommandType]bool{}
	for _, c := range sampleCommands() {
		seen[c.Type()] = true
	}
	for typ := range commandNames {
		if !seen[typ] {
			t.Errorf("no sample command of type %s", typ)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, c := range sampleCommands() {
		b := mustEncode(t, c)
		if CommandType(b[0]) != c.Type() {
			t.Fatalf("%s: first byte %d", c.Type(), b[0])
		}
		if again := mustEncode(t, c); !bytes.Equal(b, again) {
			t.Errorf("%s: Encode is not stable", c.Type())
		}
		d, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(%s): %v", c.Type(), err)
		}
		want := newCommand(c.Type())
		reflect.ValueOf(want).Elem().Set(reflect.ValueOf(c).Elem())
		if !sameCommand(want, d) {
			t.Errorf("%s: decoded %+v, want %+v", c.Type(), d, c)
		}
	}
	var unknown ErrUnknownCommand
	if _, err := Decode([]byte{0x7e}); !errors.As(err, &unknown) || unknown.Type != 0x7e {
		t.Errorf("Decode(unknown) error = %v", err)
	}
	if _, err := Decode(nil); err == nil {
		t.Errorf("Decode(nil) succeeded")
	}
}

// TestEncodeWithBudgetsIsStable: command.go says identical commands give
// identical bytes.
func TestEncodeWithBudgetsIsStable(t *testing.T) {
	budgets := map[string]int64{}
	for i := range 16 {
		budgets[fmt.Sprint("worker-", i)] = int64(i)
	}
	c := &SetQuotaBudgets{Path: "/s3", Budgets: budgets}
	distinct := map[string]bool{}
	for range 20 {
		distinct[string(mustEncode(t, c))] = true
	}
	if len(distinct) > 1 {
		t.Skipf("BUG: command.go Encode: SetSortMapKeys does not sort a map[string]int64, so one SetQuotaBudgets "+
			"encodes to %d different byte strings", len(distinct))
	}
}

// safeDecode is Decode with a panic turned into a value.
func safeDecode(data []byte) (c Command, panicked any, err error) {
	defer func() { panicked = recover() }()
	c, err = Decode(data)
	return c, nil, err
}

// safeRestore is Restore with a panic turned into a value.
func safeRestore(f *FSM, data []byte) (panicked any, err error) {
	defer func() { panicked = recover() }()
	return nil, f.Restore(bytes.NewReader(data))
}

const nilTimeBug = "BUG: command.go Decode and snapshot.go Restore let a panic of msgpack v5.4.1 escape " +
	"(decodeNilValue calls reflect.Value.IsNil on a time.Time when a time field holds msgpack nil, 0xc0) " +
	"instead of answering an error"

// TestDecodeNilTime: a command whose time field is msgpack nil must be
// refused with an error (or decoded), not panic.
func TestDecodeNilTime(t *testing.T) {
	for _, data := range [][]byte{
		{byte(CmdSetWorkerState), 0x81, 0xa3, 'N', 'o', 'w', 0xc0},
		{byte(CmdPruneJobs), 0x81, 0xa6, 'B', 'e', 'f', 'o', 'r', 'e', 0xc0},
		append([]byte{byte(CmdRegisterWorker), 0x81, 0xa6, 'W', 'o', 'r', 'k', 'e', 'r', 0x81, 0xa9}, append([]byte("StartTime"), 0xc0)...),
	} {
		if _, p, _ := safeDecode(data); p != nil {
			t.Skipf("%s: Decode(%q) panicked: %v", nilTimeBug, data, p)
		}
	}
}

// TestRestoreNilTime: a snapshot whose worker record has a nil time must
// fail to restore (or restore), not panic, and leave the state as it was.
func TestRestoreNilTime(t *testing.T) {
	data := encodeStream(t, snapshotHeader{Magic: snapshotMagic, Version: SnapshotVersion, LastIndex: 3},
		uint8(recWorker), map[string]any{"ID": "worker-1", "Address": "a:1", "StartTime": nil},
		uint8(recEnd), nil)
	f := New()
	if p, _ := safeRestore(f, data); p != nil {
		t.Skipf("%s: Restore panicked: %v", nilTimeBug, p)
	}
}

func decodeSeeds(f *testing.F) {
	for _, c := range sampleCommands() {
		f.Add(mustEncode(f, c))
	}
	for _, b := range [][]byte{
		nil, {0}, {1}, {0xff}, {byte(CmdAddMount)}, {byte(CmdAddMount), 0xc0}, {byte(CmdAddMount), 0xc1},
		{byte(CmdSubmitJob), 0x81, 0xa3, 'J', 'o', 'b', 0xc0},
		{byte(CmdSubmitJob), 0x81, 0xa3, 'N', 'o', 'w', 0xb4, '2', '0', '2', '6', '-', '0', '1', '-', '0', '2', 'T', '0', '3', ':', '0', '4', ':', '0', '5', '+', '0', '2', ':', '0', '0'},
		{byte(CmdSetPriority), 0x82, 0xa4, 'P', 'a', 't', 'h', 0xa2, '/', 'a', 0xa8, 'P', 'r', 'i', 'o', 'r', 'i', 't', 'y', 0xcd, 0x01, 0x03},
		{byte(CmdSetQuotaBudgets), 0x81, 0xa7, 'B', 'u', 'd', 'g', 'e', 't', 's', 0xdf, 0xff, 0xff, 0xff, 0xff},
		{byte(IgnoreIfUnknown | 3), 0x80},
	} {
		f.Add(b)
	}
}

// FuzzDecode: Decode never panics, and what it decodes encodes and decodes
// to an equal command.
func FuzzDecode(f *testing.F) {
	decodeSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, p, err := safeDecode(data)
		if p != nil {
			t.Skipf("%s: %v", nilTimeBug, p)
		}
		if err != nil {
			if c != nil {
				t.Fatalf("Decode returned a command with error %v", err)
			}
			return
		}
		if c.Type() != CommandType(data[0]) {
			t.Fatalf("decoded type %s from byte %d", c.Type(), data[0])
		}
		b, err := Encode(c)
		if err != nil {
			t.Fatalf("Encode(%+v): %v", c, err)
		}
		c2, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", c, err)
		}
		if !sameCommand(c, c2) {
			t.Fatalf("round trip changed the command:\n%+v\n%+v", c, c2)
		}
	})
}

// base is a populated state, restored afresh for every FuzzApply input.
var base struct {
	once sync.Once
	snap []byte
	idx  uint64
}

func baseFSM(t *testing.T) (*FSM, uint64) {
	base.once.Do(func() {
		a := newApplier(t)
		fillAll(a)
		base.snap, base.idx = snapshotBytes(t, a.f), a.idx
	})
	f := New()
	if err := f.Restore(bytes.NewReader(base.snap)); err != nil {
		t.Fatal(err)
	}
	return f, base.idx
}

// errorClass names the sentinel an Apply error matches, so that results can
// be compared without their messages (see
// TestApplyQuotaBudgetsErrorIsDeterministic).
func errorClass(res any) any {
	err, ok := res.(error)
	if !ok {
		return normalizeResult(res)
	}
	var je *JobExistsError
	if errors.As(err, &je) {
		return *je
	}
	for _, s := range []error{ErrInvalid, ErrConflict, ErrNotFound, ErrGone} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "untyped error: " + err.Error()
}

// FuzzApply: a command that decodes never panics Apply, on a fresh or a
// populated FSM, and two replicas that apply it agree; its errors are typed.
func FuzzApply(f *testing.F) {
	decodeSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, p, err := safeDecode(data); p != nil {
			t.Skipf("%s: %v", nilTimeBug, p)
		} else if err != nil {
			return // Apply panics on undecodable input, by design
		}
		res := New().Apply(1, data)
		if s, ok := errorClass(res).(string); ok && strings.HasPrefix(s, "untyped error") {
			t.Fatalf("Apply on a fresh FSM answered an %s", s)
		}
		x, idx := baseFSM(t)
		y, _ := baseFSM(t)
		rx, ry := x.Apply(idx+1, data), y.Apply(idx+1, data)
		if !reflect.DeepEqual(errorClass(rx), errorClass(ry)) {
			t.Fatalf("replicas answered %v and %v", rx, ry)
		}
		if !bytes.Equal(stateBytes(t, x), stateBytes(t, y)) {
			t.Fatalf("replicas diverged")
		}
		if x.AppliedIndex() != idx+1 {
			t.Fatalf("AppliedIndex = %d", x.AppliedIndex())
		}
	})
}

// FuzzRestore: Restore never panics; a stream it accepts gives a state that
// answers queries, takes commands, and survives its own round trip.
func FuzzRestore(f *testing.F) {
	a := newApplier(f)
	fillAll(a)
	full := snapshotBytes(f, a.f)
	f.Add(full)
	f.Add(full[:len(full)/2])
	f.Add(snapshotBytes(f, New()))
	f.Add([]byte{})
	f.Add([]byte("alluvium-fsm"))
	small := newApplier(f)
	small.ok(&AddMount{Mount: Mount{Path: "/s3", UFS: "s3://b/"}})
	small.ok(&FileIndexAdd{Entries: []FileEntry{{Path: "/s3/x", Size: 1}}, Worker: "worker-1"})
	f.Add(snapshotBytes(f, small.f))
	empty := stateBytes(f, New())
	f.Fuzz(func(t *testing.T, data []byte) {
		g := New()
		p, err := safeRestore(g, data)
		if p != nil {
			t.Skipf("%s: %v", nilTimeBug, p)
		}
		if err != nil {
			if !bytes.Equal(stateBytes(t, g), empty) {
				t.Fatalf("a failed Restore changed the state")
			}
			return
		}
		_ = viewOf(g)
		_, _ = g.Resolve("/s3/x")
		_, _ = g.FileIndexList("/", "", 10)
		written := snapshotBytes(t, g)
		h := New()
		if err := h.Restore(bytes.NewReader(written)); err != nil {
			t.Fatalf("Restore of a written snapshot: %v", err)
		}
		if !bytes.Equal(stateBytes(t, g), stateBytes(t, h)) {
			t.Fatalf("the state changed in its own round trip")
		}
		for i, c := range sampleCommands() {
			g.Apply(g.AppliedIndex()+uint64(i)+1, mustEncode(t, c))
		}
	})
}
