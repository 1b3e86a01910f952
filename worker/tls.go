package worker

import (
	"crypto/tls"
	"net/http"

	"github.com/alluvium/alluvium/internal/tlsconfig"
)

// TLS is a worker's TLS: Server is served by whatever listens for the
// worker (internal/workernode: the data, task and S3 APIs); Client
// verifies the coordinators and other workers it calls. With Client set,
// the worker's calls and the redirects it answers use https.
type TLS struct {
	Server *tls.Config
	Client *tls.Config
}

// scheme is the scheme of the URLs the worker builds for other nodes.
func (w *Worker) scheme() string {
	if w.cfg.TLS != nil && w.cfg.TLS.Client != nil {
		return "https"
	}
	return "http"
}

// newPeerHTTPClient is the client of the worker's calls to other workers.
func newPeerHTTPClient(t *TLS) *http.Client {
	if t == nil || t.Client == nil {
		return &http.Client{}
	}
	return &http.Client{Transport: tlsconfig.HTTPTransport(t.Client)}
}
