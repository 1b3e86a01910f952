package tlsconfig

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"
)

// HTTPTransport is the transport of calls between nodes, and of clients of
// a TLS cluster: TLS with cfg, and every http:// URL upgraded to https://
// (the addresses nodes advertise are host:port, and a cluster on TLS
// serves nothing in plain text).
func HTTPTransport(cfg *tls.Config) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	SetClientTLS(t, cfg)
	t.MaxIdleConnsPerHost = 64
	return Upgrade{Base: t}
}

// SetClientTLS makes t dial TLS with cfg, checking that the server's
// certificate names the host dialled, an IP address as much as a DNS name.
// A config from Source.Client verifies in VerifyConnection, which sees only
// the name sent in SNI: none for an IP address, so a certificate of any
// other node of the CA would pass for it. The dialer knows the host, and
// checks it after cfg's own verification. (Through an HTTP proxy, the
// transport does the handshake itself, with cfg alone.)
func SetClientTLS(t *http.Transport, cfg *tls.Config) {
	t.TLSClientConfig = cfg
	if cfg == nil || (cfg.InsecureSkipVerify && cfg.VerifyConnection == nil) {
		t.DialTLSContext = nil // nothing is verified: nothing to add
		return
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	handshakeTimeout := t.TLSHandshakeTimeout
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn := tls.Client(raw, forHost(cfg, host))
		if handshakeTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, handshakeTimeout)
			defer cancel()
		}
		if err := conn.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		return conn, nil
	}
}

// forHost returns a copy of cfg for one connection to host whose
// verification also checks that the certificate names host.
func forHost(cfg *tls.Config, host string) *tls.Config {
	c := cfg.Clone()
	if c.ServerName == "" {
		c.ServerName = host
	}
	name, verify := c.ServerName, c.VerifyConnection
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if verify != nil {
			if err := verify(cs); err != nil {
				return err
			}
		}
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: the server sent no certificate")
		}
		return cs.PeerCertificates[0].VerifyHostname(name)
	}
	return c
}

// Upgrade sends http:// requests as https:// through Base; it never
// downgrades.
type Upgrade struct{ Base http.RoundTripper }

var _ http.RoundTripper = Upgrade{}

// RoundTrip sends r over TLS.
func (u Upgrade) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" {
		r2 := r.Clone(r.Context())
		r2.URL.Scheme = "https"
		return u.Base.RoundTrip(r2)
	}
	return u.Base.RoundTrip(r)
}

// CloseIdleConnections closes Base's idle connections.
func (u Upgrade) CloseIdleConnections() {
	if c, ok := u.Base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Scheme is "https" when cfg is set, "http" otherwise.
func Scheme(cfg *tls.Config) string {
	if cfg != nil {
		return "https"
	}
	return "http"
}
