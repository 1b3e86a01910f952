package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/alluvium/alluvium/api"
)

// The routes between workers and coordinators (under /api/v1/internal/):
// a worker registers, heartbeats and pulls its policies through them. They
// take the cluster token, like every other route.

// RegisterWorker registers a worker (again, after the coordinators forgot
// it) and returns its node as committed. It is a write: like every write it
// is sent again only when it surely was not applied.
func (c *Client) RegisterWorker(ctx context.Context, reg api.WorkerRegistration) (api.Node, error) {
	var n api.Node
	err := c.send(ctx, http.MethodPost, api.PathWorkerRegister, reg, &n)
	return n, err
}

// Heartbeat reports a worker's usage and holding changes to the leader and
// returns its committed state and how far the file index applied its
// reports. An unknown worker gets a 404 (IsNotFound: register again), a
// removed one a 410 (IsGone: stop). It is a write: sent again only when it
// surely was not applied.
func (c *Client) Heartbeat(ctx context.Context, hb api.Heartbeat) (api.HeartbeatAnswer, error) {
	var ans api.HeartbeatAnswer
	err := c.send(ctx, http.MethodPost, api.PathWorkerHeartbeat, hb, &ans)
	return ans, err
}

// WorkerPolicies pulls what worker enforces, waiting (a long poll, up to
// wait) for a policy version newer than since. A coordinator answers from
// its own replica. The attempt is bounded by ctx alone, not by the
// http.Client's timeout, which a long poll may outlast: give ctx a deadline
// beyond wait.
func (c *Client) WorkerPolicies(ctx context.Context, worker string, since uint64, wait time.Duration) (api.WorkerPolicies, error) {
	q := url.Values{}
	q.Set("since", strconv.FormatUint(since, 10))
	q.Set("worker", worker)
	q.Set("wait", wait.String())
	var p api.WorkerPolicies
	err := c.do(ctx, call{method: http.MethodGet, path: api.PathWorkerPolicies, query: q, out: &p, read: true, untimed: true})
	return p, err
}
