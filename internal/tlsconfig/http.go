package tlsconfig

import (
	"crypto/tls"
	"net/http"
)

// HTTPTransport is the transport of calls between nodes, and of clients of
// a TLS cluster: TLS with cfg, and every http:// URL upgraded to https://
// (the addresses nodes advertise are host:port, and a cluster on TLS
// serves nothing in plain text).
func HTTPTransport(cfg *tls.Config) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	t.MaxIdleConnsPerHost = 64
	return Upgrade{Base: t}
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
