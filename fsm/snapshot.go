package fsm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// SnapshotVersion is the format version written in every snapshot header.
// Restore reads this version and refuses newer ones.
const SnapshotVersion = 2

const snapshotMagic = "alluvium-fsm"

// recordType tags each record of a snapshot stream. Like command types, the
// high bit marks a record that an older reader may skip.
type recordType uint8

const (
	recEnd         recordType = 0 // last record: a stream without it is truncated
	recCoordinator recordType = 1
	recMount       recordType = 2
	recQuota       recordType = 3
	recTTL         recordType = 4
	recPriority    recordType = 5
	recFilter      recordType = 6
	recWorker      recordType = 7
	recJob         recordType = 8
	recFileEntry   recordType = 9
	// Skippable: an older reader loses only the report positions (its
	// workers then start a new epoch) and the removal records.
	recHolding       recordType = recSkippable | 10
	recRemovedWorker recordType = recSkippable | 11
	// Version 2: the file index packed (see snapshot_files.go) in place of
	// recFileEntry records.
	recFileLimit recordType = 12
	recFileNames recordType = 13
	recFileBlock recordType = 14

	recSkippable recordType = 0x80
)

type snapshotHeader struct {
	Magic         string `msgpack:"Magic"`
	Version       int    `msgpack:"Version"`
	LastIndex     uint64 `msgpack:"LastIndex"`
	PolicyVersion uint64 `msgpack:"PolicyVersion"`
	LastJobID     string `msgpack:"LastJobID"`
}

// Snapshot is an immutable view of the state, captured quickly under the lock
// and written out later, while Apply goes on.
type Snapshot struct {
	header       snapshotHeader
	coordinators []Coordinator
	mounts       []Mount
	quotas       []Quota
	ttls         []TTL
	priorities   []PathPriority
	filter       FilterPolicy
	workers      []Worker
	jobs         []*Job
	files        *fileIndex
	fileLimit    int
	refused      []string
	holdings     []HoldingState
	removed      []RemovedWorker
}

// Snapshot captures the current state. It copies the small tables and clones
// the file index copy-on-write, so it costs little even with millions of
// entries; values stored in the state are never mutated in place.
func (f *FSM) Snapshot() *Snapshot {
	f.mu.Lock() // Clone marks the file tree shared: a write to the tree's fields
	defer f.mu.Unlock()
	s := f.s
	snap := &Snapshot{
		header: snapshotHeader{Magic: snapshotMagic, Version: SnapshotVersion,
			LastIndex: s.lastIndex, PolicyVersion: s.policyVersion, LastJobID: s.lastJobID},
		coordinators: sortedValues(s.coordinators),
		mounts:       sortedValues(s.mounts),
		quotas:       sortedValues(s.quotas),
		ttls:         sortedValues(s.ttls),
		priorities:   sortedValues(s.priorities),
		filter:       FilterPolicy{Rules: slices.Clone(s.filter.Rules), Default: s.filter.Default},
		workers:      sortedValues(s.workers),
		jobs:         sortedValues(s.jobs),
		files:        s.files.clone(),
		fileLimit:    s.fileLimit,
		refused:      sortedKeys(s.refused),
		holdings:     sortedValues(s.holdings),
		removed:      sortedValues(s.removed),
	}
	return snap
}

// LastIndex is the log index the snapshot was taken at.
func (s *Snapshot) LastIndex() uint64 { return s.header.LastIndex }

// WriteTo streams the snapshot: the header, then one record per object, then
// an end record. The bytes depend only on the state, so replicas that applied
// the same log write identical snapshots.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	enc := msgpack.NewEncoder(bw)
	enc.SetSortMapKeys(true)
	enc.UseCompactInts(true)
	var err error
	put := func(t recordType, v any) {
		if err != nil {
			return
		}
		if err = enc.EncodeUint8(uint8(t)); err == nil {
			err = enc.Encode(v)
		}
	}
	if err = enc.Encode(&s.header); err != nil {
		return cw.n, err
	}
	for i := range s.coordinators {
		put(recCoordinator, &s.coordinators[i])
	}
	for i := range s.mounts {
		put(recMount, &s.mounts[i])
	}
	for i := range s.quotas {
		put(recQuota, &s.quotas[i])
	}
	for i := range s.ttls {
		put(recTTL, &s.ttls[i])
	}
	for i := range s.priorities {
		put(recPriority, &s.priorities[i])
	}
	put(recFilter, &s.filter)
	for i := range s.workers {
		put(recWorker, &s.workers[i])
	}
	for _, j := range s.jobs {
		put(recJob, j)
	}
	if err == nil {
		err = s.writeFiles(put, func(b []byte) error {
			if err := enc.EncodeUint8(uint8(recFileBlock)); err != nil {
				return err
			}
			return enc.EncodeBytes(b)
		})
	}
	for i := range s.holdings {
		put(recHolding, &s.holdings[i])
	}
	for i := range s.removed {
		put(recRemovedWorker, &s.removed[i])
	}
	put(recEnd, nil)
	if err == nil {
		err = bw.Flush()
	}
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Restore replaces the whole state with a snapshot written by WriteTo. The
// new state is built aside and swapped in only when the stream was read to
// its end record, so a failed restore leaves the FSM as it was.
func (f *FSM) Restore(r io.Reader) error {
	dec := msgpack.NewDecoder(bufio.NewReaderSize(r, 256<<10))
	var h snapshotHeader
	if err := decodeSafely(dec, &h); err != nil {
		return fmt.Errorf("fsm: snapshot header: %w", err)
	}
	if h.Magic != snapshotMagic {
		return fmt.Errorf("fsm: not an Alluvium snapshot")
	}
	if h.Version > SnapshotVersion || h.Version < 1 {
		return fmt.Errorf("fsm: snapshot version %d is not supported (this build reads up to %d)", h.Version, SnapshotVersion)
	}
	s := newState()
	s.lastIndex, s.policyVersion, s.lastJobID = h.LastIndex, h.PolicyVersion, h.LastJobID
	var fr fileRestore
	for {
		var t uint8
		err := decodeSafely(dec, &t)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("fsm: snapshot is truncated (no end record)")
			}
			return fmt.Errorf("fsm: snapshot record: %w", err)
		}
		if recordType(t) == recEnd {
			break
		}
		if err := s.restoreRecord(dec, recordType(t), &fr); err != nil {
			return err
		}
	}
	s.rebuildJobKeys()
	s.files.flush()
	f.mu.Lock()
	f.s = s
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	return nil
}

// restoreRecord decodes one record into s.
func (s *state) restoreRecord(dec *msgpack.Decoder, t recordType, fr *fileRestore) error {
	var err error
	switch t {
	case recCoordinator:
		var v Coordinator
		if err = decodeSafely(dec, &v); err == nil {
			s.coordinators[v.ID] = v
		}
	case recMount:
		var v Mount
		if err = decodeSafely(dec, &v); err == nil {
			s.mounts[v.Path] = v
		}
	case recQuota:
		var v Quota
		if err = decodeSafely(dec, &v); err == nil {
			s.quotas[v.Path] = v
		}
	case recTTL:
		var v TTL
		if err = decodeSafely(dec, &v); err == nil {
			s.ttls[v.Path] = v
		}
	case recPriority:
		var v PathPriority
		if err = decodeSafely(dec, &v); err == nil {
			s.priorities[v.Path] = v
		}
	case recFilter:
		err = decodeSafely(dec, &s.filter)
	case recWorker:
		var v Worker
		if err = decodeSafely(dec, &v); err == nil {
			v.StartTime, v.StateSince = v.StartTime.UTC(), v.StateSince.UTC()
			s.workers[v.ID] = v
		}
	case recJob:
		v := new(Job)
		if err = decodeSafely(dec, v); err == nil {
			// msgpack decodes times in the local zone; Apply keeps UTC.
			v.SubmitTime, v.StartTime, v.EndTime = v.SubmitTime.UTC(), v.StartTime.UTC(), v.EndTime.UTC()
			s.jobs[v.ID] = v
		}
	case recFileEntry, recFileLimit, recFileNames, recFileBlock:
		err = s.restoreFileRecord(dec, t, fr)
	case recHolding:
		var v HoldingState
		if err = decodeSafely(dec, &v); err == nil {
			s.holdings[v.Worker] = v
		}
	case recRemovedWorker:
		var v RemovedWorker
		if err = decodeSafely(dec, &v); err == nil {
			v.At = v.At.UTC()
			s.removed[v.ID] = v
		}
	default:
		if t&recSkippable == 0 {
			return fmt.Errorf("fsm: unknown snapshot record type %d", t)
		}
		err = skipSafely(dec)
	}
	if err != nil {
		return fmt.Errorf("fsm: snapshot record %d: %w", t, err)
	}
	return nil
}

func skipSafely(dec *msgpack.Decoder) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed msgpack: %v", r)
		}
	}()
	return dec.Skip()
}
