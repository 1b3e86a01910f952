package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	alluvium "github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/tlsconfig"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// defaultCoordinator is where the CLI looks for a cluster when told
// nothing: the first coordinator of `alluvium dev`.
const defaultCoordinator = "http://127.0.0.1:19999"

// clientGroup gathers the CLI verbs in the help.
const clientGroup = "client"

// clientFlags are the flags every CLI verb takes: where the cluster is, how
// to authenticate, how to print. Each is also read from ALLUVIUM_<FLAG>
// (root's PersistentPreRunE), e.g. ALLUVIUM_COORDINATOR.
type clientFlags struct {
	coordinators []string
	authToken    string
	output       string
	timeout      time.Duration
	tls          tlsconfig.Files
}

func (cf *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringSliceVar(&cf.coordinators, "coordinator", []string{defaultCoordinator},
		"coordinator URLs, comma-separated; the next is tried when one is down")
	fs.StringVar(&cf.authToken, "auth-token", "", "bearer token of the cluster's API")
	fs.StringVarP(&cf.output, "output", "o", "text", "output format: text or json (the API's answer)")
	fs.StringVar(&cf.tls.CA, "tls-ca", "", "PEM certificate of the cluster's CA: talk to a cluster on TLS (http:// URLs are upgraded to https://)")
	fs.StringVar(&cf.tls.Cert, "tls-cert", "", "PEM client certificate, when the cluster asks for one")
	fs.StringVar(&cf.tls.Key, "tls-key", "", "PEM private key of --tls-cert")
	fs.DurationVar(&cf.timeout, "timeout", 60*time.Second, "give up on the command after this long")
}

// addClientCommands adds the CLI verbs over the REST API.
func addClientCommands(root *cobra.Command) {
	cf := &clientFlags{}
	root.AddGroup(&cobra.Group{ID: clientGroup, Title: "Cluster commands (over the REST API):"})
	for _, cmd := range []*cobra.Command{
		newLoadCommand(cf), newFreeCommand(cf), newRebalanceCommand(cf), newJobCommand(cf),
		newMountCommand(cf), newQuotaCommand(cf), newTTLCommand(cf), newPriorityCommand(cf),
		newCacheFilterCommand(cf), newCacheCommand(cf), newNodesCommand(cf), newFileIndexCommand(cf),
		newCoordinatorsCommand(cf), newHealthCommand(cf), newCatCommand(cf), newLsCommand(cf),
		newStatusCommand(cf), newSnapshotCommand(cf),
	} {
		cmd.GroupID = clientGroup
		cf.register(cmd.PersistentFlags())
		root.AddCommand(cmd)
	}
}

// session is what a verb works with: a client, a bounded context and where
// and how to print.
type session struct {
	ctx  context.Context
	c    *alluvium.Client
	out  io.Writer
	json bool
}

// show prints v as indented JSON with --output json, or calls text.
func (s *session) show(v any, text func(w io.Writer)) error {
	if s.json {
		return printJSON(s.out, v)
	}
	text(s.out)
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newClient builds a client of the --coordinator URLs.
func (cf *clientFlags) newClient(urls []string, opts ...alluvium.Option) (*alluvium.Client, error) {
	if cf.authToken != "" {
		opts = append(opts, alluvium.WithToken(cf.authToken))
	}
	if cf.tls.Enabled() {
		src, err := tlsconfig.Load(cf.tls)
		if err != nil {
			return nil, err
		}
		opts = append(opts, alluvium.WithTLS(src.Client()))
	}
	return alluvium.New(urls, opts...)
}

// action adapts a verb's work to cobra: it checks --output, builds the
// client and bounds the command by --timeout.
func (cf *clientFlags) action(fn func(s *session, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if cf.output != "text" && cf.output != "json" {
			return fmt.Errorf("--output %q: want text or json", cf.output)
		}
		c, err := cf.newClient(cf.coordinators)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), cf.timeout)
		defer cancel()
		return fn(&session{ctx: ctx, c: c, out: cmd.OutOrStdout(), json: cf.output == "json"}, args)
	}
}

// group is a command that only holds subcommands. It runs (to show its
// help) only so that a misspelt subcommand is an error, not the help.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(subs...)
	return cmd
}

// argsBetween accepts from least to most arguments (most < 0: any number)
// and answers others with the usage line, which names them.
func argsBetween(least, most int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < least || (most >= 0 && len(args) > most) {
			return fmt.Errorf("usage: %s", cmd.UseLine())
		}
		return nil
	}
}

func argsExactly(n int) cobra.PositionalArgs { return argsBetween(n, n) }
