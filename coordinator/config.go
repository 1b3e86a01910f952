package coordinator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/ufs"
	"github.com/hashicorp/raft"
)

// Config configures one coordinator. Start from DefaultConfig.
type Config struct {
	// ID names this coordinator in the Raft configuration ("c1").
	ID string
	// DataDir holds the Raft log (raft/raft.db) and snapshots (raft/snapshots).
	DataDir string
	// RaftBind is the TCP address the Raft transport listens on.
	RaftBind string
	// RaftAdvertise is the Raft address peers dial; RaftBind when empty.
	RaftAdvertise string
	// RaftListener, when set, is used instead of binding RaftBind; the
	// advertised address is then its address unless RaftAdvertise is set.
	RaftListener net.Listener
	// HTTPAddress is this coordinator's API address (host:port) as peers and
	// clients reach it; followers forward writes there when it leads.
	HTTPAddress string
	// Bootstrap is the static initial cluster, this node included. It acts on
	// the first start only: a node with Raft state on disk rejoins instead.
	Bootstrap []Peer
	// LogStore chooses the Raft log's storage for a new DataDir: "wal"
	// (hashicorp/raft-wal, the default: segment files, one fsync per append,
	// measured 3x faster per append than bolt here) or "bolt" (raft-boltdb:
	// two fsyncs per append). A data dir keeps the store it was created with.
	LogStore string
	// Join is the HTTP URL of any coordinator of a running cluster. A node
	// without Raft state asks it to add this node as a voter.
	Join string
	// StaticMounts, when not nil, is the whole mount table: the leader
	// replaces the replicated table with it on every election, and the API
	// refuses changes (see httpapi.Options.StaticMounts).
	StaticMounts []fsm.Mount
	// CheckUFS, when set, is asked before a mount is committed whether its
	// UFS can be reached (ufs.CheckReachable by default); nil skips the
	// check, as tests with made-up UFS locations do.
	CheckUFS func(ctx context.Context, uri string, options map[string]string) error
	// AllowedUFS, when set, is the only UFS locations a mount may name: the
	// API refuses others with 403, and the scheduler does not open them.
	AllowedUFS *ufs.Allowlist
	// WorkerTimeout is how long a LIVE worker may be silent before the
	// leader commits it LOST.
	WorkerTimeout time.Duration
	// NoScheduler keeps jobs as replicated state without running them: for
	// tests of the API alone, where a job must stay as it was submitted.
	NoScheduler bool
	// SchedulerInterval is how often the leader looks for jobs to run.
	SchedulerInterval time.Duration
	// JobRetention and JobRetentionCount bound the finished jobs kept.
	JobRetention      time.Duration
	JobRetentionCount int
	// RingMode is RingDynamic (LIVE workers place keys) or RingStatic (all
	// but decommissioned ones do).
	RingMode string
	// RaftTLS, when set, runs the Raft transport over mutual TLS: a peer
	// without a certificate from the cluster CA is dropped before Raft
	// reads anything it sends.
	RaftTLS *RaftTLS
	// HTTPClientTLS, when set, is the TLS config of this coordinator's HTTP
	// calls to other coordinators and to workers (which then serve TLS).
	HTTPClientTLS *tls.Config
	// FileIndexMaxEntries is the ceiling of the file index that this
	// coordinator, when it leads, keeps replicated (SetFileIndexLimit): past
	// it, new paths are refused and the index says it is partial. 0 leaves
	// the replicated ceiling as it is (none, unless some leader set one); a
	// negative value removes it. DefaultFileIndexMaxEntries sizes it to a
	// machine's memory.
	FileIndexMaxEntries int
	// AuthToken is sent as a bearer token on the calls this coordinator makes
	// to other coordinators (join, announce).
	AuthToken string

	// Raft timing. Elections follow ElectionTimeout after HeartbeatTimeout of
	// silence; a leader steps down after LeaderLeaseTimeout without a quorum
	// and sends heartbeats every HeartbeatTimeout/10.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	// CommitTimeout paces raft's empty appends to idle followers, which
	// carry the commit index when no write does: every CommitTimeout..2x,
	// two round trips per tick, whether or not anything was committed.
	// With CommitNotice it is only the fallback, so it is long (see
	// commitnotice.go; docs/performance.md, "Idle cost").
	CommitTimeout time.Duration
	// CommitNotice: after a write, once the leader's log has been quiet
	// this long, the leader appends a barrier so that followers learn the
	// commit now rather than at the next CommitTimeout tick. 0 turns it off
	// (followers then lag up to 2x CommitTimeout behind the last write).
	CommitNotice time.Duration
	// MaxAppendEntries bounds entries per append RPC; with BatchApplyCh,
	// concurrent Applies are group-committed up to this many.
	MaxAppendEntries int
	BatchApplyCh     bool
	// Snapshots are taken every SnapshotInterval when SnapshotThreshold
	// entries accumulated; TrailingLogs entries stay behind a snapshot so a
	// slightly lagging follower catches up from the log.
	SnapshotInterval  time.Duration
	SnapshotThreshold uint64
	TrailingLogs      uint64
	SnapshotRetain    int

	// ApplyTimeout bounds Apply and reads when the context has no deadline.
	ApplyTimeout time.Duration
	// AnnounceInterval is how often a node checks that the cluster knows its
	// HTTP address, and retries joining.
	AnnounceInterval time.Duration
	// ShutdownTimeout bounds Shutdown, whatever state Raft is in (an
	// election won while shutting down, a barrier that cannot commit, a
	// stuck disk): DefaultShutdownTimeout when zero. See Coordinator.Shutdown.
	ShutdownTimeout time.Duration

	// Logger receives the coordinator's and raft's logs.
	Logger *slog.Logger

	// Raft, when set, supplies the transport and stores instead of building
	// them from DataDir and RaftBind: coordinatortest uses it for in-memory
	// clusters. The Coordinator does not close supplied parts.
	Raft *RaftParts
}

// The Raft log stores.
const (
	LogStoreBolt = "bolt"
	LogStoreWAL  = "wal"
)

// RaftParts are the pluggable parts of the Raft node.
type RaftParts struct {
	Transport     raft.Transport
	LogStore      raft.LogStore
	StableStore   raft.StableStore
	SnapshotStore raft.SnapshotStore
}

// Peer is a member of the initial cluster.
type Peer struct {
	ID      string
	Address string // Raft address
}

// DefaultConfig returns timings fit for a LAN or one machine.
func DefaultConfig() Config {
	return Config{
		HeartbeatTimeout:   1000 * time.Millisecond,
		ElectionTimeout:    1000 * time.Millisecond,
		LeaderLeaseTimeout: 500 * time.Millisecond,
		CommitTimeout:      100 * time.Millisecond,
		CommitNotice:       5 * time.Millisecond,
		MaxAppendEntries:   256,
		BatchApplyCh:       true,
		SnapshotInterval:   60 * time.Second,
		SnapshotThreshold:  16384,
		TrailingLogs:       10240,
		SnapshotRetain:     2,
		ApplyTimeout:       10 * time.Second,
		LogStore:           LogStoreWAL,
		WorkerTimeout:      5 * time.Second,
		RingMode:           RingDynamic,
		SchedulerInterval:  200 * time.Millisecond,
		JobRetention:       7 * 24 * time.Hour,
		JobRetentionCount:  10000,
		AnnounceInterval:   500 * time.Millisecond,
		ShutdownTimeout:    DefaultShutdownTimeout,
		Logger:             slog.Default(),
		CheckUFS:           ufs.CheckReachable,
	}
}

// Validate reports the first problem of the config.
func (c *Config) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("coordinator id is empty"))
	}
	if c.Raft == nil {
		if c.DataDir == "" {
			errs = append(errs, errors.New("data dir is empty"))
		}
		if _, _, err := net.SplitHostPort(c.RaftBind); err != nil && c.RaftListener == nil {
			errs = append(errs, fmt.Errorf("raft bind address %q: %v", c.RaftBind, err))
		}
	}
	switch c.LogStore {
	case "", LogStoreBolt, LogStoreWAL:
	default:
		errs = append(errs, fmt.Errorf("log store %q: want %s or %s", c.LogStore, LogStoreBolt, LogStoreWAL))
	}
	if c.HTTPAddress == "" {
		errs = append(errs, errors.New("http address is empty"))
	}
	if len(c.Bootstrap) > 0 {
		self := false
		seen := map[string]bool{}
		for _, p := range c.Bootstrap {
			if p.ID == "" || p.Address == "" {
				errs = append(errs, fmt.Errorf("bootstrap peer %q=%q needs an id and an address", p.ID, p.Address))
			}
			if seen[p.ID] {
				errs = append(errs, fmt.Errorf("bootstrap peer %q is listed twice", p.ID))
			}
			seen[p.ID] = true
			self = self || p.ID == c.ID
		}
		if !self {
			errs = append(errs, fmt.Errorf("bootstrap peers do not include this node %q", c.ID))
		}
		if c.Join != "" {
			errs = append(errs, errors.New("bootstrap and join are exclusive"))
		}
	}
	if c.CommitNotice < 0 {
		errs = append(errs, errors.New("commit notice must not be negative"))
	}
	if c.ApplyTimeout <= 0 {
		errs = append(errs, errors.New("apply timeout must be positive"))
	}
	if c.WorkerTimeout <= 0 {
		errs = append(errs, errors.New("worker timeout must be positive"))
	}
	if c.SchedulerInterval <= 0 || c.JobRetention <= 0 || c.JobRetentionCount < 0 {
		errs = append(errs, errors.New("scheduler interval and job retention must be positive"))
	}
	if c.RingMode != RingDynamic && c.RingMode != RingStatic {
		errs = append(errs, fmt.Errorf("ring mode %q: want %s or %s", c.RingMode, RingDynamic, RingStatic))
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("shutdown timeout must not be negative"))
	}
	if c.AnnounceInterval <= 0 {
		errs = append(errs, errors.New("announce interval must be positive"))
	}
	if c.Logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	if c.RaftTLS != nil && (c.RaftTLS.Server == nil || c.RaftTLS.Client == nil) {
		errs = append(errs, errors.New("raft tls needs a server and a client config"))
	}
	return errors.Join(errs...)
}

// FileIndexBytesPerEntry is what one entry of the file index is budgeted
// in a coordinator's memory: the packed index measured about 17 B of heap
// per entry and 47 B of RSS at 1M ImageNet-like entries (docs/performance.md);
// the budget leaves room for the GC, a snapshot and a restore beside it.
const FileIndexBytesPerEntry = 128

// DefaultFileIndexMaxEntries is the ceiling of the file index for a machine
// with memBytes of RAM: a quarter of it at FileIndexBytesPerEntry (50M
// entries for 24 GiB), at least 1M.
func DefaultFileIndexMaxEntries(memBytes uint64) int {
	return int(max(memBytes/4/FileIndexBytesPerEntry, 1_000_000))
}

// DefaultShutdownTimeout is the bound of Shutdown when the config leaves it
// zero. Its first half is for the loops to return and for Raft to answer
// the futures in flight (futureDrain, 3s, at most); the second for Raft to
// stop, which may wait out the TCP transport's 10s I/O timeout on a hung
// peer. With the API server's own grace (5s), a process stops well within
// the 30s a service manager usually allows.
const DefaultShutdownTimeout = 20 * time.Second

func (c *Config) shutdownTimeout() time.Duration {
	if c.ShutdownTimeout > 0 {
		return c.ShutdownTimeout
	}
	return DefaultShutdownTimeout
}

func (c *Config) raftAdvertise() string {
	switch {
	case c.RaftAdvertise != "":
		return c.RaftAdvertise
	case c.RaftListener != nil:
		return c.RaftListener.Addr().String()
	}
	return c.RaftBind
}

func (c *Config) raftConfig() *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.ID)
	rc.HeartbeatTimeout = c.HeartbeatTimeout
	rc.ElectionTimeout = c.ElectionTimeout
	rc.LeaderLeaseTimeout = c.LeaderLeaseTimeout
	rc.CommitTimeout = c.CommitTimeout
	rc.MaxAppendEntries = c.MaxAppendEntries
	rc.BatchApplyCh = c.BatchApplyCh
	rc.SnapshotInterval = c.SnapshotInterval
	rc.SnapshotThreshold = c.SnapshotThreshold
	rc.TrailingLogs = c.TrailingLogs
	rc.Logger = newRaftLogger(c.Logger, "raft")
	return rc
}

// ParsePeers reads "c1=127.0.0.1:7001,c2=127.0.0.1:7002". Addresses may be
// DNS names ("c1=alluvium-coordinator-0.alluvium-coordinator:7001"): they
// are checked for syntax here and resolved at each dial, never here. An id
// given twice is refused.
func ParsePeers(s string) ([]Peer, error) {
	var peers []Peer
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, addr, ok := strings.Cut(part, "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("peer %q is not of the form id=host:port", part)
		}
		if err := CheckDialAddress(addr); err != nil {
			return nil, fmt.Errorf("peer %q: %v", part, err)
		}
		if seen[id] {
			return nil, fmt.Errorf("peer id %q is listed twice", id)
		}
		seen[id] = true
		peers = append(peers, Peer{ID: id, Address: addr})
	}
	return peers, nil
}
