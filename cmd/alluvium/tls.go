package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/tlsconfig"
	"github.com/alluvium/alluvium/worker"
	"github.com/spf13/pflag"
)

// tlsWatchInterval is how often the certificate files are checked for a
// change (a SIGHUP reloads them at once).
const tlsWatchInterval = 2 * time.Second

// tlsFlags are the TLS flags of the server commands: the node's
// certificate and key, and the cluster CA.
type tlsFlags struct {
	files  tlsconfig.Files
	raftCA string            // --raft-tls-ca: the CA of Raft peers alone
	src    *tlsconfig.Source // loaded by load
}

func (t *tlsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&t.files.Cert, "tls-cert", "", "PEM certificate of this node: TLS on every listener, mutual TLS between coordinators (reloaded when the file changes or on SIGHUP)")
	fs.StringVar(&t.files.Key, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&t.files.CA, "tls-ca", "", "PEM certificate of the cluster CA: verifies peers, workers and servers")
}

// registerRaft adds the coordinator's own flag: a separate CA for Raft.
func (t *tlsFlags) registerRaft(fs *pflag.FlagSet) {
	fs.StringVar(&t.raftCA, "raft-tls-ca", "", "PEM CA that Raft peers' certificates must chain to (default --tls-ca): sign coordinators' certificates with it and workers' with another, so that a worker's key is no Raft peer")
}

// load reads the files once (nil without --tls-cert), and from then on
// reloads them when they change or on SIGHUP, for the life of the process.
func (t *tlsFlags) load(log *slog.Logger) (*tlsconfig.Source, error) {
	if t.src != nil || t.files.Cert == "" && t.files.Key == "" {
		if t.src == nil && t.files.CA != "" {
			return nil, fmt.Errorf("--tls-ca needs --tls-cert and --tls-key on a server")
		}
		return t.src, nil
	}
	if t.files.CA == "" {
		return nil, fmt.Errorf("--tls-cert needs --tls-ca: peers and workers are verified against the cluster CA")
	}
	src, err := t.reloading(t.files, log)
	if err != nil {
		return nil, err
	}
	t.src = src
	return src, nil
}

// reloading loads f and reloads it when the files change or on SIGHUP,
// for the life of the process.
func (t *tlsFlags) reloading(f tlsconfig.Files, log *slog.Logger) (*tlsconfig.Source, error) {
	src, err := tlsconfig.Load(f)
	if err != nil {
		return nil, err
	}
	onError := func(err error) { log.Error("TLS files not reloaded; the certificate in force stays", "err", err) }
	go src.Watch(context.Background(), tlsWatchInterval, onError)
	onSIGHUP(func() {
		if err := src.Reload(); err != nil {
			onError(err)
			return
		}
		log.Info("TLS certificate and CA reloaded", "ca", f.CA)
	})
	return src, nil
}

// coordinatorTLS sets a coordinator's TLS: mutual TLS on Raft, its calls
// to other nodes and its forwarding to the leader; it returns the API's
// server config (nil without TLS).
func (t *tlsFlags) coordinatorTLS(log *slog.Logger, cfg *coordinator.Config, opts *httpapi.Options) (*tls.Config, error) {
	src, err := t.load(log)
	if err != nil || src == nil {
		return nil, err
	}
	raft := src
	if t.raftCA != "" {
		f := t.files
		f.CA = t.raftCA
		if raft, err = t.reloading(f, log); err != nil {
			return nil, err
		}
	}
	cfg.RaftTLS = &coordinator.RaftTLS{Server: raft.Server(true), Client: raft.Client()}
	cfg.HTTPClientTLS = src.Client()
	opts.ForwardTransport = tlsconfig.HTTPTransport(src.Client())
	return src.Server(false), nil
}

// workerTLS is a worker's TLS (nil without TLS).
func (t *tlsFlags) workerTLS(log *slog.Logger) (*worker.TLS, error) {
	src, err := t.load(log)
	if err != nil || src == nil {
		return nil, err
	}
	return &worker.TLS{Server: src.Server(false), Client: src.Client()}, nil
}

// devTLS makes a throwaway CA and a loopback certificate in dir/tls (kept
// when present, so a restarted dev cluster keeps trusting itself) and
// points the flags at them.
func (t *tlsFlags) devTLS(dir string) error {
	tdir := filepath.Join(dir, "tls")
	f := tlsconfig.Files{Cert: filepath.Join(tdir, "node.pem"), Key: filepath.Join(tdir, "node-key.pem"), CA: filepath.Join(tdir, "ca.pem")}
	if _, err := os.Stat(f.Key); err != nil {
		if f, err = tlsconfig.GenerateDev(tdir); err != nil {
			return fmt.Errorf("--tls: %w", err)
		}
	}
	t.files = f
	return nil
}

// onSIGHUP calls fn at each SIGHUP for the life of the process.
func onSIGHUP(fn func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		for range ch {
			fn()
		}
	}()
}
