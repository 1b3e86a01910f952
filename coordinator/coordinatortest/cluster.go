package coordinatortest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/hashicorp/raft"
)

// Cluster is an in-memory coordinator cluster.
type Cluster struct {
	tb    testing.TB
	mu    sync.Mutex
	nodes []*Node
	// cut[i][j] is true when messages from node i to node j are dropped.
	cut     [][]bool
	options options
}

// Node is one member. Its Raft stores outlive Kill, so Restart recovers the
// node's state as a process restarting on the same disk would.
type Node struct {
	ID          string
	RaftAddress raft.ServerAddress

	logs   *raft.InmemStore
	snaps  *raft.InmemSnapshotStore
	trans  *raft.InmemTransport
	coord  *coordinator.Coordinator
	config coordinator.Config
}

// Coordinator returns the node's running coordinator, or nil while killed.
func (n *Node) Coordinator() *coordinator.Coordinator { return n.coord }

type options struct {
	logger    *slog.Logger
	configure func(*coordinator.Config)
	timeout   time.Duration
}

// Option changes how New builds a cluster.
type Option func(*options)

// WithLogger sends every node's logs to l (by default they are dropped).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithConfig lets the caller adjust each node's config before it starts.
func WithConfig(fn func(*coordinator.Config)) Option { return func(o *options) { o.configure = fn } }

// WithTimeout sets how long WaitLeader waits (default 20s).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// FastConfig returns coordinator timings fit for in-memory clusters: fast
// elections, small snapshots, yet loose enough for the race detector on two
// cores.
func FastConfig() coordinator.Config {
	cfg := coordinator.DefaultConfig()
	cfg.HeartbeatTimeout = 150 * time.Millisecond
	cfg.ElectionTimeout = 150 * time.Millisecond
	cfg.LeaderLeaseTimeout = 100 * time.Millisecond
	cfg.CommitTimeout = 5 * time.Millisecond
	cfg.SnapshotInterval = time.Hour // tests snapshot explicitly
	cfg.SnapshotThreshold = 1 << 40
	cfg.ApplyTimeout = 5 * time.Second
	cfg.AnnounceInterval = 50 * time.Millisecond
	cfg.CheckUFS = nil // tests mount made-up locations
	return cfg
}

// New starts an n-node cluster bootstrapped with all nodes as voters, and
// shuts it down when the test ends. It does not wait for a leader.
func New(tb testing.TB, n int, opts ...Option) *Cluster {
	tb.Helper()
	o := options{logger: slog.New(slog.NewTextHandler(io.Discard, nil)), timeout: 20 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	c := &Cluster{tb: tb, options: o, cut: make([][]bool, n)}
	var peers []coordinator.Peer
	for i := range n {
		id := fmt.Sprintf("c%d", i+1)
		addr := raft.ServerAddress("inmem-" + id)
		c.nodes = append(c.nodes, &Node{
			ID: id, RaftAddress: addr,
			logs:  raft.NewInmemStore(),
			snaps: raft.NewInmemSnapshotStore(),
		})
		peers = append(peers, coordinator.Peer{ID: id, Address: string(addr)})
		c.cut[i] = make([]bool, n)
	}
	for _, node := range c.nodes {
		cfg := FastConfig()
		cfg.ID = node.ID
		cfg.HTTPAddress = "inmem-http-" + node.ID
		cfg.Bootstrap = peers
		cfg.Logger = o.logger
		if o.configure != nil {
			o.configure(&cfg)
		}
		node.config = cfg
	}
	for i := range c.nodes {
		if err := c.start(i); err != nil {
			c.Shutdown()
			tb.Fatalf("coordinatortest: start %s: %v", c.nodes[i].ID, err)
		}
	}
	tb.Cleanup(c.Shutdown)
	return c
}

func (c *Cluster) start(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[i]
	_, n.trans = raft.NewInmemTransportWithTimeout(n.RaftAddress, time.Second)
	cfg := n.config
	cfg.Raft = &coordinator.RaftParts{Transport: n.trans, LogStore: n.logs, StableStore: n.logs, SnapshotStore: n.snaps}
	co, err := coordinator.New(cfg)
	if err != nil {
		return err
	}
	n.coord = co
	c.rewireLocked()
	return nil
}

// rewireLocked connects every pair of live nodes that is not cut, and
// disconnects the rest.
func (c *Cluster) rewireLocked() {
	for i, a := range c.nodes {
		if a.coord == nil {
			continue
		}
		for j, b := range c.nodes {
			if i == j {
				continue
			}
			if b.coord == nil || c.cut[i][j] {
				a.trans.Disconnect(b.RaftAddress)
			} else {
				a.trans.Connect(b.RaftAddress, b.trans)
			}
		}
	}
}

// Nodes returns the members, killed ones included.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// Node returns the i-th member (0-based).
func (c *Cluster) Node(i int) *Node { return c.nodes[i] }

// Coordinators returns the running coordinators.
func (c *Cluster) Coordinators() []*coordinator.Coordinator {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*coordinator.Coordinator
	for _, n := range c.nodes {
		if n.coord != nil {
			out = append(out, n.coord)
		}
	}
	return out
}

// Leader returns the running node that leads and is ready to serve (see
// Coordinator.IsLeader), or nil. When a deposed leader has not noticed yet,
// the one with the highest term wins.
func (c *Cluster) Leader() *coordinator.Coordinator {
	var best *coordinator.Coordinator
	for _, co := range c.Coordinators() {
		if co.IsLeader() && (best == nil || co.Raft().CurrentTerm() > best.Raft().CurrentTerm()) {
			best = co
		}
	}
	return best
}

// WaitLeader waits for a leader among the nodes that can reach a majority,
// failing the test after the cluster's timeout.
func (c *Cluster) WaitLeader() *coordinator.Coordinator {
	c.tb.Helper()
	l, err := c.AwaitLeader(context.Background())
	if err != nil {
		c.tb.Fatalf("coordinatortest: %v", err)
	}
	return l
}

// AwaitLeader is WaitLeader returning an error instead of failing the test.
func (c *Cluster) AwaitLeader(ctx context.Context) (*coordinator.Coordinator, error) {
	ctx, cancel := context.WithTimeout(ctx, c.options.timeout)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if l := c.Leader(); l != nil && !c.isolated(l.ID()) {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no leader after %s", c.options.timeout)
		case <-t.C:
		}
	}
}

// isolated reports whether the node cannot reach a majority of the cluster.
func (c *Cluster) isolated(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.index(id)
	reach := 1
	for j := range c.nodes {
		if j != i && !c.cut[i][j] && c.nodes[j].coord != nil {
			reach++
		}
	}
	return reach <= len(c.nodes)/2
}

func (c *Cluster) index(id string) int {
	for i, n := range c.nodes {
		if n.ID == id {
			return i
		}
	}
	panic("coordinatortest: no node " + id)
}

// Kill stops a node abruptly, keeping its Raft state for Restart.
func (c *Cluster) Kill(id string) {
	c.tb.Helper()
	c.mu.Lock()
	n := c.nodes[c.index(id)]
	co := n.coord
	n.coord = nil
	c.rewireLocked()
	c.mu.Unlock()
	if co == nil {
		c.tb.Fatalf("coordinatortest: %s is not running", id)
	}
	_ = co.Shutdown()
}

// Restart starts a killed node again on its Raft state.
func (c *Cluster) Restart(id string) *coordinator.Coordinator {
	c.tb.Helper()
	i := c.index(id)
	if c.nodes[i].coord != nil {
		c.tb.Fatalf("coordinatortest: %s is running", id)
	}
	if err := c.start(i); err != nil {
		c.tb.Fatalf("coordinatortest: restart %s: %v", id, err)
	}
	return c.nodes[i].coord
}

// Partition cuts the named nodes off from the others; they still reach one
// another. Partition again to move the cut; Heal removes it.
func (c *Cluster) Partition(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	side := make([]bool, len(c.nodes))
	for _, id := range ids {
		side[c.index(id)] = true
	}
	for i := range c.nodes {
		for j := range c.nodes {
			c.cut[i][j] = side[i] != side[j]
		}
	}
	c.rewireLocked()
}

// Heal reconnects every pair of running nodes.
func (c *Cluster) Heal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.cut {
		clear(c.cut[i])
	}
	c.rewireLocked()
}

// Shutdown stops every node. The test's cleanup calls it.
func (c *Cluster) Shutdown() {
	c.mu.Lock()
	var running []*coordinator.Coordinator
	for _, n := range c.nodes {
		if n.coord != nil {
			running = append(running, n.coord)
			n.coord = nil
		}
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, co := range running {
		wg.Add(1)
		go func() { defer wg.Done(); _ = co.Shutdown() }()
	}
	wg.Wait()
}

// WaitApplied waits until every running node has applied at least index.
func (c *Cluster) WaitApplied(ctx context.Context, index uint64) error {
	ctx, cancel := context.WithTimeout(ctx, c.options.timeout)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		done := true
		for _, co := range c.Coordinators() {
			if co.FSM().AppliedIndex() < index {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not every node applied index %d: %w", index, ctx.Err())
		case <-t.C:
		}
	}
}
