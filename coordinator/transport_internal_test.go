package coordinator

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/internal/tlsconfig"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// A Raft peer over TLS must present a certificate naming the host it was
// dialled at, as written in the Raft configuration: a DNS name or an IP
// address. A certificate of the right CA for another name is refused.
func TestTLSStreamChecksTheNameDialled(t *testing.T) {
	ca, err := tlsconfig.NewCA("cluster CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	source := func(hosts ...string) *tlsconfig.Source {
		f, err := ca.WriteFiles(t.TempDir(), "node", hosts, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		src, err := tlsconfig.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	dialer := source("localhost", "127.0.0.1")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name    string
		hosts   []string // of the server's certificate
		dial    string   // host dialled
		wantErr string
	}{
		{"name in the certificate", []string{"localhost"}, "localhost", ""},
		{"IP in the certificate", []string{"127.0.0.1"}, "127.0.0.1", ""},
		{"name not in the certificate", []string{"c2.alluvium.internal", "127.0.0.1"}, "localhost", "localhost"},
		{"IP not in the certificate", []string{"localhost"}, "127.0.0.1", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := source(tc.hosts...)
			server := newTLSStream(ln, nil, RaftTLS{Server: srv.Server(true), Client: srv.Client()}, log)
			defer server.Close()
			go func() {
				for {
					c, err := server.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			client := newTLSStream(mustListen(t), nil, RaftTLS{Server: dialer.Server(true), Client: dialer.Client()}, log)
			defer client.Close()
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			conn, err := client.Dial(raft.ServerAddress(net.JoinHostPort(tc.dial, port)), 5*time.Second)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("dial refused: %v", err)
				}
				conn.Close()
				return
			}
			if err == nil {
				conn.Close()
				t.Fatal("dial accepted a certificate that does not name the host dialled")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
			}
		})
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// The advertised address keeps a DNS name as written; an IP bind leaves
// it to the listener (which knows the port a :0 bind got).
func TestAdvertiseAddrKeepsNames(t *testing.T) {
	for _, tc := range []struct {
		bind, advertise, want string
	}{
		{"127.0.0.1:7001", "c1.alluvium-coordinator.ns.svc:7001", "c1.alluvium-coordinator.ns.svc:7001"},
		{"localhost:7001", "", "localhost:7001"},
		{"127.0.0.1:7001", "", ""},
		{"0.0.0.0:7001", "10.0.0.1:7001", "10.0.0.1:7001"},
	} {
		c := Config{RaftBind: tc.bind, RaftAdvertise: tc.advertise}
		got := ""
		if a := c.advertiseAddr(); a != nil {
			got = a.String()
		}
		if got != tc.want {
			t.Errorf("bind %s advertise %q: advertised %q, want %q", tc.bind, tc.advertise, got, tc.want)
		}
	}
}

// Peer lists: names allowed (unresolved), bad ports, hosts and duplicate
// ids refused with the peer named.
func TestParsePeers(t *testing.T) {
	for _, tc := range []struct {
		in, wantErr string
		n           int
	}{
		{"c1=127.0.0.1:7001,c2=localhost:7002", "", 2},
		{"c1=alluvium-coordinator-0.alluvium-coordinator.default.svc:7001", "", 1},
		{"c1=no-such-host.invalid:7001", "", 1},
		{"c1=[::1]:7001", "", 1},
		{"c1=localhost", "c1=localhost", 0},
		{"c1=localhost:0", "port", 0},
		{"c1=localhost:65536", "port", 0},
		{"c1=0.0.0.0:7001", "dial", 0},
		{"c1=:7001", "no host", 0},
		{"c1=bad_-.:7001", "not an IP address or a DNS name", 0},
		{"c1=-bad:7001", "not an IP address or a DNS name", 0},
		{"c1=a:1,c1=b:2", "twice", 0},
		{"c1", "id=host:port", 0},
	} {
		peers, err := ParsePeers(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(peers) != tc.n {
			t.Errorf("%q: %v, %v", tc.in, peers, err)
		}
	}
}

// A coordinator whose advertised name does not resolve yet (a pod's own
// DNS record is published after it starts) still builds its transport on
// every interface, advertising the name as written: raft.NewTCPTransport
// resolved it at start and, failing, refused the unspecified bind address.
func TestTransportAdvertisesAnUnresolvedName(t *testing.T) {
	_, src := func() (*tlsconfig.CA, *tlsconfig.Source) {
		ca, err := tlsconfig.NewCA("cluster CA", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ca.WriteFiles(t.TempDir(), "node", []string{"localhost"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		src, err := tlsconfig.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		return ca, src
	}()
	const name = "alluvium-coordinator-0.alluvium-coordinator.ns.svc.invalid:7001"
	for _, tc := range []struct {
		name string
		tls  *RaftTLS
	}{{"tcp", nil}, {"tls", &RaftTLS{Server: src.Server(true), Client: src.Client()}}} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Coordinator{cfg: Config{RaftBind: "0.0.0.0:0", RaftAdvertise: name, RaftTLS: tc.tls}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			trans, err := c.raftTransport(hclog.NewNullLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer trans.Close()
			if got := string(trans.LocalAddr()); got != name {
				t.Fatalf("advertised %q, want %q", got, name)
			}
		})
	}
	// Without an advertised address, every interface is refused: it is no
	// address to dial.
	c := &Coordinator{cfg: Config{RaftBind: "0.0.0.0:0"}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if trans, err := c.raftTransport(hclog.NewNullLogger()); err == nil {
		trans.Close()
		t.Fatal("a transport on 0.0.0.0 without an advertised address was built")
	}
}
