package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/ufs"
	"github.com/alluvium/alluvium/worker"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// workerFlags are the flags of a worker, shared by the worker and dev
// commands.
type workerFlags struct {
	cacheSize, memorySize, pageSize string
	replicas                        int
	loadConcurrency                 int
	fsync                           bool
	ringWeight                      float64
}

func (f *workerFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cacheSize, "cache-size", "1GiB", "bytes of pages the worker caches on disk")
	fs.StringVar(&f.memorySize, "memory-size", "256MiB", "bytes of the in-memory tier (0 turns it off)")
	fs.StringVar(&f.pageSize, "page-size", "1MiB", "page size (fixed for a data dir)")
	fs.IntVar(&f.loadConcurrency, "load-concurrency", worker.DefaultLoadConcurrency, "files of a load task loaded at once")
	fs.IntVar(&f.replicas, "replicas", 3, "owners a file may have: clear-stale keeps a file this worker is among the first N owners of")
	fs.Float64Var(&f.ringWeight, "ring-weight", 0, "scales this worker's share of the ring, which is weighed by --cache-size: 0.5 takes half the keys its capacity would, 2 twice (0 = 1)")
	fs.BoolVar(&f.fsync, "fsync", false, "make page writes durable before they are used (checksums keep torn pages out either way)")
}

func (f *workerFlags) config() (worker.Config, error) {
	cfg := worker.DefaultConfig()
	for _, s := range []struct {
		flag  string
		value string
		to    *int64
	}{{"cache-size", f.cacheSize, &cfg.CapacityBytes}, {"memory-size", f.memorySize, &cfg.MemoryBytes}, {"page-size", f.pageSize, &cfg.PageSize}} {
		v, err := api.ParseSize(s.value)
		if err != nil {
			return cfg, bad(s.flag, s.value, "%v", err)
		}
		*s.to = int64(v)
	}
	cfg.Replicas, cfg.Fsync, cfg.Version = f.replicas, f.fsync, version
	cfg.LoadConcurrency, cfg.RingWeight = f.loadConcurrency, f.ringWeight
	if !(f.ringWeight >= 0 && f.ringWeight <= api.MaxRingWeight) {
		return cfg, bad("ring-weight", fmt.Sprint(f.ringWeight), "must be from 0 (unset) to %g", float64(api.MaxRingWeight))
	}
	switch {
	case cfg.PageSize < 4096 || cfg.PageSize > 64<<20:
		return cfg, bad("page-size", f.pageSize, "must be 4KiB to 64MiB")
	case cfg.CapacityBytes < cfg.PageSize:
		return cfg, bad("cache-size", f.cacheSize, "must hold at least one page (--page-size %s)", f.pageSize)
	case f.replicas < 1:
		return cfg, bad("replicas", fmt.Sprint(f.replicas), "must be at least 1")
	case f.loadConcurrency < 0:
		return cfg, bad("load-concurrency", fmt.Sprint(f.loadConcurrency), "must not be negative")
	}
	return cfg, nil
}

// workerArgs are the worker command's flags.
type workerArgs struct {
	wf                          workerFlags
	s3f                         s3Flags
	s3Addr                      string
	lf                          logFlags
	tf                          tlsFlags
	af                          authFlags
	allowedUFS                  []string
	dataDir, httpAddr, adv, tok string
	coordinators                []string
}

func newWorkerCommand() *cobra.Command {
	var a workerArgs
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a cache worker",
		Long: `Run a worker: it keeps its id in --data-dir, registers with the
coordinators, heartbeats every second, pulls the cluster's policies, caches
pages of the mounted UFS files it owns on the ring, and serves them at
GET /api/v1/data/<path> (with Range). Every flag can also be set from the
environment: --cache-size as ALLUVIUM_CACHE_SIZE.`,
		Example: `  alluvium worker --data-dir /var/lib/alluvium/w1 --http-addr 127.0.0.1:9001 \
    --coordinators http://127.0.0.1:8001,http://127.0.0.1:8002 --cache-size 1GiB`,
		Args: cobra.NoArgs,
	}
	serve(cmd, func(cmd *cobra.Command, _ []string) (workerPlan, error) { return a.build(cmd) },
		func(cmd *cobra.Command, p workerPlan) error { return a.run(p) })
	fs := cmd.Flags()
	fs.StringVar(&a.dataDir, "data-dir", "", "directory for the worker's id and cache (required)")
	fs.StringVar(&a.httpAddr, "http-addr", "127.0.0.1:9001", "address the data and task API listens on")
	fs.StringVar(&a.adv, "http-advertise", "", "address coordinators and clients reach, when not --http-addr")
	fs.StringSliceVar(&a.coordinators, "coordinators", []string{"http://127.0.0.1:8001"}, "coordinator URLs, comma-separated")
	fs.StringVar(&a.tok, "auth-token", "", "the cluster token (sent to coordinators, required on the task API)")
	fs.StringVar(&a.s3Addr, "s3-addr", "", "address the S3 API listens on, host:port (off when empty)")
	a.s3f.register(fs)
	a.wf.register(fs)
	a.lf.register(fs)
	a.tf.register(fs)
	a.af.register(fs)
	fs.StringSliceVar(&a.allowedUFS, "allowed-ufs", nil, allowedUFSUsage)
	return cmd
}

// workerPlan is a worker's start, built and checked.
type workerPlan struct {
	cfg worker.Config
	log *slog.Logger
}

// build turns the flags into a checked configuration, with no side effect
// but reading the --auth-tokens and --s3-credentials files: a start and
// --validate both run it.
func (a *workerArgs) build(cmd *cobra.Command) (workerPlan, error) {
	var p workerPlan
	if err := requiredFlags(cmd, "data-dir"); err != nil {
		return p, err
	}
	log, err := a.lf.logger(cmd.ErrOrStderr())
	if err != nil {
		return p, err
	}
	cfg, err := a.wf.config()
	if err != nil {
		return p, err
	}
	cfg.DataDir, cfg.HTTPAddress, cfg.Token, cfg.Logger = a.dataDir, a.adv, a.tok, log
	if err := a.checkAddresses(); err != nil {
		return p, err
	}
	for _, c := range a.coordinators {
		if c = strings.TrimSpace(c); c != "" {
			if err := checkURL("coordinators", c); err != nil {
				return p, err
			}
			cfg.Coordinators = append(cfg.Coordinators, c)
		}
	}
	if len(cfg.Coordinators) == 0 {
		return p, bad("coordinators", "", "name at least one coordinator URL")
	}
	if err := checkTLSFiles(a.tf.files, true); err != nil {
		return p, err
	}
	if cfg.AllowedUFS, err = ufs.ParseAllowlist(a.allowedUFS); err != nil {
		return p, bad("allowed-ufs", strings.Join(a.allowedUFS, ","), "%v", err)
	}
	if err := a.af.check(a.tok); err != nil {
		return p, err
	}
	if err := a.s3f.check(); err != nil {
		return p, err
	}
	if cfg.HTTPAddress == "" {
		cfg.HTTPAddress = a.httpAddr // what workernode.Start advertises; checked as it will be
	}
	if err := cfg.Validate(); err != nil {
		return p, err
	}
	cfg.HTTPAddress = a.adv
	return workerPlan{cfg: cfg, log: log}, nil
}

// checkAddresses checks the listen and advertised addresses.
func (a *workerArgs) checkAddresses() error {
	if err := checkBind("http-addr", a.httpAddr); err != nil {
		return err
	}
	if err := checkAdvertise("http-advertise", a.adv); err != nil {
		return err
	}
	if err := checkReachable("http-addr", a.httpAddr, "http-advertise", a.adv); err != nil {
		return err
	}
	if a.s3Addr != "" {
		return checkBind("s3-addr", a.s3Addr)
	}
	return nil
}

// run starts a checked worker and serves until SIGINT or SIGTERM.
func (a *workerArgs) run(p workerPlan) error {
	cfg, log := p.cfg, p.log
	var err error
	if cfg.TLS, err = a.tf.workerTLS(log); err != nil {
		return err
	}
	if err := a.af.workerConfig(&cfg, a.tok, log); err != nil {
		return err
	}
	n, err := workernode.Start(cfg, nil, a.httpAddr)
	if err != nil {
		return err
	}
	if a.s3Addr != "" {
		s3cfg, err := a.s3f.config(log)
		if err == nil {
			err = n.ServeS3(s3cfg, a.s3Addr)
		}
		if err != nil {
			return errors.Join(err, n.Close())
		}
	}
	log.Info("worker started", "id", n.Worker.ID(), "url", n.URL, "s3", n.S3URL)
	waitForSignal()
	log.Info("shutting down")
	return n.Close()
}
