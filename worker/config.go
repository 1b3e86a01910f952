package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/ufs"
)

// Config configures a Worker.
type Config struct {
	// DataDir holds the worker id (worker-id) and the cache (cache/).
	DataDir string
	// HTTPAddress is the host:port that the coordinators, clients and other
	// workers reach this worker's Handler at. It is advertised, not listened
	// on.
	HTTPAddress string
	// Coordinators are the coordinators' API base URLs
	// ("http://10.0.0.1:8001"); any of them answers, forwarding to the
	// leader when needed.
	Coordinators []string
	// Token is the cluster token: sent to the coordinators and required on
	// the internal task routes. Empty disables authentication.
	Token string
	// CapacityBytes bounds the cache on disk; MemoryBytes sizes its memory
	// tier (0 disables it); PageSize is the cache's page size, fixed for a
	// data dir.
	CapacityBytes int64
	MemoryBytes   int64
	PageSize      int64
	// RingWeight scales this worker's weight on the ring, which is its
	// CapacityBytes: 0.5 gives it half the keys its capacity would (a slow
	// disk, a shared host), 2 twice. 0 means 1.
	RingWeight float64
	// Fsync makes page writes durable before they are used (see cache.Config).
	Fsync bool
	// HeartbeatInterval is how often the worker reports to a coordinator.
	// The coordinators' liveness timeout must be several times this.
	HeartbeatInterval time.Duration
	// PolicyWait is how long a policy pull waits for a change (long poll).
	PolicyWait time.Duration
	// Replicas is how many owners a path has for clear-stale: a cached file
	// is kept when this worker is among ring.Owners(path, Replicas). It must
	// be at least the largest replicas a load job uses, or a clear would drop
	// replicas that a job placed; 3 by default.
	Replicas int
	// LoadConcurrency is how many files of a load task the worker loads at
	// once (each of them up to 4 pages at a time): enough to keep the disk
	// and the UFS busy while each file waits on its own reads and writes.
	// 0 means DefaultLoadConcurrency.
	LoadConcurrency int
	// SweepInterval is how often files past their TTL are dropped.
	SweepInterval time.Duration
	// Now is the clock of the cache's TTLs and maxAge rules (cache.Config's
	// Now); time.Now when nil. Tests set it to expire data without waiting.
	Now func() time.Time
	// Logger receives the worker's logs; slog.Default when nil.
	Logger *slog.Logger
	// Version is reported at registration.
	Version string
	// TLS, when set, runs the worker's listeners and calls on TLS.
	TLS *TLS
	// Authorize, when set, decides every request of the data, list and
	// task APIs (health and stats stay open), replacing the Token check:
	// status 0 admits caller (a token's name); 401 or 403 refuse, for
	// reason (package internal/auth implements it).
	Authorize func(r *http.Request, method, route string) (caller string, status int, reason string)
	// Audit, when set, receives one event per task accepted or refused and
	// per request refused for its credentials.
	Audit func(api.AuditEvent)
	// AllowedUFS, when set, is the only UFS locations the worker opens: a
	// mount outside it answers 403, whatever the coordinators committed.
	AllowedUFS *ufs.Allowlist
}

// DefaultLoadConcurrency is the files loaded at once by a load task.
const DefaultLoadConcurrency = 8

// DefaultConfig returns a config with 1 MiB pages, 1 GiB of disk, 256 MiB
// of memory, a heartbeat every second, 30 s policy polls, 3 replicas and
// a TTL sweep every 30 s.
// DataDir, HTTPAddress and Coordinators must still be set.
func DefaultConfig() Config {
	return Config{
		CapacityBytes:     1 << 30,
		MemoryBytes:       256 << 20,
		PageSize:          1 << 20,
		HeartbeatInterval: time.Second,
		PolicyWait:        30 * time.Second,
		Replicas:          3,
		LoadConcurrency:   DefaultLoadConcurrency,
		SweepInterval:     30 * time.Second,
		Logger:            slog.Default(),
	}
}

// Validate reports the first problem of the config. Coordinators may be
// empty: such a worker serves with the policies given to SetPolicies
// (tests, or a single-node setup), and Start only waits.
func (c *Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("worker: data dir is empty")
	case c.PageSize < 4096 || c.PageSize > 64<<20:
		return errors.New("worker: page size must be 4 KiB to 64 MiB")
	case c.CapacityBytes < c.PageSize:
		return errors.New("worker: capacity must hold at least one page")
	case c.MemoryBytes < 0:
		return errors.New("worker: memory size is negative")
	case !(c.RingWeight >= 0 && c.RingWeight <= api.MaxRingWeight):
		return fmt.Errorf("worker: ring weight %v must be from 0 (unset) to %g", c.RingWeight, float64(api.MaxRingWeight))
	case c.HeartbeatInterval <= 0:
		return errors.New("worker: heartbeat interval must be positive")
	case c.PolicyWait <= 0:
		return errors.New("worker: policy wait must be positive")
	case c.SweepInterval <= 0:
		return errors.New("worker: sweep interval must be positive")
	case c.LoadConcurrency < 0:
		return errors.New("worker: load concurrency is negative")
	case c.Replicas < 1:
		return errors.New("worker: replicas must be at least 1")
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddress); err != nil {
		return fmt.Errorf("worker: http address %q is not host:port: %v", c.HTTPAddress, err)
	}
	for _, s := range c.Coordinators {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("worker: coordinator %q is not an http(s) URL", s)
		}
	}
	return nil
}
