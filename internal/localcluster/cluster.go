package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/internal/node"
	"github.com/alluvium/alluvium/internal/workernode"
)

// Cluster is a local cluster: its coordinators, its workers, and what it
// mounted.
type Cluster struct {
	// Coordinators are the coordinators, c1 first, in the order started.
	Coordinators []*Member
	// Workers are the running workers, worker-1 first.
	Workers []*workernode.Node

	cfg    Config
	mounts []api.Mount
	policy uint64 // version of the standalone workers' policies
}

// Member is one coordinator's fixed identity and, while it runs, the node
// (in this process) or the process.
type Member struct {
	ID       string
	RaftAddr string
	HTTPAddr string
	DataDir  string
	Node     *node.Node // in-process; nil while stopped
	Process  *Process   // as a process; nil while stopped

	cfg     node.Config // in-process
	args    []string    // as a process
	started bool        // it ran before: its ports were ours a moment ago
}

// URL is the member's API base URL.
func (m *Member) URL() string { return "http://" + m.HTTPAddr }

// Running reports whether the member runs (it may still have exited, as a
// process: see Process.Exited).
func (m *Member) Running() bool { return m.Node != nil || m.Process != nil }

// SetLogStore changes the log store the member starts with next (in
// process).
func (m *Member) SetLogStore(store string) { m.cfg.Coordinator.LogStore = store }

// Start starts a cluster and waits until it is usable: the coordinators
// agree on a leader that every one of them knows, the workers are LIVE and
// hold cfg.Mounts. On an error, what was started is stopped.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if err := c.StartCoordinators(); err != nil {
		return err
	}
	if err := c.WaitReady(ctx); err != nil {
		return err
	}
	if err := c.StartWorkers(); err != nil {
		return err
	}
	for _, m := range c.cfg.Mounts {
		if err := c.Mount(ctx, m); err != nil {
			return err
		}
	}
	return c.WaitWorkers(ctx)
}

// New checks cfg and returns a cluster with nothing running yet.
func New(cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Cluster{cfg: cfg}, nil
}

// StartCoordinators starts cfg.Coordinators coordinators, bootstrapped
// together or (with Join) by the first one, and returns without waiting
// for an election.
func (c *Cluster) StartCoordinators() error {
	n := c.cfg.Coordinators
	addrs, err := c.coordinatorAddrs(n)
	if err != nil {
		return err
	}
	var peers []coordinator.Peer
	for i := range n {
		m := &Member{ID: ID(i), RaftAddr: addrs[i].raft, HTTPAddr: addrs[i].http, DataDir: filepath.Join(c.cfg.Dir, ID(i))}
		c.Coordinators = append(c.Coordinators, m)
		peers = append(peers, coordinator.Peer{ID: m.ID, Address: m.RaftAddr})
	}
	for i, m := range c.Coordinators {
		switch {
		case !c.cfg.Join:
			c.configure(m, peers, "")
		case i == 0:
			c.configure(m, peers[:1], "")
		default:
			c.configure(m, nil, c.Coordinators[0].URL())
		}
		if err := c.run(m, addrs[i].lns); err != nil {
			return closeAll(addrs[i+1:], err)
		}
	}
	return nil
}

// addrs are a coordinator's addresses, and the listeners already open on
// them (in process, on free ports).
type addrs struct {
	raft, http string
	lns        []net.Listener
}

// coordinatorAddrs picks the addresses of n coordinators: fixed by
// cfg.Port, listeners on free ports (in process), or ports free a moment
// ago (for processes, which listen themselves).
func (c *Cluster) coordinatorAddrs(n int) ([]addrs, error) {
	out := make([]addrs, n)
	for i := range out {
		if c.cfg.fixed() {
			out[i] = addrs{raft: c.cfg.coordinatorRaftAddr(i), http: c.cfg.coordinatorAPIAddr(i)}
			continue
		}
		raftLn, err := listen("127.0.0.1:0", false)
		if err != nil {
			return nil, closeAll(out, err)
		}
		httpLn, err := listen("127.0.0.1:0", false)
		if err != nil {
			raftLn.Close()
			return nil, closeAll(out, err)
		}
		out[i] = addrs{raft: raftLn.Addr().String(), http: httpLn.Addr().String(), lns: []net.Listener{raftLn, httpLn}}
	}
	if c.cfg.Binary != "" {
		closeAll(out, nil)
	}
	return out, nil
}

// closeAll closes the listeners of as and returns err.
func closeAll(as []addrs, err error) error {
	for i := range as {
		for _, ln := range as[i].lns {
			ln.Close()
		}
		as[i].lns = nil
	}
	return err
}

// configure sets the member's config: bootstrapped with peers, or joining
// through joinURL.
func (c *Cluster) configure(m *Member, peers []coordinator.Peer, joinURL string) {
	if c.cfg.Binary != "" {
		m.args = c.processArgs(m, peers, joinURL)
		return
	}
	log := c.cfg.logger().With("node", m.ID)
	cfg := c.cfg.Coordinator
	cfg.ID, cfg.DataDir, cfg.HTTPAddress, cfg.Logger = m.ID, m.DataDir, m.HTTPAddr, log
	cfg.Bootstrap, cfg.Join = peers, joinURL
	opts := c.cfg.API
	opts.Logger = log
	if c.cfg.Token != "" {
		cfg.AuthToken, opts.AuthToken = c.cfg.Token, c.cfg.Token
	}
	m.cfg = node.Config{Coordinator: cfg, API: opts}
}

// run starts the member on lns (its Raft and API listeners), or on
// listeners opened on its addresses.
func (c *Cluster) run(m *Member, lns []net.Listener) error {
	if c.cfg.Binary != "" {
		p, err := StartProcess("alluvium "+m.ID, c.cfg.Binary, filepath.Join(c.cfg.Dir, m.ID+".log"), m.args...)
		if err != nil {
			return err
		}
		m.Process, m.started = p, true
		return nil
	}
	if lns == nil {
		raftLn, err := listen(m.RaftAddr, m.started)
		if err != nil {
			return err
		}
		httpLn, err := listen(m.HTTPAddr, m.started)
		if err != nil {
			raftLn.Close()
			return err
		}
		lns = []net.Listener{raftLn, httpLn}
	}
	cfg := m.cfg
	cfg.Coordinator.RaftListener, cfg.HTTPListener = lns[0], lns[1]
	m.started = true
	nd, err := node.Start(cfg)
	if err != nil {
		lns[0].Close()
		lns[1].Close()
		return fmt.Errorf("start coordinator %s: %w", m.ID, err)
	}
	m.Node = nd
	return nil
}

// listen listens on addr; with retry, a while longer, as a port just
// released may linger.
func listen(addr string, retry bool) (net.Listener, error) {
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", addr)
		if err == nil || !retry || i == 50 {
			if err != nil {
				return nil, fmt.Errorf("localcluster: %w", err)
			}
			return ln, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// StopCoordinator stops coordinator i; its data dir stays for
// RestartCoordinator.
func (c *Cluster) StopCoordinator(i int) error {
	m := c.Coordinators[i]
	var err error
	switch {
	case m.Node != nil:
		err = m.Node.Close()
	case m.Process != nil:
		m.Process.Stop(10 * time.Second)
	}
	m.Node, m.Process = nil, nil
	return err
}

// RestartCoordinator starts a stopped coordinator again on its data dir
// and addresses.
func (c *Cluster) RestartCoordinator(i int) error {
	m := c.Coordinators[i]
	if m.Running() {
		return fmt.Errorf("localcluster: %s is running", m.ID)
	}
	return c.run(m, nil)
}

// AddCoordinator starts a new coordinator on free ports that joins the
// cluster through joinURL.
func (c *Cluster) AddCoordinator(joinURL string) (*Member, error) {
	if c.cfg.fixed() {
		return nil, errors.New("localcluster: AddCoordinator needs free ports (Port 0)")
	}
	i := len(c.Coordinators)
	as, err := c.coordinatorAddrs(1)
	if err != nil {
		return nil, err
	}
	m := &Member{ID: ID(i), RaftAddr: as[0].raft, HTTPAddr: as[0].http, DataDir: filepath.Join(c.cfg.Dir, ID(i))}
	c.configure(m, nil, joinURL)
	c.Coordinators = append(c.Coordinators, m)
	return m, c.run(m, as[0].lns)
}

// StartWorkers starts cfg.Workers workers, with the coordinators' URLs.
// Standalone workers (no coordinators) get the mounts and a ring of
// themselves at once.
func (c *Cluster) StartWorkers() error {
	for i := range c.cfg.Workers {
		cfg := c.cfg.Worker
		cfg.DataDir = filepath.Join(c.cfg.Dir, "worker-"+strconv.Itoa(i+1))
		cfg.Coordinators = c.URLs()
		cfg.Logger = c.cfg.logger().With("worker", i+1)
		if c.cfg.Token != "" {
			cfg.Token = c.cfg.Token
		}
		bind := "127.0.0.1:0"
		if c.cfg.fixed() {
			bind = c.cfg.workerAddr(i)
		}
		w, err := workernode.Start(cfg, nil, bind)
		if err != nil {
			return fmt.Errorf("start worker %d: %w", i+1, err)
		}
		c.Workers = append(c.Workers, w)
	}
	return c.setStandalonePolicies()
}

// URLs are the coordinators' API base URLs.
func (c *Cluster) URLs() []string {
	var urls []string
	for _, m := range c.Coordinators {
		urls = append(urls, m.URL())
	}
	return urls
}

// Client is a client of the coordinators' API, with the cluster's token.
func (c *Cluster) Client() (*client.Client, error) {
	return client.New(c.URLs(), client.WithToken(c.cfg.Token))
}

// Close stops the workers, then the coordinators (processes in parallel).
// It is safe to call more than once.
func (c *Cluster) Close() error {
	var errs []error
	for _, w := range c.Workers {
		errs = append(errs, w.Close())
	}
	c.Workers = nil
	var wg sync.WaitGroup
	errs2 := make([]error, len(c.Coordinators))
	for i, m := range c.Coordinators {
		if m.Process != nil {
			wg.Add(1)
			go func() { defer wg.Done(); errs2[i] = c.StopCoordinator(i) }()
			continue
		}
		errs2[i] = c.StopCoordinator(i)
	}
	wg.Wait()
	return errors.Join(append(errs, errs2...)...)
}
