package coordinator

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// tcpStream is the raft.StreamLayer of the plain TCP transport. Unlike
// raft.NewTCPTransport, which wants a resolved *net.TCPAddr to advertise,
// it advertises the address as configured: a DNS name stays a name in the
// Raft configuration, and every dial resolves it again, so a peer that
// comes back on a new IP (a Kubernetes pod) is found. The listener may be
// one the caller opened (Config.RaftListener), so that a program or a test
// binds port 0 and learns its address before the cluster is configured.
type tcpStream struct {
	net.Listener
	advertise net.Addr // nil: the listener's own address
}

// Addr is the address peers dial: the advertised one when set.
func (s tcpStream) Addr() net.Addr {
	if s.advertise != nil {
		return s.advertise
	}
	return s.Listener.Addr()
}

// Dial resolves addr (a name is looked up at every dial, never cached here)
// and connects.
func (s tcpStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}

// nameAddr is an advertised address kept as written ("c1.svc:7001"),
// which *net.TCPAddr cannot hold.
type nameAddr string

func (a nameAddr) Network() string { return "tcp" }
func (a nameAddr) String() string  { return string(a) }

// advertiseAddr is the address this node's stream layer advertises:
// RaftAdvertise as written; else RaftBind when its host is a name (as
// written, not resolved); else nil, the listener's own address (which knows
// the port a ":0" bind got).
func (c *Config) advertiseAddr() net.Addr {
	if c.RaftAdvertise != "" {
		return nameAddr(c.RaftAdvertise)
	}
	if c.RaftListener == nil {
		if host, _, err := net.SplitHostPort(c.RaftBind); err == nil && host != "" && net.ParseIP(host) == nil {
			return nameAddr(c.RaftBind)
		}
	}
	return nil
}

// raftTransport builds the Raft transport: over mutual TLS when RaftTLS is
// set, else over TCP; on RaftListener, or on a listener bound to RaftBind.
func (c *Coordinator) raftTransport(hl hclog.Logger) (*raft.NetworkTransport, error) {
	ln := c.cfg.RaftListener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", c.cfg.RaftBind); err != nil {
			return nil, fmt.Errorf("coordinator: raft transport on %s: %w", c.cfg.RaftBind, err)
		}
	}
	adv := c.cfg.advertiseAddr()
	if adv == nil {
		if a, ok := ln.Addr().(*net.TCPAddr); ok && a.IP.IsUnspecified() {
			if c.cfg.RaftListener == nil {
				ln.Close()
			}
			return nil, fmt.Errorf("coordinator: raft transport on %s: %s is not an address peers can dial: set the advertised address (--raft-advertise)", c.cfg.RaftBind, a)
		}
	}
	if c.cfg.RaftTLS != nil {
		stream := newTLSStream(ln, adv, *c.cfg.RaftTLS, c.log)
		return raft.NewNetworkTransportWithLogger(stream, 3, 10*time.Second, hl), nil
	}
	return raft.NewNetworkTransportWithLogger(tcpStream{Listener: ln, advertise: adv}, 3, 10*time.Second, hl), nil
}

// CheckDialAddress reports whether addr is a host:port that peers can dial:
// an IP address that is not unspecified (0.0.0.0, ::) or a DNS name, and a
// port from 1 to 65535. A name is not resolved here: the transport resolves
// it at every dial, so a peer that comes back on a new IP (a Kubernetes pod)
// is found again.
func CheckDialAddress(addr string) error {
	host, err := checkHostPort(addr, 1)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("address %q has no host", addr)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("address %q: %s is not an address peers can dial", addr, host)
	}
	return nil
}

// CheckBindAddress reports whether addr is a host:port to listen on: an
// empty host (every interface), an IP or a name, and a port from 0 (any) to
// 65535.
func CheckBindAddress(addr string) error {
	_, err := checkHostPort(addr, 0)
	return err
}

// checkHostPort splits addr and checks the port's range and the host's
// syntax; it returns the host.
func checkHostPort(addr string, minPort int) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q is not host:port: %v", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < minPort || n > 65535 {
		return "", fmt.Errorf("address %q: port %q is not a number from %d to 65535", addr, port, minPort)
	}
	if host != "" && net.ParseIP(host) == nil {
		if err := checkDNSName(host); err != nil {
			return "", fmt.Errorf("address %q: %v", addr, err)
		}
	}
	return host, nil
}

// checkDNSName checks the syntax of a host name: dot-separated labels of
// letters, digits, '-' and '_', 1 to 63 bytes each, none starting or ending
// with '-', 253 bytes in all (a final dot allowed).
func checkDNSName(name string) error {
	n := strings.TrimSuffix(name, ".")
	if n == "" || len(n) > 253 {
		return fmt.Errorf("host %q is not an IP address or a DNS name", name)
	}
	for _, label := range strings.Split(n, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q is not an IP address or a DNS name", name)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("host %q is not an IP address or a DNS name", name)
			}
		}
	}
	return nil
}
