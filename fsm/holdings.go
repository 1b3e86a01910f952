package fsm

import (
	"slices"

	"github.com/alluvium/alluvium/apath"
)

// The file index must never claim a copy that is gone. Two sources change
// which workers hold a file:
//
//   - every worker numbers the changes of its holding (a file became wholly
//     cached, or stopped being so, for any reason: a load, a read, an
//     eviction, a free, a TTL, a corrupt page) and reports them in order, in
//     its heartbeats (FileIndexReport). A run of reports is an epoch: it
//     starts with a reset (the worker's whole holding is then announced
//     again) whenever the worker starts, or has lost track of what it
//     reported. The state machine applies a worker's events in sequence
//     order and records, per worker, the epoch and the last sequence
//     number applied (HoldingState);
//   - a job's page records what its tasks saw (UpdateJob.Observed), so that
//     the index follows a job without waiting for the next heartbeats.
//     Every observation carries the sequence number at which it was true
//     on its worker, and is applied only when it is newer than what that
//     worker's reports applied so far: a later change of the same file is
//     then still to come from the reports, and an older one was reported
//     already. An observation from another epoch is ignored.
//
// Applying a worker's events in order reproduces its holding exactly; an
// observation never undoes a later event. So the index converges to the truth
// as soon as the reports are applied, whatever the order in which reports,
// pages and leader changes interleave.

// HoldingState is how far the file index has applied a worker's reports.
type HoldingState struct {
	Worker string `msgpack:"w"`
	Epoch  uint64 `msgpack:"e"`
	Seq    uint64 `msgpack:"q"`
}

// HoldingEvent is one change of a worker's holding. Reset (only the first
// event of an epoch) forgets everything the worker held; the others say
// whether the worker now holds all of Path (Held, with its Size) or not.
type HoldingEvent struct {
	Seq   uint64 `msgpack:"q"`
	Path  string `msgpack:"p,omitempty"`
	Size  int64  `msgpack:"s,omitempty"`
	Held  bool   `msgpack:"h,omitempty"`
	Reset bool   `msgpack:"r,omitempty"`
}

// FileIndexReport applies a worker's holding events. Events must follow the
// worker's last applied one without a gap: events already applied are
// skipped, and the report stops at a gap. An event whose path or size is
// unusable is counted but changes nothing. A report of a new epoch (greater
// than the worker's current one) must start with a reset. Apply answers the
// resulting HoldingState, from which the worker learns what it can forget.
type FileIndexReport struct {
	Worker string         `msgpack:"w"`
	Epoch  uint64         `msgpack:"e"`
	Events []HoldingEvent `msgpack:"v"`
}

func (*FileIndexReport) Type() CommandType { return CmdFileIndexReport }

// WorkerObservation is what a job's tasks saw one worker hold, or no longer
// hold, at sequence numbers of that worker's epoch.
type WorkerObservation struct {
	Worker string         `msgpack:"w"`
	Epoch  uint64         `msgpack:"e"`
	Files  []ObservedFile `msgpack:"f"`
}

// ObservedFile is one file of a WorkerObservation. Replicas, for a held
// file, is the number of copies the job asked for (0: unchanged).
type ObservedFile struct {
	Path     string `msgpack:"p"`
	Size     int64  `msgpack:"s,omitempty"`
	Seq      uint64 `msgpack:"q"`
	Held     bool   `msgpack:"h,omitempty"`
	Replicas int    `msgpack:"r,omitempty"`
}

func checkHoldingEvents(c *FileIndexReport) error {
	if c.Worker == "" {
		return invalidf("file index report: no worker")
	}
	for i, ev := range c.Events {
		if ev.Seq == 0 {
			return invalidf("file index report: sequence numbers start at 1")
		}
		if i > 0 && ev.Seq != c.Events[i-1].Seq+1 {
			return invalidf("file index report: event %d does not follow %d", ev.Seq, c.Events[i-1].Seq)
		}
		if ev.Reset {
			if i != 0 {
				return invalidf("file index report: a reset must come first")
			}
			continue
		}
	}
	return nil
}

// usable reports whether a change can enter the index. One that cannot (a
// path that is not a clean Alluxio path, a negative size) is skipped but
// still counted, so that one bad change never stalls a worker's reports.
func (ev HoldingEvent) usable() bool {
	return ev.Reset || (apath.Validate(ev.Path) == nil && ev.Size >= 0)
}

func (f *FSM) applyFileIndexReport(_ uint64, c *FileIndexReport) any {
	if err := checkHoldingEvents(c); err != nil {
		return err
	}
	if _, member := f.s.workers[c.Worker]; !member {
		if _, removed := f.s.removed[c.Worker]; removed {
			return gonef("worker %s was removed from the cluster; restart it to register anew", c.Worker)
		}
		return notFoundf("worker %s is not a member", c.Worker)
	}
	st := f.s.holdings[c.Worker]
	st.Worker = c.Worker
	events := c.Events
	if c.Epoch != st.Epoch {
		if c.Epoch < st.Epoch || len(events) == 0 || !events[0].Reset {
			return st // the worker learns the epoch in force and starts anew
		}
		st.Epoch, st.Seq = c.Epoch, events[0].Seq-1
	}
	for _, ev := range events {
		if ev.Seq <= st.Seq {
			continue
		}
		if ev.Seq != st.Seq+1 {
			break
		}
		switch {
		case !ev.usable():
		case ev.Reset:
			f.s.dropHoldings(c.Worker)
		case ev.Held:
			f.s.addHolder(ev.Path, ev.Size, 0, c.Worker)
		default:
			f.s.removeHolder(ev.Path, c.Worker)
		}
		st.Seq = ev.Seq
	}
	f.s.holdings[c.Worker] = st
	return st
}

// applyObserved applies a job page's observations (see the comment at the
// top of this file). Observations are not validated into errors: they come
// with the page's progress, which must not fail for them; a malformed one
// is skipped.
func (s *state) applyObserved(obs []WorkerObservation) {
	for _, o := range obs {
		st, ok := s.holdings[o.Worker]
		if !ok || o.Epoch == 0 || o.Epoch != st.Epoch {
			continue
		}
		for _, of := range o.Files {
			if apath.Validate(of.Path) != nil || of.Size < 0 || of.Replicas < 0 {
				continue
			}
			if of.Held && of.Replicas > 0 {
				if e, known := s.files.get(of.Path); known && e.replicas != of.Replicas {
					e.replicas = of.Replicas
					s.files.put(e)
				}
			}
			if of.Seq <= st.Seq {
				continue // the worker's reports told this, or something newer
			}
			if of.Held {
				s.addHolder(of.Path, of.Size, of.Replicas, o.Worker)
			} else {
				s.removeHolder(of.Path, o.Worker)
			}
		}
	}
}

// addHolder records that w holds path (creating the entry) and reports
// whether the entry is in the index. A size of zero leaves a known entry's
// size as it is; replicas 0 leaves the recorded degree. A new path past the
// ceiling (SetFileIndexLimit) is refused: w is recorded as refused and the
// index is partial.
func (s *state) addHolder(path string, size int64, replicas int, w string) bool {
	x := s.files
	x.load(path)
	i, known := x.work.find(path)
	e := ientry{path: path}
	if known {
		e = x.work.es[i]
	} else if s.fileLimit > 0 && x.count >= s.fileLimit {
		if w != "" {
			s.refuse(w)
		}
		return false
	}
	if size > 0 || !known {
		e.size = size
	}
	if replicas > 0 {
		e.replicas = replicas
	}
	if w != "" {
		id := x.holderID(w)
		if j, has := slices.BinarySearch(e.holders, id); !has {
			e.holders = slices.Insert(slices.Clone(e.holders), j, id)
		}
	}
	x.put(e)
	return true
}

// removeHolder records that w no longer holds path. An entry left with no
// holder is deleted: the index lists what is cached, and nothing is.
func (s *state) removeHolder(path, w string) bool {
	x := s.files
	id, ok := x.ids[w]
	if !ok {
		return false
	}
	x.load(path)
	i, found := x.work.find(path)
	if !found {
		return false
	}
	e := x.work.es[i]
	j, has := slices.BinarySearch(e.holders, id)
	if !has {
		return false
	}
	if len(e.holders) == 1 {
		return x.remove(path)
	}
	e.holders = slices.Delete(slices.Clone(e.holders), j, j+1)
	x.work.es[i] = e
	return true
}

// deleteEntry removes an entry with all its holders.
func (s *state) deleteEntry(path string) bool {
	return s.files.remove(path)
}

// dropHoldings removes worker w from every entry it holds (a reset of its
// reports, or its removal), and forgets that it had files refused: what it
// announces next decides that anew. It rewrites only the blocks whose
// summary names w, as bytes.
func (s *state) dropHoldings(w string) {
	delete(s.refused, w)
	x := s.files
	id, ok := x.ids[w]
	if !ok {
		return
	}
	x.flush()
	// Blocks are found anew after each one: a flush may merge and re-cut
	// the next ones. Entries up to cursor are done.
	cursor, started := "", false
	for {
		var next *block
		if start := locate(x.tree, cursor); start != nil {
			x.tree.AscendGreaterOrEqual(start, func(b *block) bool {
				_, has := slices.BinarySearch(b.holders, id)
				if has {
					next = b
				}
				return !has
			})
		}
		if next == nil {
			break
		}
		last, done := x.dropFromBlock(next, id)
		if started && last <= cursor {
			break // cannot happen: a block naming the holder has an entry past cursor
		}
		cursor, started = last, true
		if !done { // a small block left: through the working set, which merges it
			x.load(next.first)
			x.work.es = dropHolder(x.work.es, id, &x.count)
			x.flush()
		}
	}
}

// dropHolder removes holder id from entries, and the entries it was the
// only holder of (counting them off count).
func dropHolder(es []ientry, id uint32, count *int) []ientry {
	kept := es[:0]
	for _, e := range es {
		if j, has := slices.BinarySearch(e.holders, id); has {
			if len(e.holders) == 1 {
				*count--
				continue
			}
			e.holders = slices.Delete(slices.Clone(e.holders), j, j+1)
		}
		kept = append(kept, e)
	}
	return kept
}

// Holding returns how far the file index has applied a worker's reports.
func (f *FSM) Holding(worker string) HoldingState {
	f.mu.RLock()
	defer f.mu.RUnlock()
	st := f.s.holdings[worker]
	st.Worker = worker
	return st
}

// HeldBy returns up to count paths (all when count <= 0) that the index says
// worker holds, after lastKey, in path order.
func (f *FSM) HeldBy(worker, lastKey string, count int) []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	x := f.s.files
	id, ok := x.ids[worker]
	start := locate(x.tree, lastKey)
	if !ok || start == nil {
		return nil
	}
	var out []string
	var it blockIter
	x.tree.AscendGreaterOrEqual(start, func(b *block) bool {
		if _, has := slices.BinarySearch(b.holders, id); !has {
			return true
		}
		for it.reset(b); it.next(); {
			if count > 0 && len(out) == count {
				return false
			}
			if _, has := slices.BinarySearch(it.hs(), id); has && string(it.key()) > lastKey {
				out = append(out, string(it.key()))
			}
		}
		return true
	})
	return out
}
