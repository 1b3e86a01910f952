package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alluvium/alluvium/s3api"
	"github.com/spf13/pflag"
)

// s3Flags are the S3 API's flags, shared by the worker and dev commands.
type s3Flags struct {
	credentials string
	redirect    bool
	domains     []string

	creds *s3api.Credentials // loaded by check
}

func (f *s3Flags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.credentials, "s3-credentials", "", "file of S3 access keys, one \"ACCESS_KEY SECRET_KEY\" pair a line, reloaded on SIGHUP (none: anonymous reads)")
	fs.BoolVar(&f.redirect, "s3-redirect", false, "answer S3 reads of keys another worker owns with 307 to the owner's data API instead of fetching them from it")
	fs.StringSliceVar(&f.domains, "s3-domain", nil, "domains of virtual-host-style S3 addressing (bucket.<domain>), comma-separated")
}

// check reads the credentials file, once, so that a bad file stops a
// start (and --validate) before anything else happens.
func (f *s3Flags) check() error {
	if f.creds != nil || f.credentials == "" {
		return nil
	}
	creds, err := s3api.LoadCredentials(f.credentials)
	if err != nil {
		return bad("s3-credentials", f.credentials, "%v", err)
	}
	f.creds = creds
	return nil
}

// config loads the credentials (and reloads them on SIGHUP from then on).
func (f *s3Flags) config(log *slog.Logger) (s3api.Config, error) {
	cfg := s3api.Config{Redirect: f.redirect, Domains: f.domains, Logger: log}
	if err := f.check(); err != nil || f.creds == nil {
		return cfg, err
	}
	cfg.Credentials = f.creds
	reloadOnSIGHUP(f.creds, log)
	return cfg, nil
}

// reloadOnSIGHUP reads the credentials file again at each SIGHUP, for the
// life of the process; a file that fails to parse keeps the keys in force.
func reloadOnSIGHUP(creds *s3api.Credentials, log *slog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		for range ch {
			if err := creds.Reload(); err != nil {
				log.Error("S3 credentials not reloaded; the keys in force stay", "err", err)
				continue
			}
			log.Info("S3 credentials reloaded", "access_keys", creds.Len())
		}
	}()
}
