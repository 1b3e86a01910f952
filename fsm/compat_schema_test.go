package fsm

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// The wire schema: for every command type and snapshot record, the dotted
// wire names of its persisted fields ("Job.FailedFileSamples[].Path"), in
// the order msgpack writes them, ",omitempty" where a field is left out
// when empty. A struct embedded without a name is inlined by msgpack: its
// fields appear at the level of the struct that embeds it.

// snapshotRoots are the values the snapshot writer encodes, by record.
var snapshotRoots = map[string]any{
	"snapshot header":              snapshotHeader{},
	"record 1 coordinator":         Coordinator{},
	"record 2 mount":               Mount{},
	"record 3 quota":               Quota{},
	"record 4 ttl":                 TTL{},
	"record 5 priority":            PathPriority{},
	"record 6 filter":              FilterPolicy{},
	"record 7 worker":              Worker{},
	"record 8 job":                 Job{},
	"record 9 file entry":          FileEntry{},
	"record 138 holding":           HoldingState{},
	"record 139 removed worker":    RemovedWorker{},
	"record 12 file index limit":   fileLimitRecord{},
	"record 13 file index holders": []string{},
	"record 14 file index block":   []byte{},
}

var recordNames = map[recordType]string{
	recCoordinator: "coordinator", recMount: "mount", recQuota: "quota", recTTL: "ttl", recPriority: "priority",
	recFilter: "filter", recWorker: "worker", recJob: "job", recFileEntry: "file entry", recHolding: "holding",
	recRemovedWorker: "removed worker", recFileLimit: "file index limit", recFileNames: "file index holders",
	recFileBlock: "file index block",
}

func commandRoot(t CommandType) string { return fmt.Sprintf("command %d %s", uint8(t), t) }

// wireSchema lists the wire names of every command and snapshot record.
func wireSchema() map[string][]string {
	out := map[string][]string{}
	for t := range commandNames {
		var names []string
		wireNames(reflect.TypeOf(newCommand(t)), "", &names)
		out[commandRoot(t)] = names
	}
	for root, v := range snapshotRoots {
		var names []string
		wireNames(reflect.TypeOf(v), "", &names)
		out[root] = names
	}
	return out
}

var customCodec = []reflect.Type{
	reflect.TypeFor[msgpack.CustomEncoder](), reflect.TypeFor[msgpack.Marshaler](), reflect.TypeFor[time.Time](),
}

// persistedStruct returns the struct type that t is or holds (through
// pointers, slices and maps), unless msgpack encodes it by itself.
func persistedStruct(t reflect.Type) (reflect.Type, string, bool) {
	suffix := ""
	for {
		for _, c := range customCodec {
			if t == c || (c.Kind() == reflect.Interface && (t.Implements(c) || reflect.PointerTo(t).Implements(c))) {
				return nil, "", false
			}
		}
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
		case reflect.Slice, reflect.Array:
			t, suffix = t.Elem(), suffix+"[]"
		case reflect.Map:
			t, suffix = t.Elem(), suffix+"{}"
		case reflect.Struct:
			return t, suffix, true
		default:
			return nil, "", false
		}
	}
}

// wireField says how msgpack (v5, no custom struct tag) names a field, and
// whether it inlines it (an embedded struct).
func wireField(f reflect.StructField) (name string, omitempty, inline, skip bool) {
	name, opts, _ := strings.Cut(f.Tag.Get("msgpack"), ",")
	optList := strings.Split(opts, ",")
	if name == "-" || (!f.IsExported() && !f.Anonymous) {
		return "", false, false, true
	}
	if name == "" {
		name = f.Name
	}
	_, suffix, isStruct := persistedStruct(f.Type)
	inline = f.Anonymous && isStruct && suffix == "" && !slices.Contains(optList, "noinline")
	return name, slices.Contains(optList, "omitempty"), inline, false
}

func wireNames(t reflect.Type, prefix string, out *[]string) {
	st, _, ok := persistedStruct(t)
	if !ok {
		return
	}
	for i := range st.NumField() {
		f := st.Field(i)
		name, omitempty, inline, skip := wireField(f)
		if skip {
			continue
		}
		if inline {
			wireNames(f.Type, prefix, out)
			continue
		}
		entry := prefix + name
		if omitempty {
			entry += ",omitempty"
		}
		*out = append(*out, entry)
		if _, suffix, ok := persistedStruct(f.Type); ok {
			wireNames(f.Type, prefix+name+suffix+".", out)
		}
	}
}

// persistedTypes returns every struct type msgpack encodes field by field
// in a command or a snapshot record.
func persistedTypes() []reflect.Type {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		st, _, ok := persistedStruct(t)
		if !ok || seen[st] {
			return
		}
		seen[st] = true
		for i := range st.NumField() {
			if _, _, _, skip := wireField(st.Field(i)); !skip {
				walk(st.Field(i).Type)
			}
		}
	}
	for t := range commandNames {
		walk(reflect.TypeOf(newCommand(t)))
	}
	for _, v := range snapshotRoots {
		walk(reflect.TypeOf(v))
	}
	return slices.SortedFunc(maps.Keys(seen), func(a, b reflect.Type) int { return strings.Compare(a.Name(), b.Name()) })
}

// coveredFields records, as "Type.wirename", the fields of persisted
// structs that are not zero in v.
func coveredFields(v reflect.Value, seen map[string]bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if _, _, ok := persistedStruct(v.Type()); !ok {
		return
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			coveredFields(v.Index(i), seen)
		}
		return
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			coveredFields(it.Value(), seen)
		}
		return
	}
	for i := range v.NumField() {
		name, _, _, skip := wireField(v.Type().Field(i))
		if skip {
			continue
		}
		if !v.Field(i).IsZero() {
			seen[v.Type().Name()+"."+name] = true
		}
		coveredFields(v.Field(i), seen)
	}
}

// describeCompat describes a set's binary files: each log entry's payload
// and each snapshot record as msgpack decodes them without a Go type.
func describeCompat(t *testing.T, set string, entries [][]byte, results []string, snap []byte) compatDescription {
	t.Helper()
	d := compatDescription{
		About: fmt.Sprintf("Golden set %[1]s of the persisted encoding of package fsm. %[1]s.log: a Raft log "+
			"(uvarint index, uvarint length, then one command type byte and its msgpack payload) with entries of "+
			"every command type; %[1]s.snap: the snapshot of the state the log reaches (msgpack header, then per "+
			"record a type byte and its msgpack value, then the end record 0). Below: each entry's payload and each "+
			"record as decoded without a Go type (keys are wire names, times in UTC), what Apply answered, and the "+
			"wire names of every command and record. These files stand for logs and snapshots on disk: never "+
			"rewrite them; see fsm/compat_test.go.", set),
		Regenerate: "go test ./fsm -run TestCompat -update (writes the newest set only; see fsm/compat_test.go)",
	}
	for i, e := range entries {
		v, err := msgpack.NewDecoder(bytes.NewReader(e[1:])).DecodeInterface()
		if err != nil {
			t.Fatalf("%s entry %d: %v", set, i+1, err)
		}
		d.Log = append(d.Log, compatEntry{Index: uint64(i + 1), Type: e[0], Command: CommandType(e[0]).String(),
			Result: results[i], Payload: plainUTC(v)})
	}
	dec := msgpack.NewDecoder(bytes.NewReader(snap))
	h, err := dec.DecodeInterface()
	if err != nil {
		t.Fatalf("%s.snap header: %v", set, err)
	}
	d.Snapshot = append(d.Snapshot, compatRecord{Record: "header", Value: plainUTC(h)})
	for {
		typ, err := dec.DecodeUint8()
		if err != nil {
			t.Fatalf("%s.snap record %d: %v", set, len(d.Snapshot), err)
		}
		if recordType(typ) == recEnd {
			d.Snapshot = append(d.Snapshot, compatRecord{Record: "0 end"})
			return d
		}
		v, err := dec.DecodeInterface()
		if err != nil {
			t.Fatalf("%s.snap record %d: %v", set, len(d.Snapshot), err)
		}
		d.Snapshot = append(d.Snapshot, compatRecord{Record: fmt.Sprintf("%d %s", typ, recordNames[recordType(typ)]), Value: plainUTC(v)})
	}
}

// plainUTC puts the times of a decoded value in UTC.
func plainUTC(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC()
	case map[string]any:
		for k := range x {
			x[k] = plainUTC(x[k])
		}
	case []any:
		for i := range x {
			x[i] = plainUTC(x[i])
		}
	}
	return v
}

// retiredWireNames lists wire names that a set recorded and that this
// version no longer has, as "root: name". A retired name stays here, and
// is never used again for another field.
var retiredWireNames = map[string]bool{}

// TestCompatWireNamesAreKept: every wire name a golden set recorded still
// names a field of the same command or record (a renamed tag or field, or
// a removed omitempty, fails here with the name).
func TestCompatWireNamesAreKept(t *testing.T) {
	now := wireSchema()
	for _, set := range compatSets {
		g := loadCompat(t, set)
		for _, root := range slices.Sorted(maps.Keys(g.desc.Schema)) {
			for _, name := range g.desc.Schema[root] {
				if !slices.Contains(now[root], name) && !retiredWireNames[root+": "+name] {
					t.Errorf("%s: %s: wire name %q, written by set %s, is gone (tags are the wire contract: never rename one)",
						set.name, root, name, set.name)
				}
			}
		}
	}
}

// TestCompatCoverage: the golden sets hold an entry of every command type,
// and every field of every persisted struct is set (not zero) in some
// command or record of some set, so that no field escapes the
// compatibility tests. A new command or field needs a new set (see
// compat_test.go).
func TestCompatCoverage(t *testing.T) {
	seen := map[string]bool{}
	for _, set := range compatSets {
		g := loadCompat(t, set)
		for _, e := range g.entries {
			c, err := Decode(e)
			if err != nil {
				t.Fatal(err)
			}
			seen[commandRoot(c.Type())] = true
			coveredFields(reflect.ValueOf(c), seen)
		}
		f := New()
		if err := f.Restore(bytes.NewReader(g.snap)); err != nil {
			t.Fatal(err)
		}
		s := f.Snapshot()
		files, _ := f.FileIndexList("", "", 0)
		for _, e := range files {
			coveredFields(reflect.ValueOf(e), seen)
		}
		for _, v := range []any{s.header, s.coordinators, s.mounts, s.quotas, s.ttls, s.priorities, s.filter,
			s.workers, s.jobs, s.holdings, s.removed, fileLimitRecord{Limit: s.fileLimit, Refused: s.refused}} {
			coveredFields(reflect.ValueOf(v), seen)
		}
	}
	for t2 := range commandNames {
		if !seen[commandRoot(t2)] {
			t.Errorf("no golden set has an entry of %s: add a new set (see compat_test.go)", commandRoot(t2))
		}
	}
	for _, st := range persistedTypes() {
		for i := range st.NumField() {
			name, _, _, skip := wireField(st.Field(i))
			if !skip && !seen[st.Name()+"."+name] {
				t.Errorf("%s.%s (wire name %q) is zero in every golden set: add a new set that sets it (see compat_test.go)",
					st.Name(), st.Field(i).Name, name)
			}
		}
	}
}

// TestCompatEveryPersistedFieldIsTagged: every field of every struct that a
// command or a snapshot record holds names its wire key in a msgpack tag
// (an embedded struct says ",inline"), and no two fields of a command or
// record share a wire name (see Command).
func TestCompatEveryPersistedFieldIsTagged(t *testing.T) {
	for _, st := range persistedTypes() {
		for i := range st.NumField() {
			f := st.Field(i)
			if _, _, _, skip := wireField(f); skip {
				continue
			}
			tag, ok := f.Tag.Lookup("msgpack")
			name, opts, _ := strings.Cut(tag, ",")
			switch {
			case !ok:
				t.Errorf("%s.%s has no msgpack tag: its tag is its wire name, forever", st.Name(), f.Name)
			case f.Anonymous && (name != "" || !slices.Contains(strings.Split(opts, ","), "inline")):
				t.Errorf("%s embeds %s with tag %q, want `msgpack:\",inline\"`", st.Name(), f.Name, tag)
			case !f.Anonymous && name == "":
				t.Errorf("%s.%s has a msgpack tag without a name: %q", st.Name(), f.Name, tag)
			}
		}
	}
	for root, names := range wireSchema() {
		seen := map[string]bool{}
		for _, n := range names {
			n, _, _ = strings.Cut(n, ",")
			if seen[n] {
				t.Errorf("%s: two fields have the wire name %q", root, n)
			}
			seen[n] = true
		}
	}
}
