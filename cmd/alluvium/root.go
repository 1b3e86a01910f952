package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "alluvium",
		Short:         "Alluvium: the control plane of a distributed data cache",
		Long:          rootHelp(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return flagsFromEnv(cmd.Flags())
		},
	}
	root.AddCommand(newCoordinatorCommand(), newWorkerCommand(), newDevCommand(), newVersionCommand())
	addClientCommands(root)
	root.SetFlagErrorFunc(flagError)
	return root
}

// rootHelp is the top of `alluvium --help`: what the binary is, the flags
// every cluster command takes, and the environment variables.
func rootHelp() string {
	fs := pflag.NewFlagSet("client", pflag.ContinueOnError)
	(&clientFlags{}).register(fs)
	fs.VisitAll(func(f *pflag.Flag) { f.Usage += " [" + envName(f.Name) + "]" })
	return `Alluvium: the control plane of a distributed data cache. One binary runs a
coordinator of the HA cluster, a cache worker, a whole local cluster on
loopback (dev), and the cluster commands over the REST API.

Flags of every cluster command (load, mount, status, ...), with the
environment variable each is read from:
` + fs.FlagUsages() + `
Environment: every flag of every command can be set as ALLUVIUM_<FLAG>,
upper case with "-" as "_" (--data-dir is ALLUVIUM_DATA_DIR, --auth-token
ALLUVIUM_AUTH_TOKEN); a flag on the command line wins. Run
"alluvium <command> --help" for a command's own flags.`
}

// negativeValue finds the argument pflag took for a cluster of shorthand
// flags: "unknown shorthand flag: '5' in -5GiB".
var negativeValue = regexp.MustCompile(`in (-[0-9.][^ ]*)$`)

// flagError explains a negative number taken for flags, which is how a
// negative size or duration reaches the command line.
func flagError(_ *cobra.Command, err error) error {
	if m := negativeValue.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s is not a valid value: sizes and durations are positive, e.g. 50GiB or 1h", m[1])
	}
	return err
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "alluvium", version) },
	}
}

// envName maps a flag to its environment variable: --data-dir is
// ALLUVIUM_DATA_DIR.
func envName(flag string) string {
	return "ALLUVIUM_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// flagsFromEnv sets every flag not given on the command line from its
// ALLUVIUM_* variable, so a container can be configured by environment.
func flagsFromEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment %s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// logFlags are the logging flags every server command takes.
type logFlags struct {
	level  string
	format string
}

func (l *logFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", l.level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch l.format {
	case "text":
		return slog.New(formatHandler{slog.NewTextHandler(w, opts)}), nil
	case "json":
		return slog.New(formatHandler{slog.NewJSONHandler(w, opts)}), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", l.format)
}

// formatHandler adapts what raft logs (through the coordinator's bridge
// from hclog) to the binary's logs:
//   - it formats the values raft leaves to be formatted
//     (hclog.Fmt("%+v", servers)), which a slog handler would print as the
//     format and its arguments: `servers="[%+v [...]]"`;
//   - it lowers the level of raft's transport reporting an inbound
//     connection that ended (a peer closed or reset its pooled connection,
//     or this node is shutting down): raft logs that at ERROR, but it is
//     how connections end, and raft dials again. A Ctrl-C of `alluvium dev`
//     logged it on most stops.
type formatHandler struct{ slog.Handler }

func (h formatHandler) Handle(ctx context.Context, r slog.Record) error {
	level := r.Level
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" && r.Message == "failed to decode incoming command" {
			level = min(level, connectionEndLevel(fmt.Sprint(a.Value.Any())))
		}
		return true
	})
	if level != r.Level && !h.Handler.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(r.Time, level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(formatAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

// connectionEndLevel is the level of raft's report of an inbound
// connection that ended with err: debug for this node's own shutdown, warn
// for a peer that went away, error (as raft says) for anything else.
func connectionEndLevel(err string) slog.Level {
	switch {
	case err == raft.ErrTransportShutdown.Error():
		return slog.LevelDebug
	case strings.Contains(err, "connection reset by peer"), strings.Contains(err, "use of closed network connection"),
		strings.Contains(err, "broken pipe"), strings.HasSuffix(err, "EOF"):
		return slog.LevelWarn
	}
	return slog.LevelError
}

func (h formatHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for i := range as {
		as[i] = formatAttr(as[i])
	}
	return formatHandler{h.Handler.WithAttrs(as)}
}

func (h formatHandler) WithGroup(name string) slog.Handler {
	return formatHandler{h.Handler.WithGroup(name)}
}

func formatAttr(a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindAny {
		return a
	}
	if f, ok := a.Value.Any().(hclog.Format); ok && len(f) > 0 {
		if format, ok := f[0].(string); ok {
			return slog.String(a.Key, fmt.Sprintf(format, f[1:]...))
		}
	}
	return a
}
