package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/node"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/hashicorp/raft"
	"github.com/spf13/cobra"
)

// devRaftPortOffset places the dev cluster's raft ports after its API ports.
const devRaftPortOffset = 100

// SampleMount is where dev mode mounts its sample folder.
const SampleMount = "/sample"

func newDevCommand() *cobra.Command {
	var (
		sf           serverFlags
		wf           workerFlags
		dataDir      string
		coordinators int
		workers      int
		port         int
		noSample     bool
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a whole local cluster in one process",
		Long: `Run a whole Alluvium cluster on loopback in one process: --coordinators
coordinators with their APIs on --port, --port+1, ... (raft on --port+100,
...), and --workers workers on the ports after the coordinators'. The first
coordinator starts the cluster and leads it; the others join it. A folder
of sample files is created and mounted at /sample. Without --data-dir the
cluster lives in a temporary directory removed at exit; with one, a restart
keeps its state and caches.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkDevFlags(coordinators, workers, port); err != nil {
				return err
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
			c := &devCluster{}
			defer c.close()
			if err := c.startCoordinators(&sf, apiOpts, log, dataDir, port, coordinators); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if _, err := c.coordinators[0].Coordinator.WaitLeader(ctx); err != nil {
				return fmt.Errorf("the dev cluster elected no leader: %w", err)
			}
			if err := c.waitMembers(ctx); err != nil {
				return err
			}
			if err := c.waitLeaderKnown(ctx); err != nil {
				return err
			}
			if err := c.startWorkers(&wf, sf.authToken, log, dataDir, port+coordinators, workers); err != nil {
				return err
			}
			sample := ""
			if !noSample {
				sample = filepath.Join(dataDir, "ufs", "sample")
				if err := writeSampleData(sample); err != nil {
					return err
				}
				if err := c.mountSample(ctx, sample); err != nil {
					return err
				}
			}
			if err := c.waitWorkers(ctx); err != nil {
				return err
			}
			printDevBanner(cmd.OutOrStdout(), c, dataDir, sample)
			waitForSignal()
			fmt.Fprintln(cmd.OutOrStdout(), "shutting down")
			return c.close()
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&dataDir, "data-dir", "", "directory for the cluster's state (default: a temporary one)")
	fs.IntVar(&coordinators, "coordinators", 3, "number of coordinators")
	fs.IntVar(&workers, "workers", 3, "number of workers")
	fs.IntVar(&port, "port", 19999, "API port of the first coordinator")
	fs.BoolVar(&noSample, "no-sample", false, "do not create and mount the sample folder")
	sf.register(fs)
	wf.register(fs)
	_ = fs.Set("log-level", "error")
	fs.Lookup("log-level").DefValue = "error"
	_ = fs.Set("cache-size", "256MiB")
	fs.Lookup("cache-size").DefValue = "256MiB"
	_ = fs.Set("memory-size", "64MiB")
	fs.Lookup("memory-size").DefValue = "64MiB"
	return cmd
}

func checkDevFlags(coordinators, workers, port int) error {
	if coordinators < 1 || coordinators > 7 {
		return fmt.Errorf("--coordinators %d: want 1 to 7", coordinators)
	}
	if workers < 0 || workers > 32 {
		return fmt.Errorf("--workers %d: want 0 to 32", workers)
	}
	if port < 1 || port+devRaftPortOffset+coordinators > 65535 || port+coordinators+workers > 65535 {
		return fmt.Errorf("--port %d is out of range", port)
	}
	return nil
}

// startWorkers starts n workers under dataDir, with their APIs on port,
// port+1, ...
func (c *devCluster) startWorkers(wf *workerFlags, token string, log *slog.Logger, dataDir string, port, n int) error {
	for i := range n {
		cfg, err := wf.config()
		if err != nil {
			return err
		}
		cfg.DataDir = filepath.Join(dataDir, "worker-"+strconv.Itoa(i+1))
		cfg.Coordinators = c.urls()
		cfg.Token = token
		cfg.Logger = log.With("worker", i+1)
		w, err := workernode.Start(cfg, nil, devAddr(port+i))
		if err != nil {
			return err
		}
		c.workers = append(c.workers, w)
	}
	return nil
}

// startCoordinators starts n coordinators under dataDir, with their APIs on
// port, port+1, ...: c1 starts the cluster alone, and so leads it, as the
// README shows; the others join it (on a first start only: a restart keeps
// its state and elects any of them).
func (c *devCluster) startCoordinators(sf *serverFlags, apiOpts httpapi.Options, log *slog.Logger, dataDir string, port, n int) error {
	for i := range n {
		cfg, err := sf.coordinatorConfig()
		if err != nil {
			return err
		}
		cfg.ID = devID(i)
		cfg.DataDir = filepath.Join(dataDir, cfg.ID)
		cfg.RaftBind = devAddr(port + devRaftPortOffset + i)
		cfg.HTTPAddress = devAddr(port + i)
		if i == 0 {
			cfg.Bootstrap = []coordinator.Peer{{ID: cfg.ID, Address: cfg.RaftBind}}
		} else {
			cfg.Join = "http://" + devAddr(port)
		}
		cfg.Logger = log.With("node", cfg.ID)
		nd, err := node.Start(node.Config{Coordinator: cfg, API: apiOpts, HTTPBind: cfg.HTTPAddress})
		if err != nil {
			return err
		}
		c.coordinators = append(c.coordinators, nd)
	}
	return nil
}

func (c *devCluster) urls() []string {
	var urls []string
	for _, n := range c.coordinators {
		urls = append(urls, n.URL)
	}
	return urls
}

// devCluster is what dev mode runs.
type devCluster struct {
	coordinators []*node.Node
	workers      []*workernode.Node
}

// close stops the workers, then the coordinators; it is safe to call twice.
func (c *devCluster) close() error {
	var errs []error
	for _, w := range c.workers {
		errs = append(errs, w.Close())
	}
	for _, n := range c.coordinators {
		errs = append(errs, n.Close())
	}
	c.workers, c.coordinators = nil, nil
	return errors.Join(errs...)
}

func (c *devCluster) leader() *coordinator.Coordinator {
	for _, n := range c.coordinators {
		if n.Coordinator.IsLeader() {
			return n.Coordinator
		}
	}
	return nil
}

// waitMembers waits until every coordinator is a voter of the cluster.
func (c *devCluster) waitMembers(ctx context.Context) error {
	for {
		voters := 0
		if l := c.leader(); l != nil {
			if f := l.Raft().GetConfiguration(); f.Error() == nil {
				for _, srv := range f.Configuration().Servers {
					if srv.Suffrage == raft.Voter {
						voters++
					}
				}
			}
		}
		if voters == len(c.coordinators) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of the dev cluster's %d coordinators joined it: %w", voters, len(c.coordinators), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitLeaderKnown waits until every coordinator knows the leader and its
// API address (a new leader publishes it through the log), so that the
// first write sent to a follower is forwarded rather than refused.
func (c *devCluster) waitLeaderKnown(ctx context.Context) error {
	for {
		known, want := 0, ""
		for _, n := range c.coordinators {
			if l, err := n.Coordinator.Leader(); err == nil && l.HTTPAddress != "" && (want == "" || l.ID == want) {
				known, want = known+1, l.ID
			}
		}
		if known == len(c.coordinators) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the dev cluster's coordinators do not agree on a leader: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// mountSample mounts the sample folder at /sample unless something is
// mounted there already (a restart on the same data dir).
func (c *devCluster) mountSample(ctx context.Context, dir string) error {
	for {
		if l := c.leader(); l != nil {
			if _, ok := l.FSM().Mount(SampleMount); ok {
				return nil
			}
			_, err := l.Apply(ctx, &fsm.AddMount{Mount: fsm.Mount{Path: SampleMount, UFS: "file://" + dir}})
			if err == nil || errors.Is(err, fsm.ErrConflict) {
				return nil
			}
			if errors.Is(err, fsm.ErrInvalid) {
				return fmt.Errorf("mount the sample folder: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mount the sample folder: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitWorkers waits until every worker is LIVE in the replicated state.
func (c *devCluster) waitWorkers(ctx context.Context) error {
	for {
		live := 0
		if l := c.leader(); l != nil {
			for _, w := range c.workers {
				if st, ok := l.FSM().Worker(w.Worker.ID()); ok && st.State == fsm.WorkerLive {
					live++
				}
			}
		}
		if live == len(c.workers) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d workers registered: %w", live, len(c.workers), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// writeSampleData fills dir with a few files to try the cache on (kept if
// present): text, CSV, binary files across page boundaries, an empty file.
func writeSampleData(dir string) error {
	files := map[string][]byte{
		"hello.txt":              []byte("Hello from Alluvium: this file was read through the cache.\n"),
		"tables/cities.csv":      []byte("city,country,population\nLisbon,PT,545923\nOslo,NO,709037\nKyoto,JP,1464890\n"),
		"train/empty.bin":        nil,
		"train/part-0000.bin":    sampleBytes("part-0000", 3<<20+17),
		"train/part-0001.bin":    sampleBytes("part-0001", 1<<20),
		"train/part-0002.bin":    sampleBytes("part-0002", 700<<10),
		"models/weights-v1.bin":  sampleBytes("weights-v1", 2<<20),
		"logs/2026-11-28.log":    []byte(strings.Repeat("INFO request served from the cache\n", 200)),
		"README-sample-data.txt": []byte("Sample files for `alluvium dev`, mounted at /sample.\nTry: alluvium cat /sample/hello.txt\n"),
	}
	for name, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(name))
		if _, err := os.Stat(full); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sampleBytes is n deterministic pseudo-random bytes.
func sampleBytes(seed string, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	sum := sha256.Sum256([]byte(seed))
	for len(out) < n {
		out = append(out, sum[:]...)
		sum = sha256.Sum256(sum[:])
	}
	return out[:n]
}

func devID(i int) string      { return "c" + strconv.Itoa(i+1) }
func devAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func printDevBanner(w io.Writer, c *devCluster, dataDir, sample string) {
	fmt.Fprintf(w, "Alluvium dev cluster is up (state in %s)\n", dataDir)
	leader := ""
	if l := c.leader(); l != nil {
		leader = l.ID()
	}
	for _, n := range c.coordinators {
		mark := ""
		if n.Coordinator.ID() == leader {
			mark = "  (leader)"
		}
		fmt.Fprintf(w, "  coordinator %-3s %s%s\n", n.Coordinator.ID(), n.URL, mark)
	}
	for _, n := range c.workers {
		fmt.Fprintf(w, "  worker %s  %s\n", n.Worker.ID(), n.URL)
	}
	if sample != "" {
		fmt.Fprintf(w, "Sample files in %s are mounted at %s.\n", sample, SampleMount)
	}
	// The CLI looks for the first coordinator of a dev cluster on its
	// default port: on another, it must be told where the cluster is.
	coord := ""
	if first := c.coordinators[0].URL; first != defaultCoordinator {
		coord = " --coordinator " + first
		fmt.Fprintf(w, "The CLI defaults to %s: add --coordinator %s, or export ALLUVIUM_COORDINATOR=%s.\n", defaultCoordinator, first, first)
	}
	fmt.Fprintln(w, "Try:")
	fmt.Fprintf(w, "  curl %s/api/v1/coordinators\n", c.coordinators[0].URL)
	if sample != "" && len(c.workers) > 0 {
		fmt.Fprintf(w, "  bin/alluvium cat %s/hello.txt%s\n", SampleMount, coord)
		fmt.Fprintf(w, "  curl -L %s%s%s/hello.txt\n", c.workers[0].URL, "/api/v1/data", SampleMount)
		fmt.Fprintf(w, "  bin/alluvium nodes list%s\n", coord)
	}
	fmt.Fprintf(w, "  bin/alluvium status%s\n", coord)
	fmt.Fprintf(w, "  curl %s/metrics   (Prometheus; every coordinator and worker URL serves /metrics)\n", c.coordinators[0].URL)
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}
