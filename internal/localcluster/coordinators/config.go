package coordinators

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/tlsconfig"
)

// DefaultRaftPortOffset places the coordinators' Raft ports after their API
// ports when Config.Port fixes them.
const DefaultRaftPortOffset = 100

// Config describes the coordinators of a local cluster. Start from
// DefaultConfig.
type Config struct {
	// Dir holds every coordinator's data, <Dir>/<id> (c1, c2, ...), and a
	// process's output, <Dir>/<id>.log. Required. A restart on the same Dir
	// keeps the cluster's state.
	Dir string
	// Coordinators is how many coordinators to run.
	Coordinators int
	// Port, when not 0, fixes the addresses: coordinator i (from 0) serves
	// its API on 127.0.0.1:Port+i and Raft on Port+RaftPortOffset+i. When
	// 0, every address is a free port.
	Port int
	// RaftPortOffset is where the Raft ports start after Port.
	RaftPortOffset int
	// Join makes the first coordinator start the cluster alone (so it leads
	// it without a leadership transfer) and the others join it through its
	// API. Otherwise every coordinator is bootstrapped with all of them as
	// voters. Either acts on a first start only: a restart keeps its state.
	Join bool
	// Coordinator is the base of every in-process coordinator's config;
	// the set fills in ID, DataDir, the Raft and HTTP addresses, Bootstrap
	// or Join, and Logger.
	Coordinator coordinator.Config
	// API is the base of every coordinator's API options; the set fills in
	// Logger.
	API httpapi.Options
	// Token, when set, is the API's bearer token: the coordinators require
	// it, and the set's own calls send it.
	Token string
	// TLS, when set, runs the coordinators' APIs and Raft on TLS with these
	// files, and the set's own calls with them.
	TLS *tlsconfig.Source
	// Logger receives every coordinator's logs, tagged node=<id>; nil
	// discards them.
	Logger *slog.Logger

	// Binary, when set, runs the coordinators as processes of this
	// `alluvium` binary (`coordinator --id ... --bootstrap ...`), their
	// output in <Dir>/<id>.log; Coordinator and API are then unused, and
	// Args are added to each command line.
	Binary string
	Args   []string
}

// DefaultConfig is three coordinators bootstrapped together on free ports,
// with the default coordinator config and API options.
func DefaultConfig() Config {
	return Config{
		Coordinators:   3,
		RaftPortOffset: DefaultRaftPortOffset,
		Coordinator:    coordinator.DefaultConfig(),
		API:            httpapi.DefaultOptions(),
	}
}

// Validate reports the first problem of the config.
func (c *Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("localcluster: Dir is empty")
	case c.Coordinators < 0:
		return fmt.Errorf("localcluster: %d coordinators", c.Coordinators)
	case c.Port < 0 || c.Port > 0 && c.Port+c.RaftPortOffset+c.Coordinators > 65535:
		return fmt.Errorf("localcluster: port %d is out of range", c.Port)
	case c.Port > 0 && c.RaftPortOffset < c.Coordinators:
		return fmt.Errorf("localcluster: Raft port offset %d overlaps the %d API ports", c.RaftPortOffset, c.Coordinators)
	}
	return nil
}

// ID is the id of coordinator i (from 0): c1, c2, ...
func ID(i int) string { return "c" + strconv.Itoa(i+1) }

// Loopback is 127.0.0.1:port.
func Loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Fixed reports whether the config fixes the ports.
func (c *Config) Fixed() bool { return c.Port > 0 }

func (c *Config) apiAddr(i int) string  { return Loopback(c.Port + i) }
func (c *Config) raftAddr(i int) string { return Loopback(c.Port + c.RaftPortOffset + i) }

// Log is the config's logger, or one that drops everything.
func (c *Config) Log() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}
