package coordinator

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/coordinator/jobplan"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/ring"
)

// The scheduler executes the plans of package jobplan: it asks a plan what
// to send where, sends it, and hands the answers back to the plan, whose
// Outcome the page commits. It reads the state the plans need from the FSM.
var _ jobplan.State = (*fsm.FSM)(nil)

// dispatch sends a page of files to the workers and returns what they did.
func (s *scheduler) dispatch(ctx context.Context, j fsm.Job, files []jobplan.File, verify bool) jobplan.Outcome {
	rg, addr, err := s.liveRing()
	if err != nil {
		return jobplan.FailPage(jobplan.Paths(files), err.Error(), verify)
	}
	if j.Type == fsm.JobFree {
		plan := jobplan.PlanFree(s.c.fsm, rg, files, j.Options.Force)
		if len(plan.Paths) == 0 {
			return plan.Outcome
		}
		results := s.sendAll(ctx, plan.Send, addr, func(ctx context.Context, addr string, paths []string) (api.TaskResult, error) {
			return s.c.http.tasks.Free(ctx, addr, api.FreeTask{JobID: j.ID, Paths: paths})
		})
		return jobplan.TallyFree(plan, results)
	}
	replicas := jobplan.Replicas(j)
	task := jobplan.LoadTask(j, verify)
	results := s.loadOnOwners(ctx, jobplan.PlaceLoad(rg, files, replicas), addr, replicas, func(ctx context.Context, addr string, paths []string) (api.TaskResult, error) {
		t := task
		t.Paths = paths
		return s.c.http.tasks.Load(ctx, addr, t)
	})
	return jobplan.TallyLoad(s.c.fsm, files, results, replicas, verify)
}

// loadOnOwners sends load tasks and returns every worker's results. The
// files of a worker that cannot be reached are not failed at once: a worker
// that died is LOST once its heartbeats stop, and its files then go to
// their new owners on the ring (or to the worker itself, back). Only files
// still unplaced after three worker timeouts fail.
func (s *scheduler) loadOnOwners(ctx context.Context, byWorker map[string][]string, addr map[string]string,
	replicas int, task taskFunc) map[string][]api.FileResult {
	results, unreachable := s.send(ctx, byWorker, addr, task)
	deadline := time.Now().Add(3 * s.c.cfg.WorkerTimeout)
	for len(unreachable) > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return results
		case <-time.After(min(s.c.cfg.WorkerTimeout/4, time.Second)):
		}
		rg, addrNow, err := s.liveRing()
		if err != nil {
			continue
		}
		retry := jobplan.Replace(rg, unreachable, results, replicas)
		results2, again := s.send(ctx, retry, addrNow, task)
		for w, rs := range results2 {
			results[w] = append(results[w], rs...)
		}
		unreachable = again
	}
	for w, rs := range unreachable {
		results[w] = append(results[w], rs...)
	}
	return results
}

// taskAttempts is how often a file is tried before it counts as failed.
const taskAttempts = 3

// ringNow is the ring of the current members.
func (s *scheduler) ringNow() (*ring.Ring, map[string]string, error) {
	addr := map[string]string{}
	members := map[string]ring.Capacity{}
	for _, w := range s.c.ringMembers() {
		members[w.ID] = ring.Capacity{Bytes: w.CapacityBytes, Scale: w.RingWeight}
		addr[w.ID] = w.Address
	}
	r, err := s.rings.FromMembers(members)
	return r, addr, err
}

// liveRing is ringNow, failing when no worker can take work.
func (s *scheduler) liveRing() (*ring.Ring, map[string]string, error) {
	rg, addr, err := s.ringNow()
	if err == nil && rg.Len() == 0 {
		err = errors.New("no live worker")
	}
	return rg, addr, err
}

// taskFunc sends one task, over paths, to the worker at addr (through the
// typed client of the task API, package workerclient).
type taskFunc func(ctx context.Context, addr string, paths []string) (api.TaskResult, error)

// sendAll sends each worker its task (retrying the files that failed, with
// backoff) and returns the last result of every file per worker. A worker
// that cannot be reached fails its files with the reason.
func (s *scheduler) sendAll(ctx context.Context, byWorker map[string][]string, addr map[string]string,
	task taskFunc) map[string][]api.FileResult {
	out, unreachable := s.send(ctx, byWorker, addr, task)
	for w, rs := range unreachable {
		out[w] = append(out[w], rs...)
	}
	return out
}

// send is sendAll that returns apart the results of the workers it could
// not reach (or that refused the task) on the last attempt, so that a load
// can send those files to their owners once the ring has changed.
func (s *scheduler) send(ctx context.Context, byWorker map[string][]string, addr map[string]string,
	task taskFunc) (out, unreachable map[string][]api.FileResult) {
	out, unreachable = map[string][]api.FileResult{}, map[string][]api.FileResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w, paths := range byWorker {
		wg.Add(1)
		go func() {
			defer wg.Done()
			final := map[string]api.FileResult{}
			todo := paths
			reached := true
			for attempt := 1; attempt <= taskAttempts && len(todo) > 0; attempt++ {
				if attempt > 1 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Duration(attempt*attempt) * 100 * time.Millisecond):
					}
				}
				res, err := task(ctx, addr[w], todo)
				var retry []string
				reached = err == nil
				if err != nil {
					for _, p := range todo {
						final[p] = api.FileResult{Path: p, Error: "worker " + w + ": " + err.Error()}
					}
					retry = todo
				} else {
					for _, r := range res.Results {
						final[r.Path] = r
					}
					retry = jobplan.Retry(res.Results)
				}
				todo = retry
			}
			mu.Lock()
			for _, r := range final {
				if !reached && slices.Contains(todo, r.Path) {
					unreachable[w] = append(unreachable[w], r)
				} else {
					out[w] = append(out[w], r)
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out, unreachable
}
