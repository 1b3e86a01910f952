package coordinator

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
)

// Ring modes: which members place keys.
const (
	// RingDynamic places keys on LIVE workers only: a lost worker's keys
	// move to the next owner at once.
	RingDynamic = "dynamic"
	// RingStatic keeps every worker but decommissioned ones on the ring: a
	// lost worker's keys wait for it.
	RingStatic = "static"
)

// liveness is the leader's memory of workers' heartbeats. Only transitions
// (LIVE -> LOST -> LIVE) are committed; the heartbeats themselves are not.
type liveness struct {
	mu        sync.Mutex
	seen      map[string]workerSeen
	termStart time.Time
}

type workerSeen struct {
	at        time.Time
	heartbeat api.Heartbeat
}

func newLiveness() *liveness { return &liveness{seen: map[string]workerSeen{}} }

// forgetNonMembers drops what removed workers last reported, so that their
// usage no longer counts.
func (l *liveness) forgetNonMembers(f *fsm.FSM) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range l.seen {
		if _, ok := f.Worker(id); !ok {
			delete(l.seen, id)
		}
	}
}

// Heartbeat records a worker's heartbeat on the leader, commits the
// holding changes it reports (one command) and answers the worker's
// committed state and how far the file index has applied its reports. A
// LOST worker that beats again is made LIVE. An unknown worker gets
// fsm.ErrNotFound, so that it registers again; a removed one fsm.ErrGone,
// so that it stops.
func (c *Coordinator) Heartbeat(ctx context.Context, hb api.Heartbeat) (api.HeartbeatAnswer, error) {
	if !c.leadership.ready() {
		return api.HeartbeatAnswer{}, c.notLeader()
	}
	w, ok := c.fsm.Worker(hb.ID)
	if !ok {
		if r, removed := c.fsm.Removed(hb.ID); removed {
			return api.HeartbeatAnswer{}, fmt.Errorf("%w: worker %s was removed from the cluster at %s; restart it to register anew",
				fsm.ErrGone, hb.ID, r.At.Format(time.RFC3339))
		}
		return api.HeartbeatAnswer{}, fmt.Errorf("%w: worker %s is not registered", fsm.ErrNotFound, hb.ID)
	}
	rep := hb.Holdings
	hb.Holdings = nil // the leader's memory keeps the usage, not the changes
	c.live.mu.Lock()
	c.live.seen[hb.ID] = workerSeen{at: time.Now(), heartbeat: hb}
	c.live.mu.Unlock()
	if w.State == fsm.WorkerLost {
		if _, err := c.Apply(ctx, &fsm.SetWorkerState{ID: hb.ID, State: fsm.WorkerLive}); err != nil {
			return api.HeartbeatAnswer{}, err
		}
		c.log.Info("worker is back", "worker", hb.ID)
		w.State = fsm.WorkerLive
	}
	if capacity, ok := capacityToCommit(w.CapacityBytes, hb.CapacityBytes); ok && w.State == fsm.WorkerLive {
		c.log.Info("worker capacity changed", "worker", hb.ID, "from", w.CapacityBytes, "to", capacity)
		w.CapacityBytes = capacity
		if _, err := c.Apply(ctx, &fsm.RegisterWorker{Worker: w}); err != nil {
			return api.HeartbeatAnswer{}, err
		}
	}
	held := c.fsm.Holding(hb.ID)
	if rep != nil && len(rep.Events) > 0 {
		cmd := &fsm.FileIndexReport{Worker: hb.ID, Epoch: rep.Epoch, Events: make([]fsm.HoldingEvent, len(rep.Events))}
		for i, e := range rep.Events {
			cmd.Events[i] = fsm.HoldingEvent{Seq: e.Seq, Path: e.Path, Size: e.Size, Held: e.Held, Reset: e.Reset}
		}
		res, err := c.Apply(ctx, cmd)
		if err != nil {
			return api.HeartbeatAnswer{}, err
		}
		held = res.(fsm.HoldingState)
	}
	version, _ := c.fsm.PolicyWatch()
	return api.HeartbeatAnswer{State: string(w.State), PolicyVersion: version,
		Holdings: api.HoldingAck{Epoch: held.Epoch, Seq: held.Seq}}, nil
}

// livenessLoop runs on the leader: a LIVE worker silent for WorkerTimeout
// is committed LOST. A new leader counts every worker as seen at the start
// of its term, so that a failover does not lose the whole fleet. The loop
// sleeps until the earliest deadline (at most WorkerTimeout, so that a
// worker made LIVE meanwhile is looked at before its own), rather than
// ticking: with no workers it wakes once per WorkerTimeout.
func (c *Coordinator) livenessLoop(ctx context.Context) {
	c.live.mu.Lock()
	c.live.termStart = time.Now()
	c.live.mu.Unlock()
	t := time.NewTimer(c.cfg.WorkerTimeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.live.forgetNonMembers(c.fsm)
		now := time.Now()
		lost, next := c.live.check(now, c.fsm.Workers(), c.cfg.WorkerTimeout)
		for _, w := range lost {
			if _, err := c.Apply(ctx, &fsm.SetWorkerState{ID: w.id, State: fsm.WorkerLost}); err != nil {
				c.log.Warn("could not mark a worker lost", "worker", w.id, "err", err)
				next = earliest(next, now.Add(c.cfg.WorkerTimeout/4)) // try again soon
				continue
			}
			c.log.Warn("worker lost", "worker", w.id, "silent_for", w.silent.Round(time.Millisecond))
		}
		t.Reset(time.Until(next))
	}
}

// silentWorker is a LIVE worker past its deadline.
type silentWorker struct {
	id     string
	silent time.Duration
}

// check decides, at now, which LIVE workers have been silent longer than
// timeout, and when the next of the others will be: the earliest deadline,
// now+timeout at the latest.
func (l *liveness) check(now time.Time, workers []fsm.Worker, timeout time.Duration) (lost []silentWorker, next time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next = now.Add(timeout)
	for _, w := range workers {
		if w.State != fsm.WorkerLive {
			continue
		}
		last := l.seen[w.ID].at
		if last.Before(l.termStart) {
			last = l.termStart
		}
		if now.Sub(last) > timeout {
			lost = append(lost, silentWorker{w.ID, now.Sub(last)})
			continue
		}
		next = earliest(next, last.Add(timeout+time.Millisecond))
	}
	return lost, next
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// NodeStats returns what the leader last heard from a worker.
func (c *Coordinator) NodeStats(id string) (used, pages int64, lastHeartbeat time.Time, ok bool) {
	c.live.mu.Lock()
	defer c.live.mu.Unlock()
	s, ok := c.live.seen[id]
	return s.heartbeat.UsedBytes, s.heartbeat.Pages, s.at, ok
}

// UsedBytesUnder sums the usage workers report under a quota directory.
func (c *Coordinator) UsedBytesUnder(path string) int64 {
	c.live.mu.Lock()
	defer c.live.mu.Unlock()
	var sum int64
	for _, s := range c.live.seen {
		sum += s.heartbeat.QuotaUsage[path]
	}
	return sum
}

// ClearStaleStatus reports each worker's last clear-stale progress.
func (c *Coordinator) ClearStaleStatus(context.Context) ([]api.ClearStaleStatus, error) {
	c.live.mu.Lock()
	defer c.live.mu.Unlock()
	var out []api.ClearStaleStatus
	for _, id := range slices.Sorted(maps.Keys(c.live.seen)) {
		if st := c.live.seen[id].heartbeat.ClearStale; st != nil {
			s := *st
			s.Worker = id
			out = append(out, s)
		}
	}
	return out, nil
}

// ringMembers are the workers that place keys in the configured ring mode.
func (c *Coordinator) ringMembers() []fsm.Worker {
	var out []fsm.Worker
	for _, w := range c.fsm.Workers() {
		switch {
		case w.State == fsm.WorkerLive,
			w.State == fsm.WorkerLost && c.cfg.RingMode == RingStatic:
			out = append(out, w)
		}
	}
	return out
}

// ReplicaCapacity is how many distinct workers can hold a file now.
func (c *Coordinator) ReplicaCapacity() int { return len(c.ringMembers()) }

// budgetLoop runs on the leader: each quota is split evenly among the ring
// members, so that the sum of the workers' hard budgets never exceeds it.
func (c *Coordinator) budgetLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.WorkerTimeout / 2)
	defer t.Stop()
	for {
		members := c.ringMembers()
		for _, q := range c.fsm.Quotas() {
			want := splitBudget(q.QuotaBytes, members)
			if maps.Equal(q.Budgets, want) {
				continue
			}
			if _, err := c.Apply(ctx, &fsm.SetQuotaBudgets{Path: q.Path, Budgets: want}); err != nil && ctx.Err() == nil {
				c.log.Warn("could not set quota budgets", "path", q.Path, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func splitBudget(total int64, members []fsm.Worker) fsm.Budgets {
	if len(members) == 0 {
		return nil
	}
	out := make(fsm.Budgets, len(members))
	share, rest := total/int64(len(members)), total%int64(len(members))
	for i, w := range members {
		out[w.ID] = share
		if int64(i) < rest {
			out[w.ID]++
		}
	}
	return out
}

// WorkerPolicies answers a worker's policy pull: it waits (up to wait) for
// a version newer than since, then returns everything the worker enforces.
func (c *Coordinator) WorkerPolicies(ctx context.Context, worker string, since uint64, wait time.Duration) (api.WorkerPolicies, error) {
	// Wait for a version newer than since: a follower still catching up may
	// pass through older versions first.
	version, changed := c.fsm.PolicyWatch()
	if version <= since && wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
	wait:
		for version <= since {
			select {
			case <-changed:
				version, changed = c.fsm.PolicyWatch()
			case <-t.C:
				break wait
			case <-ctx.Done():
				break wait
			case <-c.stop:
				return api.WorkerPolicies{}, ErrShutdown
			}
		}
	}
	version, _ = c.fsm.PolicyWatch()
	f := c.fsm
	p := api.WorkerPolicies{Version: version, RingMode: c.cfg.RingMode, Mounts: []api.Mount{}, Workers: []api.Node{}}
	for _, m := range f.Mounts() {
		p.Mounts = append(p.Mounts, api.Mount{Path: m.Path, UFS: m.UFS, Options: m.Options})
	}
	for _, w := range f.Workers() {
		p.Workers = append(p.Workers, api.Node{ID: w.ID, Address: w.Address, State: string(w.State), CapacityBytes: w.CapacityBytes,
			Version: w.Version, RingWeight: w.RingWeight})
	}
	for _, q := range f.Quotas() {
		if b, ok := q.Budgets[worker]; ok {
			if p.Budgets == nil {
				p.Budgets = map[string]int64{}
			}
			p.Budgets[q.Path] = b
		}
	}
	for _, t := range f.TTLs() {
		d := api.Duration(t.TTL)
		p.TTLs = append(p.TTLs, api.TTL{Path: t.Path, TTL: &d})
	}
	for _, pr := range f.Priorities() {
		p.Priorities = append(p.Priorities, api.Priority{Path: pr.Path, Priority: pr.Priority.String()})
	}
	fp := f.Filter()
	p.Filter = api.CacheFilter{Rules: []api.FilterRule{}, DefaultRule: string(fp.Default.Rule), DefaultTime: durationPtr(fp.Default.Time)}
	for _, r := range fp.Rules {
		p.Filter.Rules = append(p.Filter.Rules, api.FilterRule{Rule: string(r.Rule), Pattern: r.Pattern, Time: durationPtr(r.Time)})
	}
	return p, nil
}

func durationPtr(d time.Duration) *api.Duration {
	if d == 0 {
		return nil
	}
	v := api.Duration(d)
	return &v
}

// ClearStale asks every member worker to start (or stop) dropping the
// cached data it no longer owns, and returns, by worker id, every member
// that did not accept: a LIVE worker that could not be reached or refused
// (its error), and every LOST worker, which is not asked ("worker is LOST").
// A decommissioned worker is no member of the ring and holds nothing to
// clear, so it is neither asked nor listed.
func (c *Coordinator) ClearStale(ctx context.Context, start bool) (map[string]string, error) {
	errs := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, w := range c.fsm.Workers() {
		if reason, ask := clearStaleTarget(w); !ask {
			if reason != "" {
				errs[w.ID] = reason
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.http.tasks.ClearStale(ctx, w.Address, start); err != nil {
				mu.Lock()
				errs[w.ID] = err.Error()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs, nil
}

// clearStaleTarget tells whether clear stale asks worker w, and when it
// does not, what to answer for it ("" when w is not a member at all).
func clearStaleTarget(w fsm.Worker) (reason string, ask bool) {
	switch w.State {
	case fsm.WorkerLive:
		return "", true
	case fsm.WorkerDecommissioned:
		return "", false
	}
	return "worker is " + string(w.State), false
}
