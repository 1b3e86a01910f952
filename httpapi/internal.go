package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alluvium/alluvium/api"
)

// WorkerRegistry is the part of a Backend that keeps workers: heartbeats
// (on the leader) and policy pulls (on any coordinator).
type WorkerRegistry interface {
	Heartbeat(ctx context.Context, hb api.Heartbeat) (api.HeartbeatAnswer, error)
	WorkerPolicies(ctx context.Context, worker string, since uint64, wait time.Duration) (api.WorkerPolicies, error)
}

// MaxPolicyWait bounds a policy long poll.
const MaxPolicyWait = 60 * time.Second

func (s *server) internalRoutes() []route {
	return []route{
		{http.MethodPost, api.PathWorkerRegister, write, s.registerWorker},
		{http.MethodPost, api.PathWorkerHeartbeat, write, s.heartbeat},
		{http.MethodGet, api.PathWorkerPolicies, local, s.workerPolicies},
	}
}

func checkWorkerID(id string) error {
	if err := required("id", id); err != nil {
		return err
	}
	if !strings.HasPrefix(id, "worker-") || len(id) > 128 {
		return errorf(http.StatusBadRequest, "worker id %q must look like worker-<uuid>", id)
	}
	return nil
}

func (s *server) registerWorker(r *http.Request) (any, error) {
	var req api.WorkerRegistration
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := checkWorkerID(req.ID); err != nil {
		return nil, err
	}
	if err := required("address", req.Address); err != nil {
		return nil, err
	}
	if req.CapacityBytes < 0 {
		return nil, errorf(http.StatusBadRequest, "capacityBytes must not be negative")
	}
	if !(req.RingWeight >= 0 && req.RingWeight <= api.MaxRingWeight) {
		return nil, errorf(http.StatusBadRequest, "ringWeight must be from 0 (unset) to %g", float64(api.MaxRingWeight))
	}
	var start time.Time
	if req.StartTime != "" {
		var err error
		if start, err = time.Parse(time.RFC3339Nano, req.StartTime); err != nil {
			return nil, errorf(http.StatusBadRequest, "startTime %q is not RFC 3339", req.StartTime)
		}
	}
	return s.b.RegisterWorker(r.Context(), req, start)
}

func (s *server) heartbeat(r *http.Request) (any, error) {
	var hb api.Heartbeat
	if err := decodeBody(r, &hb); err != nil {
		return nil, err
	}
	if err := checkWorkerID(hb.ID); err != nil {
		return nil, err
	}
	return s.b.Heartbeat(r.Context(), hb)
}

func (s *server) workerPolicies(r *http.Request) (any, error) {
	q, err := query(r, "since", "worker", "wait")
	if err != nil {
		return nil, err
	}
	var since uint64
	if v, ok := q["since"]; ok {
		if since, err = strconv.ParseUint(v, 10, 64); err != nil {
			return nil, errorf(http.StatusBadRequest, "since must be a policy version, not %q", v)
		}
	}
	var wait time.Duration
	if v, ok := q["wait"]; ok {
		d, err := api.ParseDuration(v)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "wait: %v", err)
		}
		wait = min(time.Duration(d), MaxPolicyWait)
	}
	// The long poll may outlast the request timeout: give it its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), wait+s.opts.RequestTimeout)
	defer cancel()
	go func() {
		select {
		case <-r.Context().Done():
			if r.Context().Err() == context.Canceled {
				cancel()
			}
		case <-ctx.Done():
		}
	}()
	return s.b.WorkerPolicies(ctx, q["worker"], since, wait)
}
