package coordinator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// RaftTLS runs the Raft transport over mutual TLS.
type RaftTLS struct {
	// Server accepts peers. It should require and verify client
	// certificates against the cluster CA; whatever it says, a peer whose
	// chain was not verified is dropped.
	Server *tls.Config
	// Client dials peers: it verifies their certificate and presents this
	// node's.
	Client *tls.Config
	// HandshakeTimeout bounds an inbound handshake; DefaultHandshakeTimeout
	// when zero.
	HandshakeTimeout time.Duration
}

// DefaultHandshakeTimeout bounds a Raft peer's TLS handshake.
const DefaultHandshakeTimeout = 5 * time.Second

// maxHandshakes bounds the inbound handshakes in progress, so a flood of
// half-open connections costs a bounded number of goroutines.
const maxHandshakes = 64

var _ raft.StreamLayer = (*tlsStream)(nil)

// tlsStream is a raft.StreamLayer over mutual TLS. Accept hands Raft only
// connections whose handshake completed, with a verified client chain,
// within the timeout: a peer without a certificate from the cluster CA, or
// one speaking plain TCP, is closed before Raft reads a byte of it.
// Handshakes run off the accept loop, so a slow peer cannot stall others.
type tlsStream struct {
	ln        net.Listener
	advertise net.Addr
	cfg       RaftTLS
	log       *slog.Logger

	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	sem       chan struct{}
	wg        sync.WaitGroup
}

func newTLSStream(ln net.Listener, advertise net.Addr, cfg RaftTLS, log *slog.Logger) *tlsStream {
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	s := &tlsStream{
		ln: ln, advertise: advertise, cfg: cfg, log: log,
		conns: make(chan net.Conn), done: make(chan struct{}), sem: make(chan struct{}, maxHandshakes),
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

func (s *tlsStream) acceptLoop() {
	defer s.wg.Done()
	for {
		raw, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.Close()
			return
		}
		select {
		case s.sem <- struct{}{}:
		case <-s.done:
			raw.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			s.handshake(raw)
		}()
	}
}

// handshake completes the TLS handshake of an inbound connection within the
// timeout and hands it to Accept, or closes it.
func (s *tlsStream) handshake(raw net.Conn) {
	conn := tls.Server(raw, s.cfg.Server)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HandshakeTimeout)
	defer cancel()
	err := conn.HandshakeContext(ctx)
	if err == nil && len(conn.ConnectionState().VerifiedChains) == 0 {
		err = errors.New("no verified client certificate")
	}
	if err != nil {
		s.log.Warn("raft: refused a peer connection", "remote", raw.RemoteAddr().String(), "err", err)
		conn.Close()
		return
	}
	select {
	case s.conns <- conn:
	case <-s.done:
		conn.Close()
	}
}

// Accept returns the next peer connection that completed its handshake.
func (s *tlsStream) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; handshakes in progress are abandoned.
func (s *tlsStream) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = s.ln.Close()
	})
	return err
}

// Addr is the address peers dial (the advertised one when set).
func (s *tlsStream) Addr() net.Addr {
	if s.advertise != nil {
		return s.advertise
	}
	return s.ln.Addr()
}

// Dial connects to a peer and completes the handshake within timeout. addr
// is resolved at every dial (a DNS name is never cached here), and the
// peer's certificate must name the host dialled, the DNS name or IP address
// as written in the Raft configuration: the chain alone would let any
// node of the CA answer for another.
func (s *tlsStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	host, _, err := net.SplitHostPort(string(addr))
	if err != nil {
		return nil, err
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: s.cfg.Client}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", string(addr))
	if err != nil {
		return nil, err
	}
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		conn.Close()
		return nil, fmt.Errorf("raft peer %s sent no certificate", addr)
	}
	if err := certs[0].VerifyHostname(host); err != nil {
		conn.Close()
		return nil, fmt.Errorf("raft peer %s: %w", addr, err)
	}
	return conn, nil
}
