package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alluvium/alluvium/api"
)

// errUnknownWorker is a coordinator's 404 to a heartbeat or a policy pull:
// the cluster lost (or never had) this worker's registration.
var errUnknownWorker = errors.New("worker: the coordinators do not know this worker")

// errRemoved is a coordinator's 410 to a heartbeat: the worker was removed
// from the membership, and must not register again by itself.
var errRemoved = errors.New("worker: removed from the cluster")

// statusError is a coordinator's answer other than 2xx.
type statusError struct {
	code   int
	reason string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("coordinator answered %d: %s", e.code, e.reason)
}

// coordinators rotates over the coordinator URLs: a call goes to the last
// one that answered, and to the next after a failure.
type coordinators struct {
	urls []string
	next atomic.Uint32
}

func (c *coordinators) pick() string { return c.urls[int(c.next.Load())%len(c.urls)] }
func (c *coordinators) fail()        { c.next.Add(1) }

// run is the life of a started worker: register, then heartbeat and pull
// policies until ctx ends. A heartbeat that finds the worker unknown
// registers again.
func (w *Worker) run(ctx context.Context) {
	co := &coordinators{urls: w.cfg.Coordinators}
	if !w.register(ctx, co) {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	poke := make(chan struct{}, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.policyLoop(ctx, &coordinators{urls: w.cfg.Coordinators}, poke)
	}()
	w.heartbeatLoop(ctx, co, poke) // returns early once the worker is removed
	cancel()
	wg.Wait()
}

// register retries with backoff until a coordinator accepts the
// registration or ctx ends.
func (w *Worker) register(ctx context.Context, co *coordinators) bool {
	reg := api.WorkerRegistration{
		ID:            w.id,
		Address:       w.cfg.HTTPAddress,
		CapacityBytes: w.cfg.CapacityBytes,
		StartTime:     w.startTime.UTC().Format(time.RFC3339),
		Version:       w.cfg.Version,
	}
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := w.call(ctx, co, http.MethodPost, api.PathWorkerRegister, nil, reg, nil, 10*time.Second)
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
func (w *Worker) heartbeatLoop(ctx context.Context, co *coordinators, poke chan<- struct{}) {
	t := time.NewTimer(0) // the first at once: it starts the holding's epoch
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var ans api.HeartbeatAnswer
		hb := w.heartbeat()
		err := w.call(ctx, co, http.MethodPost, api.PathWorkerHeartbeat, nil, hb, &ans, max(w.cfg.HeartbeatInterval*3, 3*time.Second))
		next := w.cfg.HeartbeatInterval
		if err == nil {
			w.journal.ack(ans.Holdings)
			if w.journal.backlog() {
				next = min(next, 20*time.Millisecond) // the rest of a backlog, soon
			}
		}
		t.Reset(next)
		var se *statusError
		if errors.As(err, &se) && se.code == http.StatusBadRequest && hb.Holdings != nil {
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
			if !w.register(ctx, co) {
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

// heartbeat builds the report: cache usage, usage under each quota
// directory with a budget here, the policy version and clear-stale status.
func (w *Worker) heartbeat() api.Heartbeat {
	st := w.state.Load()
	s := w.cache.Stats()
	hb := api.Heartbeat{ID: w.id, UsedBytes: s.UsedBytes, Pages: s.Pages, PolicyVersion: st.version}
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
func (w *Worker) policyLoop(ctx context.Context, co *coordinators, poke <-chan struct{}) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		q := url.Values{}
		q.Set("since", strconv.FormatUint(w.PolicyVersion(), 10))
		q.Set("worker", w.id)
		q.Set("wait", w.cfg.PolicyWait.String())
		var p api.WorkerPolicies
		err := w.call(ctx, co, http.MethodGet, api.PathWorkerPolicies, q, nil, &p, w.cfg.PolicyWait+10*time.Second)
		if err == nil {
			backoff = 100 * time.Millisecond
			if p.Version > w.PolicyVersion() { // 204, 304 or an equal version: nothing new
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

// call sends one request to a coordinator, JSON both ways. A transport
// error or a 5xx moves on to the next coordinator for the following call.
// 404 is errUnknownWorker (the routes exist on every coordinator), 204 and
// 304 leave out unchanged.
func (w *Worker) call(ctx context.Context, co *coordinators, method, path string, q url.Values, in, out any, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := co.pick() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if w.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.cfg.Token)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		co.fail()
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified:
		return nil
	case resp.StatusCode/100 == 2:
		if out == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			return nil
		}
		return json.NewDecoder(resp.Body).Decode(out)
	}
	var e struct {
		Status string `json:"status"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e)
	if resp.StatusCode == http.StatusNotFound && path != api.PathWorkerRegister {
		return fmt.Errorf("%w: %s", errUnknownWorker, e.Status)
	}
	if resp.StatusCode == http.StatusGone && path == api.PathWorkerHeartbeat {
		return fmt.Errorf("%w: %s", errRemoved, e.Status)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTemporaryRedirect {
		co.fail()
	}
	return &statusError{code: resp.StatusCode, reason: e.Status}
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
