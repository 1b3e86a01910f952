package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"

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
	root.AddCommand(newCoordinatorCommand(), newWorkerCommand(), newDevCommand(), newFuseCommand(), newVersionCommand())
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
		// --validate is never taken from the environment: a variable left
		// in a container's spec must not turn every start into a check.
		if err != nil || f.Changed || f.Name == "validate" {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment %s=%q: %w", envName(f.Name), v, e)
				return
			}
			markFromEnv(f, envName(f.Name))
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
		return nil, bad("log-level", l.level, "want debug, info, warn or error")
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, bad("log-format", l.format, "want text or json")
}
