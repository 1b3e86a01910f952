package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/node"
	"github.com/alluvium/alluvium/ufs"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// serverFlags are the flags of a coordinator node, shared by the
// coordinator and dev commands.
type serverFlags struct {
	logFlags
	authToken         string
	noForward         bool
	disable           []string
	snapshotInterval  time.Duration
	snapshotThreshold uint64
	mountTable        string
	logStore          string
	workerTimeout     time.Duration
	ringMode          string
	maxSnapshot       string
	tls               tlsFlags
	auth              authFlags
	allowedUFS        []string
	fileIndexMax      int
}

func (s *serverFlags) register(fs *pflag.FlagSet) {
	s.logFlags.register(fs)
	s.tls.register(fs)
	s.auth.register(fs)
	fs.StringSliceVar(&s.allowedUFS, "allowed-ufs", nil, allowedUFSUsage)
	fs.StringVar(&s.authToken, "auth-token", "", "require this bearer token on every API request (and send it to peers)")
	fs.BoolVar(&s.noForward, "redirect-to-leader", false, "answer requests that need the leader with 307 instead of forwarding them")
	fs.StringSliceVar(&s.disable, "disable", nil, "features to switch off: quota, ttl, priority, cache-filter, file-index")
	fs.DurationVar(&s.snapshotInterval, "snapshot-interval", 60*time.Second, "how often to check whether to snapshot the raft log")
	fs.DurationVar(&s.workerTimeout, "worker-timeout", 5*time.Second, "a worker silent this long is marked LOST")
	fs.StringVar(&s.ringMode, "ring-mode", coordinator.RingDynamic, "dynamic: LIVE workers own keys; static: all but decommissioned workers do")
	fs.StringVar(&s.logStore, "raft-log-store", coordinator.LogStoreWAL, "raft log storage for a new data dir: bolt or wal (an existing data dir keeps its own)")
	fs.StringVar(&s.mountTable, "mount-table", "", "JSON file with a static mount table ([{\"path\", \"ufs\", \"options\"}]); the API then refuses mount changes")
	fs.Uint64Var(&s.snapshotThreshold, "snapshot-threshold", 16384, "log entries since the last snapshot that trigger a new one")
	fs.IntVar(&s.fileIndexMax, "file-index-max-entries", defaultFileIndexMax(), fileIndexMaxUsage)
	fs.StringVar(&s.maxSnapshot, "max-snapshot-size", api.Size(httpapi.DefaultMaxSnapshotBytes).String(), "largest snapshot file a restore may upload")
}

func (s *serverFlags) apiOptions() (httpapi.Options, error) {
	o := httpapi.DefaultOptions()
	o.StaticMounts = s.mountTable != ""
	o.AuthToken = s.authToken
	o.RedirectToLeader = s.noForward
	limit, err := api.ParseSize(s.maxSnapshot)
	if err != nil || limit <= 0 {
		return o, bad("max-snapshot-size", s.maxSnapshot, "want a positive size such as 8GiB")
	}
	o.MaxSnapshotBytes = int64(limit)
	for _, f := range s.disable {
		switch f {
		case "quota":
			o.Disabled.Quota = true
		case "ttl":
			o.Disabled.TTL = true
		case "priority":
			o.Disabled.Priority = true
		case "cache-filter":
			o.Disabled.CacheFilter = true
		case "file-index":
			o.Disabled.FileIndex = true
		default:
			return o, bad("disable", f, "want quota, ttl, priority, cache-filter or file-index")
		}
	}
	return o, nil
}

func (s *serverFlags) coordinatorConfig() (coordinator.Config, error) {
	cfg := coordinator.DefaultConfig()
	cfg.AuthToken = s.authToken
	cfg.SnapshotInterval = s.snapshotInterval
	cfg.SnapshotThreshold = s.snapshotThreshold
	cfg.LogStore = s.logStore
	cfg.WorkerTimeout = s.workerTimeout
	cfg.RingMode = s.ringMode
	if cfg.FileIndexMaxEntries = s.fileIndexMax; s.fileIndexMax <= 0 {
		cfg.FileIndexMaxEntries = -1 // 0 on the command line: no ceiling
	}
	allowed, err := ufs.ParseAllowlist(s.allowedUFS)
	if err != nil {
		return cfg, bad("allowed-ufs", strings.Join(s.allowedUFS, ","), "%v", err)
	}
	cfg.AllowedUFS = allowed
	if s.mountTable != "" {
		mounts, err := readMountTable(s.mountTable)
		if err != nil {
			return cfg, err
		}
		cfg.StaticMounts = mounts
	}
	return cfg, nil
}

// readMountTable reads a static mount table: a JSON array of mount points.
func readMountTable(path string) ([]fsm.Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, bad("mount-table", path, "%v", err)
	}
	defer f.Close()
	var table []api.Mount
	dec := json.NewDecoder(io.LimitReader(f, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&table); err != nil {
		return nil, bad("mount-table", path, "%v", err)
	}
	mounts := make([]fsm.Mount, 0, len(table))
	for _, m := range table {
		mounts = append(mounts, fsm.Mount{Path: m.Path, UFS: m.UFS, Options: m.Options})
	}
	// Check the table as the state machine will, so that a bad file stops
	// the start instead of leaving the cluster without mounts.
	cmd, err := fsm.Encode(&fsm.ReplaceMounts{Mounts: mounts})
	if err != nil {
		return nil, err
	}
	if err, failed := fsm.New().Apply(1, cmd).(error); failed {
		return nil, bad("mount-table", path, "%v", err)
	}
	return mounts, nil
}

func newCoordinatorCommand() *cobra.Command {
	var (
		sf                                       serverFlags
		id, dataDir, raftAddr, raftAdvertise     string
		httpAddr, httpAdvertise, bootstrap, join string
	)
	cmd := &cobra.Command{
		Use:   "coordinator",
		Short: "Run one coordinator of the HA cluster",
		Long: `Run one coordinator. Start three with the same --bootstrap list to form a
cluster; bootstrap acts on the first start only, and a restart on the same
--data-dir rejoins. A new coordinator joins a running cluster with --join.
One on an empty --data-dir with neither --bootstrap nor --join has no
cluster to be part of: it says so and exits 1. Every flag can also be set
from the environment: --data-dir as ALLUVIUM_DATA_DIR.

Peers may be DNS names (a StatefulSet's pods): --bootstrap, --raft-advertise,
--http-advertise and --join take host names, kept as names in the Raft
configuration and resolved at every dial, so a coordinator restarted on a
new IP rejoins. With --tls-cert, a peer's certificate must name the host
dialled. A --raft-addr on every interface (0.0.0.0) needs --raft-advertise.`,
		Example: `  alluvium coordinator --id c1 --data-dir /var/lib/alluvium/c1 \
    --raft-addr 127.0.0.1:7001 --http-addr 127.0.0.1:8001 \
    --bootstrap c1=127.0.0.1:7001,c2=127.0.0.1:7002,c3=127.0.0.1:7003`,
		Args: cobra.NoArgs,
	}
	serve(cmd, func(cmd *cobra.Command, _ []string) (coordinatorPlan, error) {
		return buildCoordinator(cmd, &sf, coordinatorArgs{id: id, dataDir: dataDir, raftAddr: raftAddr,
			raftAdvertise: raftAdvertise, httpAddr: httpAddr, httpAdvertise: httpAdvertise, bootstrap: bootstrap, join: join})
	}, func(cmd *cobra.Command, p coordinatorPlan) error { return runCoordinator(&sf, p) })
	fs := cmd.Flags()
	fs.StringVar(&id, "id", "", "this coordinator's id, e.g. c1 (required)")
	fs.StringVar(&dataDir, "data-dir", "", "directory for the raft log and snapshots (required)")
	fs.StringVar(&raftAddr, "raft-addr", "127.0.0.1:7001", "address the raft transport listens on")
	fs.StringVar(&raftAdvertise, "raft-advertise", "", "raft address peers dial, when not --raft-addr")
	fs.StringVar(&httpAddr, "http-addr", "127.0.0.1:8001", "address the REST API listens on")
	fs.StringVar(&httpAdvertise, "http-advertise", "", "API address peers and clients reach, when not --http-addr")
	fs.StringVar(&bootstrap, "bootstrap", "", "initial cluster as id=raft-addr,... (first start only)")
	fs.StringVar(&join, "join", "", "URL of a running coordinator to join, e.g. http://127.0.0.1:8001")
	sf.register(fs)
	sf.tls.registerRaft(fs)
	return cmd
}

// requiredFlags names the flags a command needs and was not given (on the
// command line or from the environment).
func requiredFlags(cmd *cobra.Command, names ...string) error {
	var missing []string
	for _, name := range names {
		if f := cmd.Flags().Lookup(name); f != nil && f.Value.String() == "" {
			missing = append(missing, "--"+name+" ("+envName(name)+")")
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%s is required; see alluvium %s --help", missing[0], cmd.Name())
	}
	return fmt.Errorf("%s are required; see alluvium %s --help", strings.Join(missing, " and "), cmd.Name())
}

// checkHasCluster refuses to go on with a coordinator that has no cluster
// to be part of: no state in its data dir, no --bootstrap and no --join.
// It would wait for ever, as a follower of nobody, for another coordinator
// to add it; --join is how a new coordinator asks to be added.
func checkHasCluster(n *node.Node, cfg coordinator.Config) error {
	if len(cfg.Bootstrap) > 0 || cfg.Join != "" {
		return nil
	}
	f := n.Coordinator.Raft().GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	if len(f.Configuration().Servers) > 0 {
		return nil
	}
	return fmt.Errorf("--data-dir %s holds no cluster state, and neither --bootstrap nor --join is given: "+
		"start a new cluster with --bootstrap id=raft-addr,... (the same list on each coordinator), "+
		"or join a running one with --join http://<a coordinator's API address>", cfg.DataDir)
}

// waitForSignal blocks until SIGINT or SIGTERM.
func waitForSignal() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}
