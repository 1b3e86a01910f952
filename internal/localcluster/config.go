package localcluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/worker"
)

// DefaultRaftPortOffset places the coordinators' Raft ports after their API
// ports when Config.Port fixes them.
const DefaultRaftPortOffset = 100

// Config describes a local cluster. Start from DefaultConfig.
type Config struct {
	// Dir holds every node's data: <Dir>/<id> for coordinator <id> (c1,
	// c2, ...), <Dir>/worker-<n> for worker n (from 1), and <Dir>/<id>.log
	// for a coordinator process's output. Required. A restart on the same
	// Dir keeps the cluster's state and caches.
	Dir string
	// Coordinators is how many coordinators to run (0: the workers run
	// standalone, with the mounts and a ring of themselves set directly).
	Coordinators int
	// Workers is how many workers to run, in this process.
	Workers int
	// Port, when not 0, fixes the addresses: coordinator i (from 0) serves
	// its API on 127.0.0.1:Port+i and Raft on Port+RaftPortOffset+i, worker
	// i on Port+Coordinators+i. When 0, every address is a free port.
	Port int
	// RaftPortOffset is where the Raft ports start after Port.
	RaftPortOffset int
	// Join makes the first coordinator start the cluster alone (so it leads
	// it without a leadership transfer) and the others join it through its
	// API. Otherwise every coordinator is bootstrapped with all of them as
	// voters. Either acts on a first start only: a restart keeps its state.
	Join bool
	// Coordinator is the base of every in-process coordinator's config;
	// the cluster sets ID, DataDir, the Raft and HTTP addresses, Bootstrap
	// or Join, and Logger.
	Coordinator coordinator.Config
	// API is the base of every coordinator's API options; the cluster sets
	// Logger.
	API httpapi.Options
	// Worker is the base of every worker's config; the cluster sets
	// DataDir, Coordinators and Logger.
	Worker worker.Config
	// Token, when set, is the API's bearer token: the coordinators require
	// it, and the workers and the cluster's own calls send it.
	Token string
	// Mounts are mounted by Start (a path mounted already is kept, as on a
	// restart), and WaitWorkers waits until every worker holds them.
	Mounts []api.Mount
	// Logger receives every node's logs, tagged node=<id> or worker=<n>;
	// nil discards them.
	Logger *slog.Logger
	// Timeout bounds each of Start's waits.
	Timeout time.Duration

	// Binary, when set, runs the coordinators as processes of this
	// `alluvium` binary (`coordinator --id ... --bootstrap ...`), their
	// output in <Dir>/<id>.log; Coordinator and API are then unused, Args
	// are added to each command line, and workers are not supported.
	Binary string
	Args   []string
}

// DefaultConfig is three coordinators bootstrapped together on free ports,
// with each package's default config, no workers and a 30 s timeout.
func DefaultConfig() Config {
	return Config{
		Coordinators:   3,
		RaftPortOffset: DefaultRaftPortOffset,
		Coordinator:    coordinator.DefaultConfig(),
		API:            httpapi.DefaultOptions(),
		Worker:         worker.DefaultConfig(),
		Timeout:        30 * time.Second,
	}
}

// Validate reports the first problem of the config.
func (c *Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("localcluster: Dir is empty")
	case c.Coordinators < 0 || c.Workers < 0:
		return fmt.Errorf("localcluster: %d coordinators and %d workers", c.Coordinators, c.Workers)
	case c.Coordinators == 0 && c.Workers == 0:
		return errors.New("localcluster: nothing to run")
	case c.Binary != "" && c.Workers > 0:
		return errors.New("localcluster: workers run in this process only, not with Binary")
	case c.Port < 0 || c.Port > 0 && c.Port+max(c.RaftPortOffset+c.Coordinators, c.Coordinators+c.Workers) > 65535:
		return fmt.Errorf("localcluster: port %d is out of range", c.Port)
	case c.Port > 0 && c.RaftPortOffset < c.Coordinators+c.Workers:
		return fmt.Errorf("localcluster: Raft port offset %d overlaps the %d API ports", c.RaftPortOffset, c.Coordinators+c.Workers)
	case c.Timeout <= 0:
		return errors.New("localcluster: Timeout must be positive")
	}
	return nil
}

// ID is the id of coordinator i (from 0): c1, c2, ...
func ID(i int) string { return "c" + strconv.Itoa(i+1) }

// Loopback is 127.0.0.1:port.
func Loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// fixed reports whether the config fixes the ports.
func (c *Config) fixed() bool { return c.Port > 0 }

func (c *Config) coordinatorAPIAddr(i int) string  { return Loopback(c.Port + i) }
func (c *Config) coordinatorRaftAddr(i int) string { return Loopback(c.Port + c.RaftPortOffset + i) }
func (c *Config) workerAddr(i int) string          { return Loopback(c.Port + c.Coordinators + i) }

// logger is the config's logger, or one that drops everything.
func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}
