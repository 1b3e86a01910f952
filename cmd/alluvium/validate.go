package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/internal/tlsconfig"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// validateHelp is the paragraph of a server command's --help on --validate.
const validateHelp = `
With --validate, the flags and ALLUVIUM_* variables are parsed and checked
as a start would check them (addresses, sizes, durations, peer lists,
feature names, TLS and mutually exclusive flags; a --mount-table,
--auth-tokens or --s3-credentials file given is read and parsed; TLS
certificates are not read), the effective configuration is printed as one
JSON object, and the command exits 0; or it exits 1 naming the bad flag, or
the variable it came from. Nothing is created, bound or dialled.`

// validateUsage is the help of the --validate flag.
const validateUsage = "check the flags and ALLUVIUM_* environment, print the effective configuration as JSON and exit, without starting"

// envAnnotation marks a flag whose value flagsFromEnv took from the
// environment, so that an error names the variable the user set.
const envAnnotation = "alluvium-from-env"

// markFromEnv records that f's value came from the environment variable env.
func markFromEnv(f *pflag.Flag, env string) {
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[envAnnotation] = []string{env}
}

// badFlag is a bad value of one flag. Its message names the flag, or the
// ALLUVIUM_* variable when the value came from there (see explain), so that
// the user knows which of the two to fix. It is never wrapped, so that
// explain can find and rename it.
type badFlag struct {
	flag   string
	value  string
	reason string
	env    string // set by explain when the value came from the environment
	secret bool   // do not repeat the value
}

func (e *badFlag) Error() string {
	v := strconv.Quote(e.value)
	if e.secret {
		v = "(redacted)"
	}
	if e.env != "" {
		return fmt.Sprintf("%s=%s: %s", e.env, v, e.reason)
	}
	return fmt.Sprintf("--%s %s: %s", e.flag, v, e.reason)
}

// bad is a badFlag of flag with value.
func bad(flag, value, format string, args ...any) error {
	return &badFlag{flag: flag, value: value, reason: fmt.Sprintf(format, args...)}
}

// explain names the environment variable in a badFlag whose value came
// from the environment.
func explain(fs *pflag.FlagSet, err error) error {
	var bf *badFlag
	if errors.As(err, &bf) {
		if f := fs.Lookup(bf.flag); f != nil && len(f.Annotations[envAnnotation]) > 0 {
			bf.env = f.Annotations[envAnnotation][0]
		}
	}
	return err
}

// serve gives a server command --validate and its RunE: build parses and
// checks every flag and argument with no side effect (it is the same for a
// start and for --validate, so a config that validates starts), then either
// the effective configuration is printed or run starts the server.
func serve[P any](cmd *cobra.Command, build func(*cobra.Command, []string) (P, error), run func(*cobra.Command, P) error) {
	var validate bool
	cmd.Flags().BoolVar(&validate, "validate", false, validateUsage)
	cmd.Long += "\n" + validateHelp
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		plan, err := build(cmd, args)
		if err != nil {
			return explain(cmd.Flags(), err)
		}
		if validate {
			return printEffective(cmd)
		}
		return run(cmd, plan)
	}
}

// secretFlags are the flags whose values are secrets: --validate shows
// them as REDACTED when set.
var secretFlags = map[string]bool{"auth-token": true}

// effectiveConfig is every flag of cmd (but --help and --validate) with its
// effective value, typed: booleans and numbers as JSON's, lists as arrays,
// durations and sizes as the strings a flag takes.
func effectiveConfig(cmd *cobra.Command) map[string]any {
	out := map[string]any{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || f.Name == "validate" {
			return
		}
		out[f.Name] = flagValue(f)
	})
	return out
}

// flagValue is f's value as JSON: typed by the flag's type.
func flagValue(f *pflag.Flag) any {
	s := f.Value.String()
	if secretFlags[f.Name] {
		if s == "" {
			return ""
		}
		return "REDACTED"
	}
	switch f.Value.Type() {
	case "bool":
		return s == "true"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return json.Number(s)
	}
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		l := sv.GetSlice()
		if l == nil {
			l = []string{}
		}
		return l
	}
	return s
}

// printEffective prints {"command": ..., "config": {...}} to stdout.
func printEffective(cmd *cobra.Command) error {
	cfg := effectiveConfig(cmd)
	return printJSON(cmd.OutOrStdout(), struct {
		Command string         `json:"command"`
		Config  map[string]any `json:"config"`
	}{cmd.Name(), cfg})
}

// checkBind checks a listen address flag.
func checkBind(flag, v string) error {
	if err := coordinator.CheckBindAddress(v); err != nil {
		return bad(flag, v, "%v", err)
	}
	return nil
}

// checkAdvertise checks an address others dial (empty: not given).
func checkAdvertise(flag, v string) error {
	if v == "" {
		return nil
	}
	if err := coordinator.CheckDialAddress(v); err != nil {
		return bad(flag, v, "%v", err)
	}
	return nil
}

// checkReachable refuses a listen address on every interface when no
// address to advertise is given: others dial what a node advertises, and
// 0.0.0.0 (or an empty host) is no address to dial.
func checkReachable(bindFlag, bind, advertiseFlag, advertise string) error {
	if advertise != "" {
		return nil
	}
	if host, _, _ := net.SplitHostPort(bind); host == "" || net.ParseIP(host).IsUnspecified() {
		return bad(bindFlag, bind, "listens on every interface: give --%s, the address others dial", advertiseFlag)
	}
	return nil
}

// checkURL checks an http(s)://host[:port] URL.
func checkURL(flag, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad(flag, v, "not an http:// or https:// URL with a host")
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if err := coordinator.CheckDialAddress(u.Hostname() + ":" + port); err != nil {
		return bad(flag, v, "%v", err)
	}
	return nil
}

// checkPositive checks a duration flag that must be positive.
func checkPositive(flag string, d time.Duration) error {
	if d <= 0 {
		return bad(flag, d.String(), "must be positive")
	}
	return nil
}

// checkTLSFiles checks that TLS flags that go together are given together:
// a certificate and its key; on a server, a certificate and the CA that
// verifies its peers.
func checkTLSFiles(f tlsconfig.Files, server bool) error {
	switch {
	case f.Cert != "" && f.Key == "":
		return bad("tls-cert", f.Cert, "needs --tls-key")
	case f.Key != "" && f.Cert == "":
		return bad("tls-key", f.Key, "needs --tls-cert")
	case server && f.Cert != "" && f.CA == "":
		return bad("tls-cert", f.Cert, "needs --tls-ca: peers and workers are verified against the cluster CA")
	case server && f.CA != "" && f.Cert == "":
		return bad("tls-ca", f.CA, "needs --tls-cert and --tls-key on a server")
	}
	return nil
}
