package main

import (
	"log/slog"
	"net/http"

	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/audit"
	"github.com/alluvium/alluvium/internal/auth"
	"github.com/alluvium/alluvium/worker"
	"github.com/spf13/pflag"
)

// allowedUFSUsage is the help of --allowed-ufs.
const allowedUFSUsage = "UFS locations mounts may name, comma-separated: folders (/srv/data), s3://bucket[/prefix] (AWS), https://endpoint:port/bucket[/prefix]; others are refused with 403 (default: any)"

// authFlags are the scoped tokens and the audit log of a server command.
type authFlags struct {
	tokensFile string
	auditLog   string

	tokens   *auth.Tokens // loaded by check
	watching bool         // SIGHUP reloads tokens
	audit    *audit.Log
}

func (a *authFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&a.tokensFile, "auth-tokens", "", `file of scoped tokens, one "TOKEN ROLE [NAME]" a line, roles admin, read and worker (reloaded on SIGHUP); --auth-token stays an admin token`)
	fs.StringVar(&a.auditLog, "audit-log", "", "append one JSON line per write accepted or refused and per authentication failure to this file (- for stderr)")
}

// check reads the token file, once, so that a bad line or role stops a
// start (and --validate) before anything else happens.
func (a *authFlags) check(adminToken string) error {
	if a.tokens != nil || a.tokensFile == "" {
		return nil
	}
	t, err := auth.Load(a.tokensFile, adminToken)
	if err != nil {
		return bad("auth-tokens", a.tokensFile, "%v", err)
	}
	a.tokens = t
	return nil
}

// load reads the token file and opens the audit log, once; from then on
// SIGHUP reloads the tokens. Without --auth-tokens, tokens stay nil (the
// single --auth-token, if any, is checked as before).
func (a *authFlags) load(adminToken string, log *slog.Logger) error {
	if err := a.check(adminToken); err != nil {
		return err
	}
	if t := a.tokens; t != nil && !a.watching {
		a.watching = true
		onSIGHUP(func() {
			if err := t.Reload(); err != nil {
				log.Error("auth tokens not reloaded; the tokens in force stay", "err", err)
				return
			}
			log.Info("auth tokens reloaded", "tokens", t.Len())
		})
	}
	if a.audit == nil && a.auditLog != "" {
		l, err := audit.Open(a.auditLog, func(err error) { log.Error("audit log write failed", "err", err) })
		if err != nil {
			return err
		}
		a.audit = l
	}
	return nil
}

// apiOptions sets the API's authorization and audit hooks.
func (a *authFlags) apiOptions(o *httpapi.Options, adminToken string, log *slog.Logger) error {
	if err := a.load(adminToken, log); err != nil {
		return err
	}
	if t := a.tokens; t != nil {
		o.Authorize = func(r *http.Request, method, route string) httpapi.Access {
			caller, status, reason := t.Decide(r, method, route)
			return httpapi.Access{Caller: caller, Status: status, Reason: reason}
		}
	}
	if a.audit != nil {
		o.Audit = a.audit.Record
	}
	return nil
}

// workerConfig sets a worker's authorization and audit hooks.
func (a *authFlags) workerConfig(cfg *worker.Config, adminToken string, log *slog.Logger) error {
	if err := a.load(adminToken, log); err != nil {
		return err
	}
	if a.tokens != nil {
		cfg.Authorize = a.tokens.Decide
	}
	if a.audit != nil {
		cfg.Audit = a.audit.Record
	}
	return nil
}
