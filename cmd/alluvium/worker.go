package main

import (
	"errors"
	"fmt"
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
	}{{"--cache-size", f.cacheSize, &cfg.CapacityBytes}, {"--memory-size", f.memorySize, &cfg.MemoryBytes}, {"--page-size", f.pageSize, &cfg.PageSize}} {
		v, err := api.ParseSize(s.value)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", s.flag, err)
		}
		*s.to = int64(v)
	}
	cfg.Replicas, cfg.Fsync, cfg.Version = f.replicas, f.fsync, version
	cfg.LoadConcurrency, cfg.RingWeight = f.loadConcurrency, f.ringWeight
	if !(f.ringWeight >= 0 && f.ringWeight <= api.MaxRingWeight) {
		return cfg, fmt.Errorf("--ring-weight %v: must be from 0 (unset) to %g", f.ringWeight, float64(api.MaxRingWeight))
	}
	return cfg, nil
}

func newWorkerCommand() *cobra.Command {
	var (
		wf                          workerFlags
		s3f                         s3Flags
		s3Addr                      string
		lf                          logFlags
		tf                          tlsFlags
		af                          authFlags
		allowedUFS                  []string
		dataDir, httpAddr, adv, tok string
		coordinators                []string
	)
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requiredFlags(cmd, "data-dir"); err != nil {
				return err
			}
			log, err := lf.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			cfg, err := wf.config()
			if err != nil {
				return err
			}
			cfg.DataDir, cfg.HTTPAddress, cfg.Token, cfg.Logger = dataDir, adv, tok, log
			for _, c := range coordinators {
				if c = strings.TrimSpace(c); c != "" {
					cfg.Coordinators = append(cfg.Coordinators, c)
				}
			}
			if cfg.TLS, err = tf.workerTLS(log); err != nil {
				return err
			}
			if err := af.workerConfig(&cfg, tok, log); err != nil {
				return err
			}
			if cfg.AllowedUFS, err = ufs.ParseAllowlist(allowedUFS); err != nil {
				return fmt.Errorf("--allowed-ufs: %w", err)
			}
			if len(cfg.Coordinators) == 0 {
				return fmt.Errorf("--coordinators: name at least one coordinator URL")
			}
			n, err := workernode.Start(cfg, nil, httpAddr)
			if err != nil {
				return err
			}
			if s3Addr != "" {
				s3cfg, err := s3f.config(log)
				if err == nil {
					err = n.ServeS3(s3cfg, s3Addr)
				}
				if err != nil {
					return errors.Join(err, n.Close())
				}
			}
			log.Info("worker started", "id", n.Worker.ID(), "url", n.URL, "s3", n.S3URL)
			waitForSignal()
			log.Info("shutting down")
			return n.Close()
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&dataDir, "data-dir", "", "directory for the worker's id and cache (required)")
	fs.StringVar(&httpAddr, "http-addr", "127.0.0.1:9001", "address the data and task API listens on")
	fs.StringVar(&adv, "http-advertise", "", "address coordinators and clients reach, when not --http-addr")
	fs.StringSliceVar(&coordinators, "coordinators", []string{"http://127.0.0.1:8001"}, "coordinator URLs, comma-separated")
	fs.StringVar(&tok, "auth-token", "", "the cluster token (sent to coordinators, required on the task API)")
	fs.StringVar(&s3Addr, "s3-addr", "", "address the S3 API listens on, host:port (off when empty)")
	s3f.register(fs)
	wf.register(fs)
	lf.register(fs)
	tf.register(fs)
	af.register(fs)
	fs.StringSliceVar(&allowedUFS, "allowed-ufs", nil, allowedUFSUsage)
	return cmd
}
