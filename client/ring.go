package client

import (
	"context"
	"sync"
	"time"

	"github.com/alluvium/alluvium/ring"
)

// WithRingCache makes reads (Open, List) keep the LIVE workers and their
// ring for ttl instead of asking a coordinator for them on every call, as a
// client that reads many files (a FUSE mount) must. A worker that fails a
// read makes the next read ask again at once, so a dead worker costs one
// failover, not ttl of them. 0 (the default) asks on every read.
func WithRingCache(ttl time.Duration) Option {
	return func(c *Client) { c.rings.ttl = max(ttl, 0) }
}

// ringView is the LIVE workers as one answer of the coordinators gave them:
// their addresses, in the order listed, and the ring they make.
type ringView struct {
	ring *ring.Ring
	ids  []string
	addr map[string]string
	at   time.Time
}

// ringCache holds the last ringView for WithRingCache.
type ringCache struct {
	ttl     time.Duration
	built   ring.Cache // rings are rebuilt only when the members change
	refresh sync.Mutex // one refresh at a time: the others wait for it
	mu      sync.Mutex
	view    *ringView
}

// liveView returns the LIVE workers and their ring: the cached view when it
// is fresh, or a new one. cached says which, so that a caller whose read
// failed on a cached view can ask again.
func (c *Client) liveView(ctx context.Context) (v *ringView, cached bool, err error) {
	rc := &c.rings
	if rc.ttl > 0 {
		if v := rc.fresh(); v != nil {
			return v, true, nil
		}
		rc.refresh.Lock()
		defer rc.refresh.Unlock()
		if v := rc.fresh(); v != nil {
			return v, true, nil
		}
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return nil, false, err
	}
	v = &ringView{addr: map[string]string{}, at: time.Now()}
	live := map[string]ring.Capacity{} // the ring every party builds
	for _, n := range nodes.Results {
		if n.State == "LIVE" {
			v.ids = append(v.ids, n.ID)
			v.addr[n.ID] = n.Address
			live[n.ID] = ring.Capacity{Bytes: n.CapacityBytes, Scale: n.RingWeight}
		}
	}
	if v.ring, err = rc.built.FromMembers(live); err != nil {
		return nil, false, err
	}
	if rc.ttl > 0 {
		rc.mu.Lock()
		rc.view = v
		rc.mu.Unlock()
	}
	return v, false, nil
}

// fresh returns the cached view while it is younger than the TTL.
func (rc *ringCache) fresh() *ringView {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.view != nil && time.Since(rc.view.at) < rc.ttl {
		return rc.view
	}
	return nil
}

// forgetView drops v from the cache (a worker of it failed), unless a newer
// view replaced it already.
func (c *Client) forgetView(v *ringView) {
	c.rings.mu.Lock()
	if c.rings.view == v {
		c.rings.view = nil
	}
	c.rings.mu.Unlock()
}
