package fsm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// The compatibility contract of the persisted encoding.
//
// testdata/compat holds golden sets: a Raft log (v1.log: entries of uvarint
// index, uvarint length, encoded command, as testdata/legacy-v1-jobs.log),
// the snapshot of the state after it (v1.snap), and v1.json, which says
// which commit wrote them and what they contain: every entry's command and
// payload as decoded, what Apply answered, every snapshot record, and the
// wire names of every persisted struct. The TestCompat tests decode and
// apply every set forever: a change that makes this version read an old
// entry or snapshot differently, apply an old entry differently, or write
// other bytes for the same command or state fails them.
//
// A set describes bytes already on disk: never rewrite a set once released.
// When a command or a persisted field is added, add a new set (v2: its log
// function, its expectations, an entry in compatSets) and write it with
//
//	go test ./fsm -run TestCompat -update
//
// which writes the newest set only, from the working tree's code. Commit the
// code first, so that the description names the commit that wrote the set.
var updateCompat = flag.Bool("update", false, "write the newest golden set under testdata/compat")

// compatSet is one golden set: the commands of its log, and the state they
// reach, checked field by field.
type compatSet struct {
	name  string
	log   func() []Command
	check func(t *testing.T, f *FSM)
}

var compatSets = []compatSet{
	{name: "v1", log: compatV1Log, check: checkCompatV1},
	{name: "v2", log: compatV2Log, check: checkCompatV2}, // Worker.RingWeight
	{name: "v3", log: compatV3Log, check: checkCompatV3}, // SetFileIndexLimit, snapshot version 2
}

// compatGolden is a set as read from testdata/compat.
type compatGolden struct {
	entries [][]byte
	snap    []byte
	desc    compatDescription
	raw     []byte // the description file as it is
}

type compatDescription struct {
	About      string              `json:"about"`
	WrittenBy  string              `json:"writtenBy"`
	Regenerate string              `json:"regenerate"`
	Log        []compatEntry       `json:"log"`
	Snapshot   []compatRecord      `json:"snapshot"`
	Schema     map[string][]string `json:"schema"`
}

type compatEntry struct {
	Index   uint64 `json:"index"`
	Type    uint8  `json:"type"`
	Command string `json:"command"`
	Result  string `json:"result"`
	Payload any    `json:"payload"`
}

type compatRecord struct {
	Record string `json:"record"`
	Value  any    `json:"value"`
}

func compatPath(set, ext string) string { return filepath.Join("testdata", "compat", set+"."+ext) }

var writeNewestOnce sync.Once

// loadCompat reads a golden set; under -update it first writes the newest.
func loadCompat(t *testing.T, set compatSet) compatGolden {
	t.Helper()
	if *updateCompat {
		writeNewestOnce.Do(func() { writeCompatSet(t, compatSets[len(compatSets)-1]) })
	}
	var g compatGolden
	log, err := os.ReadFile(compatPath(set.name, "log"))
	if err != nil {
		t.Fatal(err)
	}
	for r := bytes.NewReader(log); r.Len() > 0; {
		idx, err1 := binary.ReadUvarint(r)
		n, err2 := binary.ReadUvarint(r)
		if err1 != nil || err2 != nil || idx != uint64(len(g.entries)+1) || n > uint64(r.Len()) {
			t.Fatalf("%s.log: entry %d is malformed", set.name, len(g.entries)+1)
		}
		e := make([]byte, n)
		_, _ = r.Read(e)
		g.entries = append(g.entries, e)
	}
	if g.snap, err = os.ReadFile(compatPath(set.name, "snap")); err != nil {
		t.Fatal(err)
	}
	if g.raw, err = os.ReadFile(compatPath(set.name, "json")); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(g.raw, &g.desc); err != nil {
		t.Fatal(err)
	}
	if len(g.desc.Log) != len(g.entries) || len(g.entries) != len(set.log()) {
		t.Fatalf("%s: %d entries, %d described, %d in its log function", set.name, len(g.entries), len(g.desc.Log), len(set.log()))
	}
	return g
}

// writeCompatSet writes a set's log, snapshot and description.
func writeCompatSet(t *testing.T, set compatSet) {
	t.Helper()
	f := New()
	var log []byte
	var entries [][]byte
	var results []string
	for i, c := range set.log() {
		b, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, b)
		results = append(results, resultSummary(f.Apply(uint64(i+1), b)))
		log = binary.AppendUvarint(log, uint64(i+1))
		log = binary.AppendUvarint(log, uint64(len(b)))
		log = append(log, b...)
	}
	snap := snapshotBytes(t, f)
	desc := describeCompat(t, set.name, entries, results, snap)
	desc.WrittenBy = writtenBy()
	desc.Schema = wireSchema()
	if err := os.MkdirAll(filepath.Dir(compatPath(set.name, "")), 0o755); err != nil {
		t.Fatal(err)
	}
	for ext, data := range map[string][]byte{"log": log, "snap": snap, "json": marshalDescription(t, desc)} {
		if err := os.WriteFile(compatPath(set.name, ext), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote golden set %s (%s)", set.name, desc.WrittenBy)
}

// writtenBy names the commit whose code writes a set ("-dirty" when the
// working tree has changes).
func writtenBy() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty", "--abbrev=12").Output()
	if err != nil {
		return "unknown commit"
	}
	return "commit " + strings.TrimSpace(string(out))
}

func marshalDescription(t *testing.T, d compatDescription) []byte {
	t.Helper()
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// resultSummary is what Apply answered, in words that do not depend on the
// wording of error messages.
func resultSummary(res any) string {
	var je *JobExistsError
	var ae *JobAliasError
	switch v := res.(type) {
	case nil:
		return "ok"
	case Job:
		return fmt.Sprintf("job %s %s attempts=%d", v.ID, v.State, v.Attempts)
	case Worker:
		return fmt.Sprintf("worker %s %s", v.ID, v.State)
	case HoldingState:
		return fmt.Sprintf("holding %s epoch=%d seq=%d", v.Worker, v.Epoch, v.Seq)
	case int:
		return fmt.Sprintf("count %d", v)
	case error:
		switch {
		case errors.As(v, &je):
			return fmt.Sprintf("conflict: job %s exists, %s, resumed=%v", je.ID, je.State, je.Resumed)
		case errors.As(v, &ae):
			return fmt.Sprintf("conflict: alias %s names job %s", ae.Alias, ae.ID)
		}
		for _, s := range []error{ErrInvalid, ErrNotFound, ErrConflict, ErrGone} {
			if errors.Is(v, s) {
				return "error: " + s.Error()
			}
		}
		return "error"
	}
	return fmt.Sprintf("%T", res)
}

// TestCompatLog decodes every entry of every golden log into the command
// its log function says it is, re-encodes it to the same bytes, applies it
// with the same answer, and reaches the expected state and the golden
// snapshot's bytes.
func TestCompatLog(t *testing.T) {
	for _, set := range compatSets {
		t.Run(set.name, func(t *testing.T) {
			g := loadCompat(t, set)
			f := New()
			for i, want := range set.log() {
				e := g.entries[i]
				c, err := Decode(e)
				if err != nil {
					t.Fatalf("entry %d (%s): %v", i+1, g.desc.Log[i].Command, err)
				}
				if !sameCommand(c, want) {
					t.Errorf("entry %d decodes as\n%#v\nwant\n%#v", i+1, c, want)
				}
				if b, err := Encode(c); err != nil || !bytes.Equal(b, e) {
					t.Errorf("entry %d (%s) re-encodes to other bytes (err %v):\n got %x\nwant %x", i+1, c.Type(), err, b, e)
				}
				if got := resultSummary(f.Apply(uint64(i+1), e)); got != g.desc.Log[i].Result {
					t.Errorf("entry %d (%s) answered %q; the version that wrote it answered %q", i+1, c.Type(), got, g.desc.Log[i].Result)
				}
			}
			set.check(t, f)
			if !bytes.Equal(snapshotBytes(t, f), currentSnapshot(t, g.snap)) {
				t.Errorf("the replayed state writes another snapshot than %s.snap", set.name)
			}
		})
	}
}

// TestCompatSnapshot restores every golden snapshot, checks the state field
// by field, and writes it back to the same bytes.
func TestCompatSnapshot(t *testing.T) {
	for _, set := range compatSets {
		t.Run(set.name, func(t *testing.T) {
			g := loadCompat(t, set)
			f := New()
			if err := f.Restore(bytes.NewReader(g.snap)); err != nil {
				t.Fatalf("Restore %s.snap: %v", set.name, err)
			}
			set.check(t, f)
			if !bytes.Equal(snapshotBytes(t, f), currentSnapshot(t, g.snap)) {
				t.Errorf("the restored state writes another snapshot than %s.snap", set.name)
			}
		})
	}
}

// currentSnapshot is what this version writes for the state of a golden
// snapshot: the snapshot itself when it has the current version, else (an
// older version, which this one reads but no longer writes) the bytes that
// a restore of it writes, checked to restore to the same bytes again.
func currentSnapshot(t *testing.T, snap []byte) []byte {
	t.Helper()
	var h snapshotHeader
	if err := msgpack.NewDecoder(bytes.NewReader(snap)).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if h.Version == SnapshotVersion {
		return snap
	}
	f := New()
	if err := f.Restore(bytes.NewReader(snap)); err != nil {
		t.Fatalf("Restore of a version-%d snapshot: %v", h.Version, err)
	}
	out := snapshotBytes(t, f)
	if again := snapshotBytes(t, restored(t, f)); !bytes.Equal(again, out) {
		t.Fatalf("a version-%d snapshot, restored, written, restored again, writes other bytes", h.Version)
	}
	return out
}

// TestCompatDescription: each set's description tells the truth about its
// binary files (everything but the commit and the wire names, which the
// schema test reads).
func TestCompatDescription(t *testing.T) {
	for _, set := range compatSets {
		t.Run(set.name, func(t *testing.T) {
			g := loadCompat(t, set)
			results := make([]string, len(g.desc.Log))
			for i, e := range g.desc.Log {
				results[i] = e.Result
			}
			d := describeCompat(t, set.name, g.entries, results, g.snap)
			d.WrittenBy, d.Schema = g.desc.WrittenBy, g.desc.Schema
			if got := marshalDescription(t, d); !bytes.Equal(got, g.raw) {
				t.Errorf("%s.json does not describe %s.log and %s.snap; regenerated, it reads:\n%s", set.name, set.name, set.name, got)
			}
		})
	}
}

// TestCompatJobWireShape pins two facts of the job record that the struct
// declaration does not show: the counters of the embedded JobCounters are
// inlined (keys of the job itself, no nested "JobCounters" map), and Cursor
// and Phase are persisted although their JSON tag is "-" (msgpack reads
// only msgpack tags).
func TestCompatJobWireShape(t *testing.T) {
	g := loadCompat(t, compatSets[0])
	for _, r := range g.desc.Snapshot {
		job, ok := r.Value.(map[string]any)
		if r.Record != "8 job" || !ok || job["ID"] != cJobPaths {
			continue
		}
		for _, k := range []string{"Cursor", "Phase", "ScannedFiles", "ReloadedFiles", "Attempts"} {
			if _, ok := job[k]; !ok {
				t.Errorf("the job record has no key %q: %v", k, job)
			}
		}
		if _, nested := job["JobCounters"]; nested {
			t.Errorf("the job record nests its counters: %v", job)
		}
		if job["Cursor"] != "/s3/train/a" || job["Phase"] != "load" {
			t.Errorf("the job record has cursor %v and phase %v", job["Cursor"], job["Phase"])
		}
		return
	}
	t.Fatalf("no record of job %s in v1.snap", cJobPaths)
}
