package testcluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/node"
)

// Cluster is a set of coordinator nodes on loopback.
type Cluster struct {
	tb    testing.TB
	Nodes []*Member
	opts  Options
}

// Member is one node's fixed identity and, while it runs, the node.
type Member struct {
	ID       string
	RaftAddr string
	HTTPAddr string
	DataDir  string
	Node     *node.Node // nil while stopped
	cfg      node.Config
}

// SetLogStore changes the log-store setting the member starts with next.
func (m *Member) SetLogStore(store string) { m.cfg.Coordinator.LogStore = store }

// URL is the member's API base URL.
func (m *Member) URL() string { return "http://" + m.HTTPAddr }

// Options adjust the nodes' configuration.
type Options struct {
	// Coordinator adjusts each coordinator's config after the defaults.
	Coordinator func(*coordinator.Config)
	// API adjusts each node's API options.
	API func(*httpapi.Options)
	// Logger receives the nodes' logs; dropped when nil.
	Logger *slog.Logger
}

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
// and stops it when the test ends.
func Start(tb testing.TB, n int, opts Options) *Cluster {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Cluster{tb: tb, opts: opts}
	var peers []coordinator.Peer
	raftLns := make([]net.Listener, n)
	httpLns := make([]net.Listener, n)
	for i := range n {
		raftLns[i] = listen(tb, "127.0.0.1:0")
		httpLns[i] = listen(tb, "127.0.0.1:0")
		m := &Member{
			ID:       fmt.Sprintf("c%d", i+1),
			RaftAddr: raftLns[i].Addr().String(),
			HTTPAddr: httpLns[i].Addr().String(),
			DataDir:  tb.TempDir(),
		}
		c.Nodes = append(c.Nodes, m)
		peers = append(peers, coordinator.Peer{ID: m.ID, Address: m.RaftAddr})
	}
	for i, m := range c.Nodes {
		m.cfg = c.nodeConfig(m)
		m.cfg.Coordinator.Bootstrap = peers
		c.startWith(m, raftLns[i], httpLns[i])
	}
	tb.Cleanup(c.StopAll)
	return c
}

func (c *Cluster) nodeConfig(m *Member) node.Config {
	cfg := testConfig()
	cfg.ID = m.ID
	cfg.DataDir = m.DataDir
	cfg.HTTPAddress = m.HTTPAddr
	cfg.Logger = c.opts.Logger.With("node", m.ID)
	if c.opts.Coordinator != nil {
		c.opts.Coordinator(&cfg)
	}
	api := httpapi.DefaultOptions()
	api.Logger = cfg.Logger
	if c.opts.API != nil {
		c.opts.API(&api)
	}
	return node.Config{Coordinator: cfg, API: api}
}

func listen(tb testing.TB, addr string) net.Listener {
	tb.Helper()
	var err error
	for range 50 { // a port just released may linger briefly
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("testcluster: listen on %s: %v", addr, err)
	return nil
}

func (c *Cluster) startWith(m *Member, raftLn, httpLn net.Listener) {
	c.tb.Helper()
	cfg := m.cfg
	cfg.Coordinator.RaftListener = raftLn
	cfg.HTTPListener = httpLn
	n, err := node.Start(cfg)
	if err != nil {
		raftLn.Close()
		httpLn.Close()
		c.tb.Fatalf("testcluster: start %s: %v", m.ID, err)
	}
	m.Node = n
}

// Stop stops a node; its data dir stays for Start.
func (c *Cluster) Stop(i int) {
	c.tb.Helper()
	m := c.Nodes[i]
	if m.Node == nil {
		return
	}
	if err := m.Node.Close(); err != nil {
		c.tb.Logf("testcluster: stop %s: %v", m.ID, err)
	}
	m.Node = nil
}

// Restart starts a stopped node again on its data dir and addresses.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	m := c.Nodes[i]
	if m.Node != nil {
		c.tb.Fatalf("testcluster: %s is running", m.ID)
	}
	c.startWith(m, listen(c.tb, m.RaftAddr), listen(c.tb, m.HTTPAddr))
}

// Add starts a new node that joins the cluster through joinURL.
func (c *Cluster) Add(joinURL string) *Member {
	c.tb.Helper()
	raftLn, httpLn := listen(c.tb, "127.0.0.1:0"), listen(c.tb, "127.0.0.1:0")
	m := &Member{
		ID:       fmt.Sprintf("c%d", len(c.Nodes)+1),
		RaftAddr: raftLn.Addr().String(),
		HTTPAddr: httpLn.Addr().String(),
		DataDir:  c.tb.TempDir(),
	}
	m.cfg = c.nodeConfig(m)
	m.cfg.Coordinator.Join = joinURL
	c.Nodes = append(c.Nodes, m)
	c.startWith(m, raftLn, httpLn)
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
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for i, m := range c.Nodes {
			if m.Node != nil && m.Node.Coordinator.IsLeader() {
				return i
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.tb.Fatalf("testcluster: no leader after 30s")
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

// WaitPublished waits until every running node knows every running node's
// HTTP address, so that forwarding works from anywhere.
func (c *Cluster) WaitPublished() {
	c.tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, m := range c.Nodes {
			if m.Node == nil {
				continue
			}
			for _, o := range c.Nodes {
				if o.Node == nil {
					continue
				}
				info, found := m.Node.Coordinator.FSM().Coordinator(o.ID)
				ok = ok && found && info.HTTPAddress == o.HTTPAddr
			}
			_, err := m.Node.Coordinator.Leader()
			ok = ok && err == nil
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.tb.Fatalf("testcluster: coordinators did not publish their addresses within 30s")
}

// WaitApplied waits until every running node has applied index.
func (c *Cluster) WaitApplied(index uint64) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		done := true
		for _, m := range c.Nodes {
			if m.Node != nil && m.Node.Coordinator.FSM().AppliedIndex() < index {
				done = false
			}
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			c.tb.Fatalf("testcluster: index %d not applied everywhere within 30s", index)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Client is an HTTP client for tests, with a timeout so nothing hangs.
var Client = &http.Client{Timeout: 30 * time.Second}
