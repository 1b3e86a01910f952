package cache

import (
	"slices"
)

// A cache's holding is the set of files it holds whole (every page, or the
// metadata of an empty file). The cache numbers every change of it, so that
// a worker can report them in order and the coordinators' file index can
// follow exactly (see fsm/holdings.go). Numbers run within an epoch, which
// the owner starts with ResetHoldings and names itself; changes before the
// first epoch carry epoch 0.

// HoldingChange is one change of the holding: Path became held whole
// (Held, with its Size) or stopped being so; or, with Reset, a new epoch
// begins and everything held is announced again (see Announce).
type HoldingChange struct {
	Epoch uint64
	Seq   uint64
	Path  string
	Size  int64
	Held  bool
	Reset bool
}

// Holding is the state of one file in the holding, at a sequence number.
type Holding struct {
	Epoch uint64
	Seq   uint64
	Held  bool
	Size  int64
}

// emit numbers a change and hands it to the OnHolding hook. The caller
// holds mu, so numbers follow the order in which the holding changed.
func (c *Cache) emit(ch HoldingChange) {
	c.holdSeq++
	ch.Epoch, ch.Seq = c.holdEpoch, c.holdSeq
	if c.cfg.OnHolding != nil {
		c.cfg.OnHolding(ch)
	}
}

// markComplete records that f is now held whole. The caller holds mu.
func (c *Cache) markComplete(f *fileEntry) {
	if f.has(flagComplete) || c.files[f.path] != f || f.readyPages() < c.pageCount(f.size) {
		return
	}
	f.flags |= flagComplete
	c.emit(HoldingChange{Path: f.path, Size: f.size, Held: true})
}

// markIncomplete records that f is no longer held whole (a page went, or
// the file). The caller holds mu.
func (c *Cache) markIncomplete(f *fileEntry) {
	if !f.has(flagComplete) {
		return
	}
	f.flags &^= flagComplete
	c.emit(HoldingChange{Path: f.path})
}

// ResetHoldings starts epoch (its number is the caller's, never 0) with a
// Reset change and returns the paths held whole now, sorted. The caller
// then announces them with Announce, at its own pace: a file that changes
// meanwhile reports its own change, so that the changes, applied in order,
// still reproduce the holding.
func (c *Cache) ResetHoldings(epoch uint64) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holdEpoch = epoch
	c.emit(HoldingChange{Reset: true})
	var paths []string
	for p, f := range c.files {
		if f.has(flagComplete) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	return paths
}

// Announce emits a Held change for each of paths that is held whole now
// (those that are not were dropped after ResetHoldings, and said so).
func (c *Cache) Announce(paths []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range paths {
		if f := c.files[p]; f != nil && f.has(flagComplete) {
			c.emit(HoldingChange{Path: p, Size: f.size, Held: true})
		}
	}
}

// HoldingOf returns whether path is held whole, with the epoch and number
// of the last change: the answer is true at that number, and a change of
// the file after it has a greater one.
func (c *Cache) HoldingOf(path string) Holding {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := Holding{Epoch: c.holdEpoch, Seq: c.holdSeq}
	if f := c.files[path]; f != nil && f.has(flagComplete) {
		h.Held, h.Size = true, f.size
	}
	return h
}
