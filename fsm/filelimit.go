package fsm

// The ceiling of the file index. Its entries live in the memory of every
// coordinator, so their number is bounded; the bound must be the same on
// every replica (Apply is deterministic), so it is replicated state, set by
// SetFileIndexLimit, which the leader proposes from its configuration. Past
// it, a new path is refused silently (a load still caches its files; the
// index just does not list them) and the index records which workers had a
// file refused: while one did, the index is partial. A worker's reset (its
// whole holding announced anew) or removal clears its mark, and a refusal
// in the new announcement sets it again, so "partial" stays true exactly
// while some refused copy may still exist.

// SetFileIndexLimit sets the most entries the file index holds (0: no
// ceiling). Lowering it below the current count removes nothing: only new
// paths are refused.
type SetFileIndexLimit struct {
	Limit int `msgpack:"l"`
}

func (*SetFileIndexLimit) Type() CommandType { return CmdSetFileIndexLimit }

// FileIndexStatus is the size of the file index against its ceiling.
type FileIndexStatus struct {
	Entries int
	Limit   int // 0: none
	// Partial: some worker had a file refused by the ceiling (Refused names
	// them; "" stands for entries added without a holder).
	Partial bool
	Refused []string
}

// fileLimitRecord is the snapshot record of the ceiling.
type fileLimitRecord struct {
	Limit   int      `msgpack:"l"`
	Refused []string `msgpack:"r"`
}

func (f *FSM) applySetFileIndexLimit(_ uint64, c *SetFileIndexLimit) any {
	if c.Limit < 0 {
		return invalidf("file index limit: %d is negative", c.Limit)
	}
	f.s.fileLimit = c.Limit
	return nil
}

// refuse records that files of workers ws were refused by the ceiling ("":
// a file without a holder).
func (s *state) refuse(ws ...string) {
	if len(ws) == 0 {
		ws = []string{""}
	}
	for _, w := range ws {
		s.refused[w] = struct{}{}
	}
}

// FileIndexStatus returns the size, ceiling and partiality of the file
// index.
func (f *FSM) FileIndexStatus() FileIndexStatus {
	f.mu.RLock()
	defer f.mu.RUnlock()
	st := FileIndexStatus{Entries: f.s.files.count, Limit: f.s.fileLimit}
	if len(f.s.refused) > 0 {
		st.Partial, st.Refused = true, sortedKeys(f.s.refused)
	}
	return st
}
