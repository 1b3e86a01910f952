package coordinator_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/internal/tlsconfig"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// dialStream is the dialing half of a raft.StreamLayer, for intruders:
// dial returns the connection an intruder speaks Raft over.
type dialStream struct {
	dial func(addr string, timeout time.Duration) (net.Conn, error)
}

func (d dialStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return d.dial(string(addr), timeout)
}
func (dialStream) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (dialStream) Close() error              { return nil }
func (dialStream) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

// tlsFiles makes a CA and a loopback certificate in a temporary dir.
func tlsFiles(t *testing.T, name string) (*tlsconfig.CA, *tlsconfig.Source) {
	t.Helper()
	ca, err := tlsconfig.NewCA(name, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ca.WriteFiles(t.TempDir(), "node", tlsconfig.DevHosts, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	src, err := tlsconfig.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return ca, src
}

type raftView struct {
	leader raft.ServerAddress
	term   string
	mounts string
}

func viewOf(nodes []*coordinator.Coordinator) []raftView {
	out := make([]raftView, len(nodes))
	for i, co := range nodes {
		leader, _ := co.Raft().LeaderWithID()
		out[i] = raftView{leader, co.Raft().Stats()["term"], fmt.Sprint(co.Mounts())}
	}
	return out
}

// TestRaftTLSDropsIntruders starts three coordinators whose Raft transport
// runs over mutual TLS and sends each an AppendEntries with a far higher
// term (which, accepted, would depose the leader) over plain TCP, over TLS
// with a self-signed certificate, and over TLS without a certificate; a
// peer with a certificate from the cluster CA is answered. The cluster's
// state, term and leader do not change.
func TestRaftTLSDropsIntruders(t *testing.T) {
	t.Parallel()
	_, src := tlsFiles(t, "cluster CA")
	nodes := startBoltCluster(t, 3, func(c *coordinator.Config) {
		c.RaftTLS = &coordinator.RaftTLS{Server: src.Server(true), Client: src.Client(), HandshakeTimeout: 500 * time.Millisecond}
	})
	leader := awaitLeader(t, nodes, 20*time.Second)
	if _, err := leader.Apply(context.Background(), &fsm.AddMount{Mount: fsm.Mount{Path: "/a", UFS: "file:///srv/a"}}); err != nil {
		t.Fatal(err)
	}
	waitApplied(t, nodes, leader.Raft().AppliedIndex())
	before := viewOf(nodes)

	_, rogue := tlsFiles(t, "rogue CA")
	noCert, err := tlsconfig.Load(tlsconfig.Files{})
	if err != nil {
		t.Fatal(err)
	}
	tlsDial := func(cfg *tls.Config) func(string, time.Duration) (net.Conn, error) {
		cfg.InsecureSkipVerify, cfg.VerifyConnection = true, nil // an intruder trusts anyone
		return func(addr string, timeout time.Duration) (net.Conn, error) {
			return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, cfg)
		}
	}
	intruders := []struct {
		name     string
		dial     func(string, time.Duration) (net.Conn, error)
		answered bool
	}{
		{"plain TCP", func(a string, d time.Duration) (net.Conn, error) { return net.DialTimeout("tcp", a, d) }, false},
		{"TLS, self-signed certificate", tlsDial(rogue.Client()), false},
		{"TLS, no client certificate", tlsDial(noCert.Client()), false},
		{"TLS, certificate of the cluster CA", tlsDial(src.Client()), true},
	}
	term, _ := strconv.ParseUint(before[0].term, 10, 64)
	for _, in := range intruders {
		for _, target := range nodes {
			trans := raft.NewNetworkTransportWithLogger(dialStream{in.dial}, 1, 2*time.Second, hclog.NewNullLogger())
			req := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder"), Addr: []byte("127.0.0.1:1")}, Term: term + 100, PrevLogEntry: 1 << 40}
			if in.answered {
				req.Term = 0 // a member of the cluster: a stale term, answered and ignored
			}
			var resp raft.AppendEntriesResponse
			addr := target.Config().RaftListener.Addr().String()
			err := trans.AppendEntries(raft.ServerID(target.Config().ID), raft.ServerAddress(addr), req, &resp)
			trans.Close()
			switch {
			case in.answered && (err != nil || resp.Success || resp.Term < term):
				t.Errorf("%s -> %s: want a refusal with the current term, got %+v, %v", in.name, addr, resp, err)
			case !in.answered && err == nil:
				t.Errorf("%s -> %s: answered %+v; want the connection dropped", in.name, addr, resp)
			}
		}
	}
	testSilentPeerIsCutOff(t, nodes[0].Config().RaftListener.Addr().String())
	if after := viewOf(nodes); !equalViews(before, after) {
		t.Fatalf("the cluster changed: before %+v, after %+v", before, after)
	}
}

// testSilentPeerIsCutOff: a connection that never completes a handshake is
// closed after the handshake timeout.
func testSilentPeerIsCutOff(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a silent peer was still connected after %s", time.Since(start))
	}
	if err != io.EOF && err == nil {
		t.Fatalf("a silent peer read data from the server")
	}
}

func equalViews(a, b []raftView) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func waitApplied(t *testing.T, nodes []*coordinator.Coordinator, index uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, co := range nodes {
		for co.Raft().AppliedIndex() < index {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not apply index %d", co.Config().ID, index)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
