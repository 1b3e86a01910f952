package worker

import (
	"sync"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/cache"
)

// The worker reports every change of what its cache holds whole to the
// coordinators, in order, in its heartbeats, so that the global file index
// never claims a copy that is gone (see fsm/holdings.go). The cache numbers
// the changes; the journal keeps those not yet acknowledged and builds the
// reports. An epoch starts at each start of the worker (the index then
// forgets what the worker held, and the worker announces its whole holding
// again), and whenever the journal and the index lose step: the journal
// overflowed while no coordinator answered, or the index answers an epoch
// or a position that the journal cannot continue from (a removal, a restore
// from an older snapshot).

// Report bounds: a heartbeat carries at most reportEvents changes and about
// reportBytes of paths (the coordinators take bodies up to 1 MiB), and the
// journal keeps at most journalEvents unacknowledged ones before it starts
// a new epoch instead.
const (
	reportEvents  = 4000
	reportBytes   = 640 << 10
	journalEvents = 200_000
)

// journal holds the holding changes of the current epoch that the index has
// not acknowledged yet, and the paths still to announce after a reset.
type journal struct {
	mu        sync.Mutex
	epoch     uint64 // 0 until the first reset
	events    []api.HoldingEvent
	announce  []string // held at the reset, not announced yet
	acked     uint64   // the highest number the index acknowledged
	needReset bool
	indexEp   uint64 // the epoch the index last answered
	cut       bool   // the last report left changes behind (a bound)
}

func newJournal() *journal { return &journal{needReset: true} }

// add is the cache's OnHolding hook: it runs under the cache's lock.
func (j *journal) add(ch cache.HoldingChange) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if ch.Epoch != j.epoch || j.needReset {
		return // before this epoch's reset, or the epoch is being abandoned
	}
	if len(j.events) >= journalEvents {
		j.needReset, j.events, j.announce = true, nil, nil
		return
	}
	j.events = append(j.events, api.HoldingEvent{Seq: ch.Seq, Path: ch.Path, Size: ch.Size, Held: ch.Held, Reset: ch.Reset})
}

// startEpoch begins a new epoch if one is needed: a number greater than any
// the index has seen from this worker, then the cache's reset.
func (j *journal) startEpoch(c *cache.Cache) {
	j.mu.Lock()
	if !j.needReset {
		j.mu.Unlock()
		return
	}
	epoch := max(uint64(time.Now().UnixNano()), j.indexEp+1, j.epoch+1)
	j.epoch, j.events, j.announce, j.acked, j.needReset = epoch, nil, nil, 0, false
	j.mu.Unlock()
	paths := c.ResetHoldings(epoch) // its Reset change lands in add
	j.mu.Lock()
	if j.epoch == epoch {
		j.announce = paths
	}
	j.mu.Unlock()
}

// report returns the next report to send (nil when there is nothing to
// report), announcing more of the holding first when there is room.
func (j *journal) report(c *cache.Cache) *api.HoldingReport {
	j.startEpoch(c)
	j.mu.Lock()
	room := reportEvents - len(j.events)
	var next []string
	if room > 0 && len(j.announce) > 0 {
		n := min(room, len(j.announce))
		next, j.announce = j.announce[:n], j.announce[n:]
	}
	j.mu.Unlock()
	if len(next) > 0 {
		c.Announce(next)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.events) == 0 {
		j.cut = false
		return nil
	}
	n, bytes := 0, 0
	for n < len(j.events) && n < reportEvents && (n == 0 || bytes+len(j.events[n].Path)+32 <= reportBytes) {
		bytes += len(j.events[n].Path) + 32
		n++
	}
	j.cut = n < len(j.events)
	return &api.HoldingReport{Epoch: j.epoch, Events: append([]api.HoldingEvent(nil), j.events[:n]...)}
}

// started reports whether the index has acknowledged this epoch's reset:
// until then, what a load task observes cannot reach the index with the
// task's page (fsm/holdings.go), only later with the reports.
func (j *journal) started() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return !j.needReset && j.epoch != 0 && j.indexEp == j.epoch && j.acked > 0
}

// backlog reports whether more is waiting than one report carries: a full
// report's rest, or a holding still being announced. Changes that fit in
// a report wait for the next heartbeat, so that a steady stream of
// evictions costs one commit per worker per heartbeat.
func (j *journal) backlog() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cut || len(j.events) >= reportEvents || len(j.announce) > 0 || j.needReset
}

// restart abandons the epoch: the next report starts a new one.
func (j *journal) restart() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.needReset, j.events, j.announce = true, nil, nil
}

// ack takes the index's answer: what it acknowledged is forgotten; an
// answer the journal cannot continue from starts a new epoch.
func (j *journal) ack(a api.HoldingAck) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.indexEp = max(j.indexEp, a.Epoch)
	switch {
	case j.needReset:
	case a.Epoch != j.epoch || a.Seq < j.acked:
		// The index is on another epoch (this one's reset was refused, the
		// worker was removed, the state was restored) or went back.
		j.needReset = true
	default:
		i := 0
		for i < len(j.events) && j.events[i].Seq <= a.Seq {
			i++
		}
		j.events = j.events[i:]
		j.acked = a.Seq
		if len(j.events) > 0 && j.events[0].Seq > a.Seq+1 {
			j.needReset = true // a gap the index cannot cross
		}
	}
}
