package localcluster

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/localcluster/coordinators"
	"github.com/alluvium/alluvium/s3api"
	"github.com/alluvium/alluvium/worker"
)

// Config describes a local cluster. Start from DefaultConfig.
type Config struct {
	// The coordinators: Dir (which also holds the workers' data dirs,
	// <Dir>/worker-<n>), how many, their ports, bootstrap or join, their
	// configs, Token, Logger, or Binary to run them as processes.
	coordinators.Config
	// Workers is how many workers to run, in this process. With Port set,
	// worker i (from 0) listens on Port+Coordinators+i.
	Workers int
	// Worker is the base of every worker's config; the cluster fills in
	// DataDir, Coordinators, Token (when Config.Token is set) and Logger
	// (tagged worker=<n>). With no coordinators the workers run standalone:
	// the cluster gives them the mounts and a ring of themselves.
	Worker worker.Config
	// Mounts are mounted by Start (a path mounted already is kept, as on a
	// restart), and Start waits until every worker holds them.
	Mounts []api.Mount
	// S3, when Enabled, serves the S3 API on every worker.
	S3 S3Config
	// Timeout bounds each of Start's waits.
	Timeout time.Duration
}

// S3Config turns on the workers' S3 API: worker i (from 0) on Port+i, or
// on a free port when Port is 0, with Config's credentials and options.
type S3Config struct {
	Enabled bool
	Port    int
	Config  s3api.Config
}

// DefaultConfig is three coordinators bootstrapped together on free ports,
// with each package's default config, no workers and a 30 s timeout.
func DefaultConfig() Config {
	return Config{Config: coordinators.DefaultConfig(), Worker: worker.DefaultConfig(), Timeout: 30 * time.Second}
}

// Validate reports the first problem of the config.
func (c *Config) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	switch {
	case c.Workers < 0:
		return fmt.Errorf("localcluster: %d workers", c.Workers)
	case c.Coordinators == 0 && c.Workers == 0:
		return errors.New("localcluster: nothing to run")
	case c.Binary != "" && c.Workers > 0:
		return errors.New("localcluster: workers run in this process only, not with Binary")
	case c.Fixed() && (c.Port+c.Coordinators+c.Workers > 65535 || c.RaftPortOffset < c.Coordinators+c.Workers):
		return fmt.Errorf("localcluster: the %d API ports from %d overlap the Raft ports or pass 65535", c.Coordinators+c.Workers, c.Port)
	case c.Timeout <= 0:
		return errors.New("localcluster: Timeout must be positive")
	}
	return nil
}

// workerBind is where worker i listens.
func (c *Config) workerBind(i int) string {
	if c.Fixed() {
		return coordinators.Loopback(c.Port + c.Coordinators + i)
	}
	return "127.0.0.1:0"
}

// workerDir is worker i's data dir.
func (c *Config) workerDir(i int) string { return filepath.Join(c.Dir, "worker-"+strconv.Itoa(i+1)) }
