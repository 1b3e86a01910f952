package coordinator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/fsm"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
)

// Coordinator is one member of the coordinator cluster.
type Coordinator struct {
	cfg    Config
	log    *slog.Logger
	fsm    *fsm.FSM
	raft   *raft.Raft
	closer []func() error // parts this coordinator built, closed on Shutdown
	logs   raft.LogStore
	http   *peerClient

	leadership *leadership
	live       *liveness
	// commitBell and schedBell are rung by each answered Apply: they wake
	// the commit notice (commitnotice.go) and the scheduler, which sleep
	// while nothing is written.
	commitBell chan struct{}
	schedBell  chan struct{}
	// applyObs, when set, is told how long each proposal took (metrics).
	applyObs atomic.Pointer[func(fsm.CommandType, time.Duration, error)]

	shutdownOnce sync.Once
	// futures counts the goroutines waiting on Raft futures (see wait).
	futures     inflight
	shutdownErr error
	stop        chan struct{}
	stopCtx     context.Context // cancelled on Shutdown, for outgoing calls
	stopCancel  context.CancelFunc
	wg          sync.WaitGroup
}

// New starts a coordinator: it opens (or creates) the Raft state, bootstraps
// the static cluster on a first start, and starts the background loops. It
// returns without waiting for an election.
func New(cfg Config) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("coordinator: config: %w", err)
	}
	c := &Coordinator{
		cfg:  cfg,
		log:  cfg.Logger.With("coordinator", cfg.ID),
		fsm:  fsm.New(),
		stop: make(chan struct{}),
		http: newPeerClient(cfg.AuthToken, cfg.HTTPClientTLS),
		live: newLiveness(),

		commitBell: make(chan struct{}, 1),
		schedBell:  make(chan struct{}, 1),
	}
	c.stopCtx, c.stopCancel = context.WithCancel(context.Background())
	parts, err := c.openParts()
	if err != nil {
		c.closeParts()
		return nil, err
	}
	hasState, err := raft.HasExistingState(parts.LogStore, parts.StableStore, parts.SnapshotStore)
	if err != nil {
		c.closeParts()
		return nil, fmt.Errorf("coordinator: read raft state: %w", err)
	}
	rc := cfg.raftConfig()
	notify := make(chan bool, 16)
	rc.NotifyCh = notify
	r, err := raft.NewRaft(rc, raftFSM{c.fsm}, parts.LogStore, parts.StableStore, parts.SnapshotStore, parts.Transport)
	if err != nil {
		c.closeParts()
		return nil, fmt.Errorf("coordinator: start raft: %w", err)
	}
	c.raft = r
	c.logs = parts.LogStore
	if !hasState && len(cfg.Bootstrap) > 0 {
		var servers []raft.Server
		for _, p := range cfg.Bootstrap {
			servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address)})
		}
		if err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			_ = c.Shutdown()
			return nil, fmt.Errorf("coordinator: bootstrap: %w", err)
		}
		c.log.Info("bootstrapped a new cluster", "peers", len(servers))
	} else if hasState {
		c.log.Info("recovered raft state from disk", "last_index", r.LastIndex())
	}
	c.leadership = newLeadership(c, notify)
	if cfg.StaticMounts != nil {
		c.OnLeader("static-mounts", c.enforceStaticMounts)
	}
	c.OnLeader("worker-liveness", c.livenessLoop)
	c.OnLeader("quota-budgets", c.budgetLoop)
	if !cfg.NoScheduler {
		c.OnLeader("scheduler", c.schedulerLoop)
	}
	c.OnLeader("job-retention", c.pruneJobsLoop)
	c.OnLeader("file-index-limit", c.enforceFileIndexLimit)
	if cfg.CommitNotice > 0 {
		c.OnLeader("commit-notice", c.commitNoticeLoop)
	}
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.leadership.run(c.stop) }()
	go func() { defer c.wg.Done(); c.announceLoop(!hasState && cfg.Join != "") }()
	return c, nil
}

// openParts builds the Raft transport and stores, or takes supplied ones.
func (c *Coordinator) openParts() (*RaftParts, error) {
	if c.cfg.Raft != nil {
		return c.cfg.Raft, nil
	}
	dir := filepath.Join(c.cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("coordinator: data dir: %w", err)
	}
	hl := newRaftLogger(c.log, "raft")
	store, err := c.openLogStore(dir, hl)
	if err != nil {
		return nil, err
	}
	logs, err := raft.NewLogCache(1024, store)
	if err != nil {
		return nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, c.cfg.SnapshotRetain, hl)
	if err != nil {
		return nil, fmt.Errorf("coordinator: snapshot store: %w", err)
	}
	trans, err := c.raftTransport(hl)
	if err != nil {
		return nil, err
	}
	c.closer = append(c.closer, func() error {
		// Close leaves the pooled outbound connections open, and with
		// them the peers' goroutines that serve them: release them too.
		trans.CloseStreams()
		return trans.Close()
	})
	// Closed before the store (closers run last first): see shutStable.
	stable := &shutStable{StableStore: store}
	c.closer = append(c.closer, stable.close)
	return &RaftParts{Transport: trans, LogStore: logs, StableStore: stable, SnapshotStore: snaps}, nil
}

// logAndStableStore is what both log stores offer.
type logAndStableStore interface {
	raft.LogStore
	raft.StableStore
}

// openLogStore opens the configured Raft log. A data dir that already has
// one store keeps it, whatever the config says, so that a change of default
// never strands a cluster's log.
func (c *Coordinator) openLogStore(dir string, hl hclog.Logger) (logAndStableStore, error) {
	kind := c.cfg.LogStore
	boltPath, walDir := filepath.Join(dir, "raft.db"), filepath.Join(dir, "wal")
	if _, err := os.Stat(boltPath); err == nil {
		kind = LogStoreBolt
	} else if _, err := os.Stat(walDir); err == nil {
		kind = LogStoreWAL
	}
	if kind == LogStoreWAL {
		if err := os.MkdirAll(walDir, 0o750); err != nil {
			return nil, err
		}
		w, err := wal.Open(walDir, wal.WithLogger(hl))
		if err != nil {
			return nil, fmt.Errorf("coordinator: open raft wal %s: %w", walDir, err)
		}
		c.closer = append(c.closer, w.Close)
		return w, nil
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: boltPath})
	if err != nil {
		return nil, fmt.Errorf("coordinator: open raft log %s: %w", boltPath, err)
	}
	c.closer = append(c.closer, store.Close)
	return store, nil
}

func (c *Coordinator) closeParts() {
	for i := len(c.closer) - 1; i >= 0; i-- {
		_ = c.closer[i]()
	}
	c.closer = nil
}

// Shutdown stops the leader loops, the background loops and Raft, then closes
// the stores and the transport. It is safe to call more than once.
//
// It returns within Config.ShutdownTimeout whatever state Raft is in. The
// first half of the bound is for the loops, which return once their context
// is cancelled (the barrier that starts a term included, which Raft may
// never answer), and for Raft to answer the futures in flight (futureDrain
// at most); the rest is for Raft to stop. Should a part not stop in its
// time, Shutdown logs it and returns an error wrapping ErrTimeout, leaving
// that part to end on its own; the stores stay open then, as a Raft still
// running may write them.
func (c *Coordinator) Shutdown() error {
	c.shutdownOnce.Do(func() { c.shutdownErr = c.shutdown(time.Now()) })
	return c.shutdownErr
}

func (c *Coordinator) shutdown(start time.Time) error {
	bound := c.cfg.shutdownTimeout()
	loopsBy, deadline := start.Add(bound/2), start.Add(bound)
	close(c.stop)
	c.stopCancel()
	var stuck []string
	if !waitGroupUntil(&c.wg, loopsBy) {
		var loops []string
		if c.leadership != nil {
			loops = c.leadership.stillRunning()
		}
		c.log.Error("shutdown: loops did not return in time; stopping raft under them", "leader_loops", loops)
		stuck = append(stuck, fmt.Sprintf("background or leader loops %v", loops))
	}
	// Raft never answers a future still queued in its apply channel
	// once it is shut down; give those in flight the time to be
	// answered first, so that no goroutine outlives Shutdown. A future
	// Raft took (a barrier that cannot commit) is answered by its
	// Shutdown below.
	c.futures.waitIdle(min(futureDrain, time.Until(loopsBy)))
	var err error
	raftStopped := true
	if c.raft != nil {
		f := c.raft.Shutdown()
		done := make(chan error, 1)
		go func() { done <- f.Error() }()
		t := time.NewTimer(max(time.Until(deadline), 0))
		defer t.Stop()
		select {
		case err = <-done:
		case <-t.C:
			raftStopped = false
			c.log.Error("shutdown: raft did not stop in time; its stores stay open")
			stuck = append(stuck, "raft")
		}
	}
	if raftStopped {
		c.closeParts()
	}
	c.http.close()
	if len(stuck) > 0 {
		return fmt.Errorf("%w: shutdown did not finish within %s: %s still running", ErrTimeout, bound, strings.Join(stuck, ", "))
	}
	return err
}

// ID is this coordinator's id.
func (c *Coordinator) ID() string { return c.cfg.ID }

// Config returns the configuration the coordinator runs with.
func (c *Coordinator) Config() Config { return c.cfg }

// FSM gives read access to this node's replica of the state. Reads straight
// from it are stale on a follower; use ConsistentRead first for a
// linearizable read.
func (c *Coordinator) FSM() *fsm.FSM { return c.fsm }

// Raft exposes the raft node for diagnostics and advanced embedding.
func (c *Coordinator) Raft() *raft.Raft { return c.raft }

// IsLeader reports whether this node is the leader and has applied every
// entry of earlier terms, so that its state may be read linearizably.
func (c *Coordinator) IsLeader() bool { return c.leadership.ready() }

// leaderInfo is Leader (see apibackend.go) in the state machine's terms.
func (c *Coordinator) leaderInfo() (fsm.Coordinator, error) {
	addr, id := c.raft.LeaderWithID()
	if id == "" {
		return fsm.Coordinator{}, ErrNoLeader
	}
	info, ok := c.fsm.Coordinator(string(id))
	if string(id) == c.cfg.ID {
		info = c.selfInfo()
		ok = true
	}
	if !ok || info.HTTPAddress == "" {
		return fsm.Coordinator{ID: string(id), RaftAddress: string(addr)}, fmt.Errorf("%w: leader %s has not published its address yet", ErrNoLeader, id)
	}
	return info, nil
}

func (c *Coordinator) selfInfo() fsm.Coordinator {
	return fsm.Coordinator{ID: c.cfg.ID, RaftAddress: c.cfg.raftAdvertise(), HTTPAddress: c.cfg.HTTPAddress}
}

// notLeader builds the error for a call that needs the leader.
func (c *Coordinator) notLeader() error {
	leader, err := c.leaderInfo()
	if err != nil {
		return err
	}
	if leader.ID == c.cfg.ID {
		// Raft says we lead, but the term's barrier has not completed.
		return fmt.Errorf("%w: this node was just elected and is catching up", ErrNoLeader)
	}
	return &NotLeaderError{LeaderID: leader.ID, LeaderHTTPAddress: leader.HTTPAddress}
}

// deadline returns the time left for a call: the context's deadline, or
// ApplyTimeout.
func (c *Coordinator) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.cfg.ApplyTimeout)
}

// Apply proposes a command on the leader and waits until it is committed and
// applied, or the context ends. It returns the command's result: the state
// machine's typed error, or its value. Commands implementing fsm.Timed are
// stamped with this leader's clock. On a follower it fails at once with a
// *NotLeaderError (or ErrNoLeader); it never hangs past the deadline.
func (c *Coordinator) Apply(ctx context.Context, cmd fsm.Command) (any, error) {
	if !c.leadership.ready() {
		return nil, c.notLeader()
	}
	if t, ok := cmd.(fsm.Timed); ok {
		t.SetNow(time.Now())
	}
	data, err := fsm.Encode(cmd)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	dl, _ := ctx.Deadline()
	start := time.Now()
	future, err := await(c, ctx, func() raft.ApplyFuture { return c.raft.Apply(data, time.Until(dl)) })
	if obs := c.applyObs.Load(); obs != nil {
		(*obs)(cmd.Type(), time.Since(start), err)
	}
	if err != nil {
		return nil, err
	}
	ringBell(c.commitBell)
	ringBell(c.schedBell)
	if err, ok := future.Response().(error); ok {
		return nil, err
	}
	return future.Response(), nil
}

// ObserveApply installs fn (nil removes it): after each command this
// leader proposed, fn is told its type, how long Raft took to commit and
// apply it, and Raft's error (nil when the state machine answered, even
// with a typed error). Package metrics times Apply with it, without the
// coordinator knowing about Prometheus. fn must be quick and safe for
// concurrent use.
func (c *Coordinator) ObserveApply(fn func(t fsm.CommandType, d time.Duration, err error)) {
	if fn == nil {
		c.applyObs.Store(nil)
		return
	}
	c.applyObs.Store(&fn)
}

// wait waits for a raft future within the context and maps raft's errors.
// The caller may give up (its deadline, Shutdown); the goroutine waiting
// on the future goes on until Raft answers, and Shutdown waits for it.
func (c *Coordinator) wait(ctx context.Context, f raft.Future) error {
	_, err := await(c, ctx, func() raft.Future { return f })
	return err
}

// await calls submit, which hands Raft a request (Apply, Barrier...), and
// waits for its future within the context, mapping raft's errors. Both the
// hand-over (which blocks while Raft's queue is full) and the wait run in a
// goroutine counted in c.futures, so the caller returns as soon as ctx is
// done or Shutdown begins, whatever Raft does; the goroutine goes on until
// Raft answers, and Shutdown gives it futureDrain before it stops Raft.
func await[F raft.Future](c *Coordinator, ctx context.Context, submit func() F) (F, error) {
	type answer struct {
		f   F
		err error
	}
	done := make(chan answer, 1)
	c.futures.add()
	go func() {
		defer c.futures.done()
		f := submit()
		done <- answer{f, f.Error()}
	}()
	select {
	case a := <-done:
		return a.f, c.mapRaftError(a.err)
	case <-ctx.Done():
		var zero F
		return zero, fmt.Errorf("%w: %v", ErrTimeout, ctx.Err())
	case <-c.stop:
		var zero F
		return zero, ErrShutdown
	}
}

func (c *Coordinator) mapRaftError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrNotVoter):
		return c.notLeader()
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w: %v", ErrLeadershipLost, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrShutdown
	}
	return err
}

// ConsistentRead makes the next reads of FSM() linearizable: it returns nil
// once this node has confirmed with a quorum that it still leads. Every write
// acknowledged before the call is then applied here: writes of this term were
// applied before they were acknowledged, earlier terms' before the term's
// barrier completed. On a follower it fails with a *NotLeaderError.
func (c *Coordinator) ConsistentRead(ctx context.Context) error {
	if !c.leadership.ready() {
		return c.notLeader()
	}
	ctx, cancel := c.deadline(ctx)
	defer cancel()
	return c.wait(ctx, c.raft.VerifyLeader())
}

// LogBounds returns the first and last index held in the Raft log: entries
// before first were compacted into a snapshot.
func (c *Coordinator) LogBounds() (first, last uint64, err error) {
	if first, err = c.logs.FirstIndex(); err != nil {
		return 0, 0, err
	}
	last, err = c.logs.LastIndex()
	return first, last, err
}

// Snapshot takes a Raft snapshot now (and so truncates the log).
func (c *Coordinator) Snapshot() error {
	err := c.raft.Snapshot().Error()
	if errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return nil
	}
	return err
}

// WaitLeader waits until some leader is known to this node. When that
// leader is this node, it also waits until it is ready for writes (the log
// of earlier terms applied), so that a write right after it succeeds.
func (c *Coordinator) WaitLeader(ctx context.Context) (fsm.Coordinator, error) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if l, err := c.leaderInfo(); err == nil && (l.ID != c.cfg.ID || c.IsLeader()) {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return fsm.Coordinator{}, fmt.Errorf("%w: %v", ErrNoLeader, ctx.Err())
		case <-c.stop:
			return fsm.Coordinator{}, ErrShutdown
		case <-t.C:
		}
	}
}

// enforceStaticMounts makes the replicated mount table equal the configured
// static one, once per term (retrying until it succeeds or the term ends).
func (c *Coordinator) enforceStaticMounts(ctx context.Context) {
	want := &fsm.ReplaceMounts{Mounts: c.cfg.StaticMounts}
	for ctx.Err() == nil {
		if mountsEqual(c.fsm.Mounts(), c.cfg.StaticMounts) {
			return
		}
		_, err := c.Apply(ctx, want)
		if err == nil {
			c.log.Info("installed the static mount table", "mounts", len(c.cfg.StaticMounts))
			return
		}
		if errors.Is(err, fsm.ErrInvalid) || errors.Is(err, fsm.ErrConflict) {
			c.log.Error("the static mount table is invalid", "err", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// mountsEqual compares a table (sorted by path) with a configured list.
func mountsEqual(have []fsm.Mount, want []fsm.Mount) bool {
	if len(have) != len(want) {
		return false
	}
	byPath := make(map[string]fsm.Mount, len(want))
	for _, m := range want {
		if u, err := apath.ParseURI(m.UFS); err == nil {
			m.UFS = u.String()
		}
		byPath[m.Path] = m
	}
	for _, h := range have {
		w, ok := byPath[h.Path]
		if !ok || w.UFS != h.UFS || !maps.Equal(w.Options, h.Options) {
			return false
		}
	}
	return true
}
