package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
)

// errUnknownWorker is a coordinator's 404 to a heartbeat:
// the cluster lost (or never had) this worker's registration.
var errUnknownWorker = errors.New("worker: the coordinators do not know this worker")

// errRemoved is a coordinator's 410 to a heartbeat: the worker was removed
// from the membership, and must not register again by itself.
var errRemoved = errors.New("worker: removed from the cluster")

// run is the life of a started worker: register, then heartbeat and pull
// policies until ctx ends. A heartbeat that finds the worker unknown
// registers again.
func (w *Worker) run(ctx context.Context) {
	if !w.register(ctx) {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	poke := make(chan struct{}, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.policyLoop(ctx, poke)
	}()
	w.heartbeatLoop(ctx, poke) // returns early once the worker is removed
	cancel()
	wg.Wait()
}

// register retries with backoff until a coordinator accepts the
// registration or ctx ends.
func (w *Worker) register(ctx context.Context) bool {
	reg := api.WorkerRegistration{
		ID:            w.id,
		Address:       w.cfg.HTTPAddress,
		CapacityBytes: w.cache.Capacity(), // what the disk holds, if less than configured
		StartTime:     w.startTime.UTC().Format(time.RFC3339),
		Version:       w.cfg.Version,
		RingWeight:    w.cfg.RingWeight,
	}
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := w.coord.RegisterWorker(cctx, reg)
		cancel()
		if err == nil {
			w.log.Info("worker: registered", "address", w.cfg.HTTPAddress)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt == 1 || attempt%20 == 0 {
			w.log.Warn("worker: registration failed; retrying", "attempt", attempt, "err", err)
		}
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// heartbeatLoop reports usage and holding changes every
// HeartbeatInterval, and at once again while more changes wait. It ends
// when the coordinators answer that the worker was removed.
func (w *Worker) heartbeatLoop(ctx context.Context, poke chan<- struct{}) {
	t := time.NewTimer(0) // the first at once: it starts the holding's epoch
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hb := w.heartbeat()
		ans, err := w.sendHeartbeat(ctx, hb)
		next := w.cfg.HeartbeatInterval
		if err == nil {
			w.journal.ack(ans.Holdings)
			if w.journal.backlog() {
				next = min(next, 20*time.Millisecond) // the rest of a backlog, soon
			}
		}
		t.Reset(next)
		var ce *client.Error
		if errors.As(err, &ce) && ce.StatusCode == http.StatusBadRequest && hb.Holdings != nil {
			// The index refused the report as malformed: start over.
			w.log.Warn("worker: the coordinators refused the holding report; announcing the holding anew", "err", err)
			w.journal.restart()
		}
		switch {
		case errors.Is(err, errRemoved):
			w.markRemoved(err.Error())
			return
		case errors.Is(err, errUnknownWorker):
			w.log.Warn("worker: the coordinators do not know this worker; registering again")
			if !w.register(ctx) {
				return
			}
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			w.log.Debug("worker: heartbeat failed", "err", err)
		default:
			if ans.State == api.WorkerDecommissioned {
				w.markDecommissioned()
			}
			if ans.PolicyVersion > w.PolicyVersion() {
				select {
				case poke <- struct{}{}:
				default:
				}
			}
		}
	}
}

// heartbeat builds the report: cache usage, the effective capacity, usage
// under each quota directory with a budget here, the policy version and
// clear-stale status.
func (w *Worker) heartbeat() api.Heartbeat {
	st := w.state.Load()
	s := w.cache.Stats()
	hb := api.Heartbeat{ID: w.id, UsedBytes: s.UsedBytes, Pages: s.Pages, CapacityBytes: w.cache.Capacity(), PolicyVersion: st.version}
	if len(st.budgets) > 0 {
		hb.QuotaUsage = make(map[string]int64, len(st.budgets))
		for _, dir := range st.budgets {
			hb.QuotaUsage[dir] = w.cache.UsedBytesUnder(dir)
		}
	}
	if cs, ok := w.clear.report(); ok {
		hb.ClearStale = &cs
	}
	hb.Holdings = w.journal.report(w.cache)
	return hb
}

// policyLoop pulls policies with a long poll. A heartbeat answer with a
// newer version pokes it, which only matters after a failed pull: a
// waiting pull returns by itself when the version moves.
func (w *Worker) policyLoop(ctx context.Context, poke <-chan struct{}) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, w.cfg.PolicyWait+10*time.Second)
		p, err := w.coord.WorkerPolicies(cctx, w.id, w.PolicyVersion(), w.cfg.PolicyWait)
		cancel()
		if err == nil {
			backoff = 100 * time.Millisecond
			if p.Version > w.PolicyVersion() { // an equal version: nothing new
				if err := w.SetPolicies(p); err != nil {
					w.log.Warn("worker: policies", "version", p.Version, "err", err)
				}
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		w.log.Debug("worker: policy pull failed", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-poke:
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// sendHeartbeat sends one heartbeat, bounded by three intervals (at least
// 3 s). A 404 is errUnknownWorker, a 410 errRemoved.
func (w *Worker) sendHeartbeat(ctx context.Context, hb api.Heartbeat) (api.HeartbeatAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, max(w.cfg.HeartbeatInterval*3, 3*time.Second))
	defer cancel()
	ans, err := w.coord.Heartbeat(ctx, hb)
	var ce *client.Error
	if errors.As(err, &ce) {
		switch ce.StatusCode {
		case http.StatusNotFound:
			return ans, fmt.Errorf("%w: %s", errUnknownWorker, ce.Message)
		case http.StatusGone:
			return ans, fmt.Errorf("%w: %s", errRemoved, ce.Message)
		}
	}
	return ans, err
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
