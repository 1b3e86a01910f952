// Package tlsconfig is the TLS plumbing every Alluvium listener and client
// shares: it loads a certificate, its key and the cluster CA from PEM files,
// reloads them when the files change (or when asked, on SIGHUP) without
// restarting a listener, builds server and client tls.Configs that read the
// current files on every handshake, and issues a throwaway CA and
// certificates for `alluvium dev --tls` and for tests.
//
// A Source never logs or returns key material.
package tlsconfig
