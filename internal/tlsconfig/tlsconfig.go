package tlsconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// Files names the PEM files of a node: its certificate (chain), its key and
// the cluster CA that signs every node's and client's certificate.
type Files struct {
	Cert string
	Key  string
	CA   string
}

// Enabled reports whether any file is named.
func (f Files) Enabled() bool { return f.Cert != "" || f.Key != "" || f.CA != "" }

// Validate reports a half-given set: a certificate needs its key, and the
// other way round.
func (f Files) Validate() error {
	if (f.Cert == "") != (f.Key == "") {
		return errors.New("tls: --tls-cert and --tls-key go together")
	}
	return nil
}

// material is one loaded generation of the files.
type material struct {
	cert  *tls.Certificate // nil when no certificate is configured
	pool  *x509.CertPool   // nil when no CA is configured (system roots)
	stamp string           // the files' sizes and modification times
}

// Source holds the current certificate and CA pool, reloadable. The zero
// value is not usable; build one with Load.
type Source struct {
	files Files
	cur   atomic.Pointer[material]
}

// Load reads the files once. A Source with no CA verifies peers against
// the system roots; one with no certificate can only be a client.
func Load(f Files) (*Source, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	s := &Source{files: f}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Files returns the files the source reads.
func (s *Source) Files() Files { return s.files }

// Reload reads the files again and, if they load, makes them current for
// new handshakes; on error the previous generation stays.
func (s *Source) Reload() error {
	m := &material{stamp: stamp(s.files)}
	if s.files.Cert != "" {
		c, err := tls.LoadX509KeyPair(s.files.Cert, s.files.Key)
		if err != nil {
			return fmt.Errorf("tls: load certificate %s: %w", s.files.Cert, err)
		}
		m.cert = &c
	}
	if s.files.CA != "" {
		b, err := os.ReadFile(s.files.CA)
		if err != nil {
			return fmt.Errorf("tls: read CA: %w", err)
		}
		m.pool = x509.NewCertPool()
		if !m.pool.AppendCertsFromPEM(b) {
			return fmt.Errorf("tls: %s holds no PEM certificate", s.files.CA)
		}
	}
	s.cur.Store(m)
	return nil
}

// Changed reports whether the files differ (size or time) from the
// generation loaded last.
func (s *Source) Changed() bool { return stamp(s.files) != s.cur.Load().stamp }

// Watch reloads the files when they change, checking every interval until
// ctx ends; errors (a half-written file, say) go to onErr and the previous
// generation stays in use until a good one loads.
func (s *Source) Watch(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !s.Changed() {
			continue
		}
		if err := s.Reload(); err != nil && onErr != nil {
			onErr(err)
		}
	}
}

func stamp(f Files) string {
	var out string
	for _, p := range []string{f.Cert, f.Key, f.CA} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil {
			out += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
		} else {
			out += "missing;"
		}
	}
	return out
}

var errNoCert = errors.New("tls: no certificate configured (--tls-cert, --tls-key)")

// Server returns a server config. With clientAuth true, a client must
// present a certificate the CA signed (mutual TLS); otherwise one is
// verified when presented. The certificate and CA are read at every
// handshake, so a reload applies to the next connection.
func (s *Source) Server(clientAuth bool) *tls.Config {
	mode := tls.VerifyClientCertIfGiven
	if clientAuth {
		mode = tls.RequireAndVerifyClientCert
	}
	base := &tls.Config{MinVersion: tls.VersionTLS12}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		m := s.cur.Load()
		if m.cert == nil {
			return nil, errNoCert
		}
		return &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{*m.cert},
			ClientCAs:    m.pool,
			ClientAuth:   mode,
			NextProtos:   base.NextProtos,
		}, nil
	}
	return base
}

// Client returns a client config that verifies servers against the CA (the
// system roots without one) and presents the certificate, when there is
// one, to a server that asks. Both are read at every handshake: the chain
// is verified in VerifyConnection against the current CA, which is why the
// library's own verification (fixed roots) is switched off.
func (s *Source) Client() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified in VerifyConnection, against the current CA
		VerifyConnection:   s.verifyServer,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if c := s.cur.Load().cert; c != nil {
				return c, nil
			}
			return &tls.Certificate{}, nil // none: the server decides
		},
	}
}

// verifyServer checks the server's chain against the current CA and its
// name (or IP address) against the one dialled.
func (s *Source) verifyServer(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	opts := x509.VerifyOptions{
		Roots:         s.cur.Load().pool,
		DNSName:       cs.ServerName,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	return err
}
