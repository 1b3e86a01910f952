package tlsconfig_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/alluvium/alluvium/internal/tlsconfig"
)

func newCA(t *testing.T) *tlsconfig.CA {
	t.Helper()
	ca, err := tlsconfig.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func load(t *testing.T, ca *tlsconfig.CA, dir string) *tlsconfig.Source {
	t.Helper()
	f, err := ca.WriteFiles(dir, "node", tlsconfig.DevHosts, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tlsconfig.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// handshake runs a real TLS handshake on loopback between a server of
// server and a client of client; it returns the serial the server showed.
func handshake(t *testing.T, server, client *tls.Config) (string, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err != nil {
		return "", err
	}
	defer c.Close()
	// TLS 1.3: a refused client certificate shows at the first read.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

func TestHandshakes(t *testing.T) {
	ca, rogue := newCA(t), newCA(t)
	node, other := load(t, ca, t.TempDir()), load(t, rogue, t.TempDir())
	noCert, err := tlsconfig.Load(tlsconfig.Files{CA: node.Files().CA})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		server, client *tls.Config
		ok             bool
	}{
		{"mutual, same CA", node.Server(true), node.Client(), true},
		{"mutual, client of another CA", node.Server(true), otherTrusting(other, node), false},
		{"mutual, client without a certificate", node.Server(true), noCert.Client(), false},
		{"server only, client without a certificate", node.Server(false), noCert.Client(), true},
		{"client does not trust the server's CA", node.Server(false), other.Client(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := handshake(t, tc.server, tc.client)
			if (err == nil) != tc.ok {
				t.Fatalf("handshake: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// otherTrusting presents other's certificate but trusts node's CA, so
// that only the server's check of the client certificate can refuse it.
func otherTrusting(other, node *tlsconfig.Source) *tls.Config {
	c := node.Client()
	c.GetClientCertificate = other.Client().GetClientCertificate
	return c
}

func TestReloadServesTheNewCertificate(t *testing.T) {
	ca, dir := newCA(t), t.TempDir()
	src := load(t, ca, dir)
	server, client := src.Server(true), src.Client()
	first, err := handshake(t, server, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.WriteFiles(dir, "node", tlsconfig.DevHosts, time.Hour); err != nil {
		t.Fatal(err)
	}
	if !src.Changed() {
		t.Fatal("Changed is false after the files were rewritten")
	}
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	second, err := handshake(t, server, client)
	if err != nil || second == first {
		t.Fatalf("after a reload: serial %s (was %s), %v", second, first, err)
	}
	// A broken file keeps the certificate in force.
	if err := os.WriteFile(src.Files().Cert, []byte("not PEM"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := src.Reload(); err == nil {
		t.Fatal("a broken certificate file loaded")
	}
	if third, err := handshake(t, server, client); err != nil || third != second {
		t.Fatalf("after a failed reload: serial %s, want %s (%v)", third, second, err)
	}
}

func TestHTTPTransportUpgradesToHTTPS(t *testing.T) {
	ca := newCA(t)
	src := load(t, ca, t.TempDir())
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			t.Error("a plain-text request reached the server")
		}
		io.WriteString(w, "ok")
	}))
	srv.TLS = src.Server(false)
	srv.StartTLS()
	defer srv.Close()
	hc := &http.Client{Transport: tlsconfig.HTTPTransport(src.Client())}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	resp, err := hc.Get("http://127.0.0.1:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
	hc.CloseIdleConnections()
}

func TestFilesValidate(t *testing.T) {
	for _, tc := range []struct {
		f  tlsconfig.Files
		ok bool
	}{
		{tlsconfig.Files{}, true},
		{tlsconfig.Files{Cert: "c", Key: "k", CA: "a"}, true},
		{tlsconfig.Files{Cert: "c"}, false},
		{tlsconfig.Files{Key: "k", CA: "a"}, false},
	} {
		if err := tc.f.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.f, err)
		}
	}
}

// TestHTTPTransportChecksTheHostDialled: a server whose certificate (from
// the cluster CA) names other hosts is refused, whether it is dialled by IP
// address or by name; one that names the host dialled is accepted.
func TestHTTPTransportChecksTheHostDialled(t *testing.T) {
	ca := newCA(t)
	client := load(t, ca, t.TempDir()).Client()
	for _, tc := range []struct {
		name  string
		hosts []string
		dial  string
		ok    bool
	}{
		{"an IP address in the certificate", []string{"127.0.0.1"}, "127.0.0.1", true},
		{"another node's IP address", []string{"10.9.9.9"}, "127.0.0.1", false},
		{"a name in the certificate", []string{"localhost"}, "localhost", true},
		{"another node's name, dialled by IP", []string{"other.example"}, "127.0.0.1", false},
		{"another node's name", []string{"other.example"}, "localhost", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ca.WriteFiles(t.TempDir(), "server", tc.hosts, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			server, err := tlsconfig.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
			}))
			srv.TLS = server.Server(false)
			srv.StartTLS()
			defer srv.Close()
			hc := &http.Client{Transport: tlsconfig.HTTPTransport(client)}
			defer hc.CloseIdleConnections()
			_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
			resp, err := hc.Get("http://" + net.JoinHostPort(tc.dial, port) + "/")
			if err == nil {
				resp.Body.Close()
			}
			if (err == nil) != tc.ok {
				t.Fatalf("certificate for %v dialled as %s: err %v, want ok=%v", tc.hosts, tc.dial, err, tc.ok)
			}
		})
	}
}
