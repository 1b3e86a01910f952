package coordinators

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/internal/node"
	"github.com/alluvium/alluvium/internal/tlsconfig"
)

// Set is the coordinators of a local cluster.
type Set struct {
	// Members are the coordinators, c1 first, in the order started.
	Members []*Member

	cfg Config
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
	https   bool        // its API is served on TLS
}

// URL is the member's API base URL.
func (m *Member) URL() string {
	if m.https {
		return "https://" + m.HTTPAddr
	}
	return "http://" + m.HTTPAddr
}

// Running reports whether the member runs (it may still have exited, as a
// process: see Process.Exited).
func (m *Member) Running() bool { return m.Node != nil || m.Process != nil }

// SetLogStore changes the log store the member starts with next (in
// process).
func (m *Member) SetLogStore(store string) { m.cfg.Coordinator.LogStore = store }

// New checks cfg and returns a set with nothing running yet.
func New(cfg Config) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Set{cfg: cfg}, nil
}

// Start starts cfg.Coordinators coordinators, bootstrapped
// together or (with Join) by the first one, and returns without waiting
// for an election.
func (s *Set) Start() error {
	n := s.cfg.Coordinators
	addrs, err := s.coordinatorAddrs(n)
	if err != nil {
		return err
	}
	var peers []coordinator.Peer
	for i := range n {
		m := &Member{ID: ID(i), RaftAddr: addrs[i].raft, HTTPAddr: addrs[i].http, DataDir: filepath.Join(s.cfg.Dir, ID(i)), https: s.cfg.TLS != nil}
		s.Members = append(s.Members, m)
		peers = append(peers, coordinator.Peer{ID: m.ID, Address: m.RaftAddr})
	}
	for i, m := range s.Members {
		switch {
		case !s.cfg.Join:
			s.configure(m, peers, "")
		case i == 0:
			s.configure(m, peers[:1], "")
		default:
			s.configure(m, nil, s.Members[0].URL())
		}
		if err := s.run(m, addrs[i].lns); err != nil {
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
func (s *Set) coordinatorAddrs(n int) ([]addrs, error) {
	out := make([]addrs, n)
	for i := range out {
		if s.cfg.Fixed() {
			out[i] = addrs{raft: s.cfg.raftAddr(i), http: s.cfg.apiAddr(i)}
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
	if s.cfg.Binary != "" {
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
func (s *Set) configure(m *Member, peers []coordinator.Peer, joinURL string) {
	if s.cfg.Binary != "" {
		m.args = s.processArgs(m, peers, joinURL)
		return
	}
	log := s.cfg.Log().With("node", m.ID)
	cfg := s.cfg.Coordinator
	cfg.ID, cfg.DataDir, cfg.HTTPAddress, cfg.Logger = m.ID, m.DataDir, m.HTTPAddr, log
	cfg.Bootstrap, cfg.Join = peers, joinURL
	opts := s.cfg.API
	opts.Logger = log
	if s.cfg.Token != "" {
		cfg.AuthToken, opts.AuthToken = s.cfg.Token, s.cfg.Token
	}
	var serverTLS *tls.Config
	if src := s.cfg.TLS; src != nil {
		cfg.RaftTLS = &coordinator.RaftTLS{Server: src.Server(true), Client: src.Client()}
		cfg.HTTPClientTLS = src.Client()
		opts.ForwardTransport = tlsconfig.HTTPTransport(src.Client())
		serverTLS = src.Server(false)
	}
	m.cfg = node.Config{Coordinator: cfg, API: opts, TLS: serverTLS}
}

// run starts the member on lns (its Raft and API listeners), or on
// listeners opened on its addresses.
func (s *Set) run(m *Member, lns []net.Listener) error {
	if s.cfg.Binary != "" {
		p, err := StartProcess("alluvium "+m.ID, s.cfg.Binary, filepath.Join(s.cfg.Dir, m.ID+".log"), m.args...)
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

// Stop stops coordinator i; its data dir stays for Restart.
func (s *Set) Stop(i int) error {
	m := s.Members[i]
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

// Restart starts a stopped coordinator again on its data dir
// and addresses.
func (s *Set) Restart(i int) error {
	m := s.Members[i]
	if m.Running() {
		return fmt.Errorf("localcluster: %s is running", m.ID)
	}
	return s.run(m, nil)
}

// Add starts a new coordinator on free ports that joins the
// cluster through joinURL.
func (s *Set) Add(joinURL string) (*Member, error) {
	if s.cfg.Fixed() {
		return nil, errors.New("localcluster: Add needs free ports (Port 0)")
	}
	i := len(s.Members)
	as, err := s.coordinatorAddrs(1)
	if err != nil {
		return nil, err
	}
	m := &Member{ID: ID(i), RaftAddr: as[0].raft, HTTPAddr: as[0].http, DataDir: filepath.Join(s.cfg.Dir, ID(i)), https: s.cfg.TLS != nil}
	s.configure(m, nil, joinURL)
	s.Members = append(s.Members, m)
	return m, s.run(m, as[0].lns)
}

// URLs are the coordinators' API base URLs.
func (s *Set) URLs() []string {
	var urls []string
	for _, m := range s.Members {
		urls = append(urls, m.URL())
	}
	return urls
}

// Client is a client of the coordinators' API, with the set's token.
func (s *Set) Client() (*client.Client, error) {
	return client.New(s.URLs(), s.clientOptions()...)
}

// clientOptions are the options of the set's own clients: its token and
// TLS.
func (s *Set) clientOptions(more ...client.Option) []client.Option {
	opts := append([]client.Option{client.WithToken(s.cfg.Token)}, more...)
	if s.cfg.TLS != nil {
		opts = append(opts, client.WithTLS(s.cfg.TLS.Client()))
	}
	return opts
}

// Close stops every coordinator (processes in parallel). It is safe to
// call more than once.
func (s *Set) Close() error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.Members))
	for i, m := range s.Members {
		if m.Process != nil {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.Stop(i) }()
			continue
		}
		errs[i] = s.Stop(i)
	}
	wg.Wait()
	return errors.Join(errs...)
}
