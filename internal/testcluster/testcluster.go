package testcluster

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/localcluster/coordinators"
)

// Cluster is a set of coordinator nodes on loopback.
type Cluster struct {
	tb testing.TB
	lc *coordinators.Set
	// Nodes are the cluster's members, c1 first.
	Nodes []*Member
}

// Member is one node's fixed identity and, while it runs, the node.
type Member = coordinators.Member

// Options adjust the nodes' configuration.
type Options struct {
	// Coordinator adjusts each coordinator's config after the defaults.
	Coordinator func(*coordinator.Config)
	// API adjusts each node's API options.
	API func(*httpapi.Options)
	// Logger receives the nodes' logs; dropped when nil.
	Logger *slog.Logger
}

// waitTimeout bounds every wait of this package.
const waitTimeout = 30 * time.Second

// Timings fit for a loopback cluster under the race detector on two cores.
func testConfig() coordinator.Config {
	cfg := coordinator.DefaultConfig()
	cfg.HeartbeatTimeout = 500 * time.Millisecond
	cfg.ElectionTimeout = 500 * time.Millisecond
	cfg.LeaderLeaseTimeout = 300 * time.Millisecond
	cfg.SnapshotInterval = time.Hour
	cfg.SnapshotThreshold = 1 << 40
	cfg.ApplyTimeout = 5 * time.Second
	cfg.AnnounceInterval = 50 * time.Millisecond
	cfg.CheckUFS = nil // tests mount made-up locations
	return cfg
}

// Start starts an n-node cluster, bootstrapped with every node as a voter,
// and stops it when the test ends. It does not wait for a leader (see
// Leader and WaitPublished).
func Start(tb testing.TB, n int, opts Options) *Cluster {
	tb.Helper()
	cfg := coordinators.DefaultConfig()
	cfg.Dir, cfg.Coordinators, cfg.Logger = tb.TempDir(), n, opts.Logger
	cfg.Coordinator = testConfig()
	if opts.Coordinator != nil {
		opts.Coordinator(&cfg.Coordinator)
	}
	if opts.API != nil {
		opts.API(&cfg.API)
	}
	lc, err := coordinators.New(cfg)
	if err != nil {
		tb.Fatalf("testcluster: %v", err)
	}
	c := &Cluster{tb: tb, lc: lc}
	tb.Cleanup(c.StopAll)
	err = lc.Start()
	c.Nodes = lc.Members
	if err != nil {
		tb.Fatalf("testcluster: %v", err)
	}
	return c
}

// Stop stops a node; its data dir stays for Start.
func (c *Cluster) Stop(i int) {
	c.tb.Helper()
	if err := c.lc.Stop(i); err != nil {
		c.tb.Logf("testcluster: stop %s: %v", c.Nodes[i].ID, err)
	}
}

// Restart starts a stopped node again on its data dir and addresses.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	if err := c.lc.Restart(i); err != nil {
		c.tb.Fatalf("testcluster: restart %s: %v", c.Nodes[i].ID, err)
	}
}

// Add starts a new node that joins the cluster through joinURL.
func (c *Cluster) Add(joinURL string) *Member {
	c.tb.Helper()
	m, err := c.lc.Add(joinURL)
	c.Nodes = c.lc.Members
	if err != nil {
		c.tb.Fatalf("testcluster: add a node: %v", err)
	}
	return m
}

// StopAll stops every running node.
func (c *Cluster) StopAll() {
	for i := range c.Nodes {
		c.Stop(i)
	}
}

// Leader waits for a running node that leads and is ready, and returns its
// index.
func (c *Cluster) Leader() int {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	m, err := c.lc.Leader(ctx)
	if err != nil {
		c.tb.Fatalf("testcluster: %v", err)
	}
	for i, n := range c.Nodes {
		if n == m {
			return i
		}
	}
	return -1
}

// Follower returns the index of a running node that is not the leader.
func (c *Cluster) Follower() int {
	c.tb.Helper()
	l := c.Leader()
	for i, m := range c.Nodes {
		if i != l && m.Node != nil {
			return i
		}
	}
	c.tb.Fatalf("testcluster: no running follower")
	return -1
}

// WaitPublished waits until every running node knows the leader and every
// running node's HTTP address, so that forwarding works from anywhere.
func (c *Cluster) WaitPublished() {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.lc.WaitReady(ctx); err != nil {
		c.tb.Fatalf("testcluster: %v", err)
	}
}

// WaitApplied waits until every running node has applied index.
func (c *Cluster) WaitApplied(index uint64) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.lc.WaitApplied(ctx, index); err != nil {
		c.tb.Fatalf("testcluster: %v", err)
	}
}

// Client is an HTTP client for tests, with a timeout so nothing hangs.
var Client = &http.Client{Timeout: 30 * time.Second}
