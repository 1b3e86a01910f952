package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/internal/node"
	"github.com/spf13/cobra"
)

// devRaftPortOffset places the dev cluster's raft ports after its API ports.
const devRaftPortOffset = 100

func newDevCommand() *cobra.Command {
	var (
		sf           serverFlags
		dataDir      string
		coordinators int
		port         int
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a whole local cluster in one process",
		Long: `Run a whole Alluvium cluster on loopback in one process: --coordinators
coordinators with their APIs on --port, --port+1, ... and their raft
transports on --port+100, ... Without --data-dir the cluster's state lives in
a temporary directory removed at exit; with one, a restart keeps it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if coordinators < 1 || coordinators > 7 {
				return fmt.Errorf("--coordinators %d: want 1 to 7", coordinators)
			}
			if port < 1 || port+devRaftPortOffset+coordinators > 65535 {
				return fmt.Errorf("--port %d is out of range", port)
			}
			log, err := sf.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			apiOpts, err := sf.apiOptions()
			if err != nil {
				return err
			}
			apiOpts.Logger = log
			if dataDir == "" {
				tmp, err := os.MkdirTemp("", "alluvium-dev-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dataDir = tmp
			}
			var peers []coordinator.Peer
			for i := range coordinators {
				peers = append(peers, coordinator.Peer{ID: devID(i), Address: devAddr(port + devRaftPortOffset + i)})
			}
			var nodes []*node.Node
			defer func() {
				for _, n := range nodes {
					_ = n.Close()
				}
			}()
			for i := range coordinators {
				cfg, err := sf.coordinatorConfig()
				if err != nil {
					return err
				}
				cfg.ID = devID(i)
				cfg.DataDir = filepath.Join(dataDir, cfg.ID)
				cfg.RaftBind = devAddr(port + devRaftPortOffset + i)
				cfg.HTTPAddress = devAddr(port + i)
				cfg.Bootstrap = peers
				cfg.Logger = log.With("node", cfg.ID)
				n, err := node.Start(node.Config{Coordinator: cfg, API: apiOpts, HTTPBind: cfg.HTTPAddress})
				if err != nil {
					return err
				}
				nodes = append(nodes, n)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			leader, err := nodes[0].Coordinator.WaitLeader(ctx)
			cancel()
			if err != nil {
				return fmt.Errorf("the dev cluster elected no leader: %w", err)
			}
			printDevBanner(cmd.OutOrStdout(), nodes, leader.ID, dataDir)
			waitForSignal()
			fmt.Fprintln(cmd.OutOrStdout(), "shutting down")
			var errs []error
			for _, n := range nodes {
				errs = append(errs, n.Close())
			}
			nodes = nil
			return errors.Join(errs...)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&dataDir, "data-dir", "", "directory for the cluster's state (default: a temporary one)")
	fs.IntVar(&coordinators, "coordinators", 3, "number of coordinators")
	fs.IntVar(&port, "port", 19999, "API port of the first coordinator")
	sf.register(fs)
	_ = fs.Set("log-level", "error")
	fs.Lookup("log-level").DefValue = "error"
	return cmd
}

func devID(i int) string      { return "c" + strconv.Itoa(i+1) }
func devAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func printDevBanner(w io.Writer, nodes []*node.Node, leader, dataDir string) {
	fmt.Fprintf(w, "Alluvium dev cluster is up (state in %s)\n", dataDir)
	for _, n := range nodes {
		mark := ""
		if n.Coordinator.ID() == leader {
			mark = "  (leader)"
		}
		fmt.Fprintf(w, "  coordinator %-3s %s%s\n", n.Coordinator.ID(), n.URL, mark)
	}
	fmt.Fprintf(w, "Try:\n  curl %s/api/v1/coordinators\n", nodes[0].URL)
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}
