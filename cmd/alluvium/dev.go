package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/localcluster"
	"github.com/alluvium/alluvium/ufs"
	"github.com/alluvium/alluvium/worker"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// devRaftPortOffset places the dev cluster's raft ports after its API ports.
const devRaftPortOffset = 100

// SampleMount is where dev mode mounts its sample folder.
const SampleMount = "/sample"

// devFlags are the flags of `alluvium dev`.
type devFlags struct {
	sf           serverFlags
	wf           workerFlags
	dataDir      string
	coordinators int
	workers      int
	port         int
	noSample     bool
	s3f          s3Flags
	s3Port       int
	tls          bool
}

func newDevCommand() *cobra.Command {
	var f devFlags
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
		RunE: func(cmd *cobra.Command, _ []string) error { return runDev(cmd, &f) },
	}
	f.register(cmd.Flags())
	return cmd
}

func (f *devFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", "", "directory for the cluster's state (default: a temporary one)")
	fs.IntVar(&f.coordinators, "coordinators", 3, "number of coordinators")
	fs.IntVar(&f.workers, "workers", 3, "number of workers")
	fs.IntVar(&f.port, "port", 19999, "API port of the first coordinator")
	fs.BoolVar(&f.noSample, "no-sample", false, "do not create and mount the sample folder")
	fs.IntVar(&f.s3Port, "s3-port", 0, "serve the S3 API, worker i on --s3-port+i-1 (0: off)")
	fs.BoolVar(&f.tls, "tls", false, "make a throwaway CA and certificates in <data-dir>/tls and run every listener and the raft transport on TLS")
	f.s3f.register(fs)
	f.sf.register(fs)
	f.wf.register(fs)
	for name, def := range map[string]string{"log-level": "error", "cache-size": "256MiB", "memory-size": "64MiB"} {
		_ = fs.Set(name, def)
		fs.Lookup(name).DefValue = def
	}
}

// runDev runs the dev cluster until a signal: it starts the coordinators
// (c1 bootstraps, the others join it), the workers and the sample mount
// through localcluster, prints the banner, and stops it all in order.
func runDev(cmd *cobra.Command, f *devFlags) error {
	if err := checkDevFlags(f.coordinators, f.workers, f.port); err != nil {
		return err
	}
	if f.dataDir == "" {
		tmp, err := os.MkdirTemp("", "alluvium-dev-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		f.dataDir = tmp
	}
	cfg, sample, err := f.clusterConfig(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	c, err := localcluster.Start(cmd.Context(), cfg)
	if err != nil {
		return fmt.Errorf("the dev cluster did not start: %w", err)
	}
	defer c.Close()
	printDevBanner(cmd.OutOrStdout(), c, f.dataDir, sample)
	if f.tls {
		ca := f.sf.tls.files.CA
		fmt.Fprintf(cmd.OutOrStdout(), "TLS: every listener and Raft use certificates of the throwaway CA %s:\n  pass --tls-ca %s to the CLI (or export ALLUVIUM_TLS_CA), --cacert %s to curl.\n", ca, ca, ca)
	}
	waitForSignal()
	fmt.Fprintln(cmd.OutOrStdout(), "shutting down")
	return c.Close()
}

// clusterConfig is the dev cluster as the flags say, and the sample folder
// it mounts (written here; "" with --no-sample or a static mount table).
func (f *devFlags) clusterConfig(stderr io.Writer) (localcluster.Config, string, error) {
	cfg := localcluster.DefaultConfig()
	log, err := f.sf.logger(stderr)
	if err != nil {
		return cfg, "", err
	}
	if cfg.API, err = f.sf.apiOptions(); err != nil {
		return cfg, "", err
	}
	if f.sf.auth.tokensFile != "" && f.sf.authToken == "" {
		return cfg, "", fmt.Errorf("--auth-tokens needs --auth-token in dev: the token the coordinators and workers send each other")
	}
	if err := f.sf.auth.apiOptions(&cfg.API, f.sf.authToken, log); err != nil {
		return cfg, "", err
	}
	if cfg.Coordinator, err = f.sf.coordinatorConfig(); err != nil {
		return cfg, "", err
	}
	if cfg.Worker, err = f.wf.config(); err != nil {
		return cfg, "", err
	}
	if err := f.sf.auth.workerConfig(&cfg.Worker, f.sf.authToken, log); err != nil {
		return cfg, "", err
	}
	if f.tls {
		if err := f.sf.tls.devTLS(f.dataDir); err != nil {
			return cfg, "", err
		}
	}
	if cfg.TLS, err = f.sf.tls.load(log); err != nil {
		return cfg, "", err
	}
	if cfg.TLS != nil {
		cfg.Worker.TLS = &worker.TLS{Server: cfg.TLS.Server(false), Client: cfg.TLS.Client()}
	}
	cfg.Dir, cfg.Coordinators, cfg.Workers, cfg.Port = f.dataDir, f.coordinators, f.workers, f.port
	cfg.RaftPortOffset, cfg.Join, cfg.Token, cfg.Logger = devRaftPortOffset, true, f.sf.authToken, log
	if f.s3Port != 0 {
		if f.s3Port < 0 || f.s3Port+f.workers-1 > 65535 {
			return cfg, "", fmt.Errorf("--s3-port %d is out of range", f.s3Port)
		}
		if cfg.S3.Config, err = f.s3f.config(log); err != nil {
			return cfg, "", err
		}
		cfg.S3.Enabled, cfg.S3.Port = true, f.s3Port
	}
	sample := ""
	if !f.noSample && cfg.Coordinator.StaticMounts == nil {
		sample = filepath.Join(f.dataDir, "ufs", "sample")
		if err := writeSampleData(sample); err != nil {
			return cfg, "", err
		}
		cfg.Mounts = []api.Mount{{Path: SampleMount, UFS: "file://" + sample}}
	}
	if len(f.sf.allowedUFS) > 0 { // and dev's own folders: the sample's, the data dir, temp
		allowed, err := ufs.ParseAllowlist(append(f.sf.allowedUFS, f.dataDir, os.TempDir()))
		if err != nil {
			return cfg, "", fmt.Errorf("--allowed-ufs: %w", err)
		}
		cfg.Coordinator.AllowedUFS, cfg.Worker.AllowedUFS = allowed, allowed
	}
	return cfg, sample, nil
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

func printDevBanner(w io.Writer, c *localcluster.Cluster, dataDir, sample string) {
	fmt.Fprintf(w, "Alluvium dev cluster is up (state in %s)\n", dataDir)
	leader := ""
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if l, err := c.Leader(ctx); err == nil {
		leader = l.ID
	}
	for _, m := range c.Members {
		mark := ""
		if m.ID == leader {
			mark = "  (leader)"
		}
		fmt.Fprintf(w, "  coordinator %-3s %s%s\n", m.ID, m.URL(), mark)
	}
	for _, n := range c.Workers {
		s3 := ""
		if n.S3URL != "" {
			s3 = "  s3 " + n.S3URL
		}
		fmt.Fprintf(w, "  worker %s  %s%s\n", n.Worker.ID(), n.URL, s3)
	}
	if sample != "" {
		fmt.Fprintf(w, "Sample files in %s are mounted at %s.\n", sample, SampleMount)
	}
	// The CLI looks for the first coordinator of a dev cluster on its
	// default port: on another, it must be told where the cluster is.
	first := c.Members[0].URL()
	coord := ""
	if first != defaultCoordinator {
		coord = " --coordinator " + first
		fmt.Fprintf(w, "The CLI defaults to %s: add --coordinator %s, or export ALLUVIUM_COORDINATOR=%s.\n", defaultCoordinator, first, first)
	}
	fmt.Fprintln(w, "Try:")
	fmt.Fprintf(w, "  curl %s/api/v1/coordinators\n", first)
	if sample != "" && len(c.Workers) > 0 {
		fmt.Fprintf(w, "  bin/alluvium cat %s/hello.txt%s\n", SampleMount, coord)
		fmt.Fprintf(w, "  curl -L %s%s%s/hello.txt\n", c.Workers[0].URL, "/api/v1/data", SampleMount)
		fmt.Fprintf(w, "  bin/alluvium nodes list%s\n", coord)
	}
	fmt.Fprintf(w, "  bin/alluvium status%s\n", coord)
	if sample != "" && len(c.Workers) > 0 {
		fmt.Fprintf(w, "Mount it (FUSE, read-only; needs /dev/fuse and fuse3): mkdir -p /tmp/alluvium-mnt && bin/alluvium fuse /tmp/alluvium-mnt%s\n", coord)
		fmt.Fprintf(w, "  then: python3 -c \"print(open('/tmp/alluvium-mnt%s/hello.txt').read())\"\n", SampleMount)
	}
	fmt.Fprintf(w, "  curl %s/metrics   (Prometheus; every coordinator and worker URL serves /metrics)\n", first)
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}
