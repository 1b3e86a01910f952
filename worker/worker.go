package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/cache"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/policy"
	"github.com/alluvium/alluvium/ring"
	"github.com/alluvium/alluvium/ufs"
	"github.com/google/uuid"
)

// Worker is a cache worker. Create it with New, serve Handler, then Start.
type Worker struct {
	cfg       Config
	id        string
	log       *slog.Logger
	cache     *cache.Cache
	pool      *ufs.Pool
	resolver  *resolver
	startTime time.Time
	client    *http.Client
	// coord calls the coordinators (registration, heartbeats, policy
	// pulls), with failover; nil without coordinators.
	coord *client.Client

	state atomic.Pointer[state]
	rings ring.Cache // the ring of the last membership: policies change far more often
	// applied is the last WorkerPolicies installed, as received.
	applied atomic.Pointer[api.WorkerPolicies]
	// setMu orders SetPolicies calls, so that an older version never
	// replaces a newer one.
	setMu sync.Mutex
	// decommissioned is set once a coordinator says so: the worker then
	// never claims to own a path.
	decommissioned atomic.Bool
	// removed is set once the coordinators answer that this worker was
	// removed from the membership: it then takes no task and serves no
	// read until it is started again (and registers anew).
	removed atomic.Bool
	// journal keeps the cache's holding changes until the file index has
	// them (holdings.go).
	journal *journal

	clear clearStale
	// limits paces each load job's reads on this worker, shared by the
	// job's tasks in flight.
	limits jobLimits
	// peerLoads counts files loaded from another worker.
	peerLoads atomic.Int64
	// tasks is cancelled by StopTasks: load tasks in flight end at once
	// (their files answered with the reason) instead of holding a graceful
	// HTTP shutdown for as long as their bandwidth makes them last.
	tasks     context.Context
	stopTasks context.CancelFunc
	// served counts the bytes of file data the data API has written.
	served atomic.Int64

	mu      sync.Mutex
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
	closed  bool
}

// state is what one policy version says, swapped in whole so that a read
// sees one consistent version without taking a lock.
type state struct {
	version uint64
	mounts  []policy.Mount
	ring    *ring.Ring
	addrs   map[string]string // worker id -> address
	budgets []string          // quota directories with a budget here
}

// New opens the worker's cache and id in cfg.DataDir. It makes no network
// request; Start does.
func New(cfg Config) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	id, err := loadID(filepath.Join(cfg.DataDir, "worker-id"))
	if err != nil {
		return nil, err
	}
	var coord *client.Client
	if len(cfg.Coordinators) > 0 {
		opts := []client.Option{client.WithToken(cfg.Token)}
		if cfg.TLS != nil && cfg.TLS.Client != nil {
			opts = append(opts, client.WithTLS(cfg.TLS.Client))
		}
		if coord, err = client.New(cfg.Coordinators, opts...); err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
	}
	j := newJournal()
	ccfg := cache.Config{
		OnHolding:     j.add,
		Dir:           filepath.Join(cfg.DataDir, "cache"),
		PageSize:      cfg.PageSize,
		CapacityBytes: cfg.CapacityBytes,
		MemoryBytes:   cfg.MemoryBytes,
		Fsync:         cfg.Fsync,
		Now:           cfg.Now,
		Logger:        cfg.Logger,
	}
	c, err := cache.Open(ccfg)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	w := &Worker{
		cfg:       cfg,
		id:        id,
		log:       cfg.Logger.With("worker", id),
		cache:     c,
		pool:      ufs.NewCheckedPool(cfg.AllowedUFS),
		startTime: time.Now(),
		journal:   j,
		client:    newPeerHTTPClient(cfg.TLS),
		coord:     coord,
	}
	w.resolver = &resolver{Resolver: &ufs.Resolver{Mounts: func() []policy.Mount { return w.state.Load().mounts }, Pool: w.pool}}
	empty, _ := ring.New(nil, ring.DefaultConfig())
	w.state.Store(&state{ring: empty, addrs: map[string]string{}})
	w.clear.status.Worker = id
	w.tasks, w.stopTasks = context.WithCancel(context.Background())
	return w, nil
}

// StopTasks ends the load tasks in flight and makes new ones fail at once:
// the first step of stopping a worker, before its HTTP server drains. The
// coordinator sends their files again, to this worker once it is back or
// to their new owners.
func (w *Worker) StopTasks() { w.stopTasks() }

// loadID reads the worker id, or creates one. The id must outlive restarts:
// it is the worker's place on the ring, and with it its cached data.
func loadID(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if u, ok := strings.CutPrefix(id, "worker-"); ok {
			if _, err := uuid.Parse(u); err == nil {
				return id, nil
			}
		}
		return "", fmt.Errorf("worker: %s holds %q, not worker-<uuid>; remove it to get a new id", name, id)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("worker: %w", err)
	}
	id := "worker-" + uuid.NewString()
	if err := writeAtomic(name, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("worker: write id: %w", err)
	}
	return id, nil
}

// writeAtomic writes a file so that a crash leaves the old or the new
// content, never a torn one.
func writeAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(name)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// resolver is the pool's resolver, with the decorator of WrapUFS applied
// to every client it hands out.
type resolver struct {
	*ufs.Resolver
	wrap func(ufs.UFS, ufs.Location) ufs.UFS
}

func (r *resolver) Resolve(location string) (ufs.UFS, ufs.Location, error) {
	fs, loc, err := r.Resolver.Resolve(location)
	if err == nil && r.wrap != nil {
		fs = r.wrap(fs, loc)
	}
	return fs, loc, err
}

// WrapUFS makes every UFS client the worker resolves (for reads, listings
// and load tasks) pass through wrap: package metrics times the operations
// with it. The decorator must return the client's errors unchanged. Call it
// before serving Handler and before Start.
func (w *Worker) WrapUFS(wrap func(fs ufs.UFS, loc ufs.Location) ufs.UFS) {
	w.resolver.wrap = wrap
}

// ID returns the worker's persistent id.
func (w *Worker) ID() string { return w.id }

// DataDir returns the directory of the worker's id and cache.
func (w *Worker) DataDir() string { return w.cfg.DataDir }

// Cache returns the worker's cache (for stats and tests).
func (w *Worker) Cache() *cache.Cache { return w.cache }

// PolicyVersion returns the version of the policies in force.
func (w *Worker) PolicyVersion() uint64 { return w.state.Load().version }

// Policies returns the policies in force, as the coordinators sent them
// (mount options included: do not log them). Zero before the first.
func (w *Worker) Policies() api.WorkerPolicies {
	if p := w.applied.Load(); p != nil {
		return *p
	}
	return api.WorkerPolicies{}
}

// Ring returns the ring in force.
func (w *Worker) Ring() *ring.Ring { return w.state.Load().ring }

// SetPolicies installs a version of the policies: the cache policy (this
// worker's quota budgets, TTLs, priorities, cache-filter rules), the mount
// table (clients of changed or removed mounts are closed) and the ring. The
// policy loop calls it with each pull; tests call it directly. A version
// older than the one in force is ignored; the same version is applied again
// (a coordinator restored from an older snapshot is not trusted to count
// the same way, so equal is not skipped).
func (w *Worker) SetPolicies(p api.WorkerPolicies) error {
	w.setMu.Lock()
	defer w.setMu.Unlock()
	if cur := w.state.Load(); p.Version < cur.version {
		return nil
	}
	pol := cache.Policy{
		Priorities: map[string]policy.Priority{},
		TTLs:       map[string]time.Duration{},
		Budgets:    map[string]int64{},
	}
	var errs []error
	for dir, b := range p.Budgets {
		pol.Budgets[dir] = b
	}
	for _, t := range p.TTLs {
		if t.TTL != nil {
			pol.TTLs[t.Path] = time.Duration(*t.TTL)
		}
	}
	for _, pr := range p.Priorities {
		v, err := policy.ParsePriority(pr.Priority)
		if err != nil {
			errs = append(errs, fmt.Errorf("priority of %s: %w", pr.Path, err))
			continue
		}
		pol.Priorities[pr.Path] = v
	}
	for _, r := range p.Filter.Rules {
		k, err := policy.ParseRuleKind(r.Rule)
		if err != nil {
			errs = append(errs, fmt.Errorf("cache filter %q: %w", r.Pattern, err))
			continue
		}
		fr := policy.FilterRule{Rule: k, Pattern: r.Pattern}
		if r.Time != nil {
			fr.Time = time.Duration(*r.Time)
		}
		pol.Rules = append(pol.Rules, fr)
	}
	if p.Filter.DefaultRule != "" {
		k, err := policy.ParseRuleKind(p.Filter.DefaultRule)
		if err != nil {
			errs = append(errs, fmt.Errorf("default cache filter: %w", err))
		} else {
			pol.Default = policy.FilterRule{Rule: k}
			if p.Filter.DefaultTime != nil {
				pol.Default.Time = time.Duration(*p.Filter.DefaultTime)
			}
		}
	}

	mounts := make([]policy.Mount, 0, len(p.Mounts))
	for _, m := range p.Mounts {
		mounts = append(mounts, policy.Mount{Path: m.Path, UFS: m.UFS, Options: m.Options})
	}
	members := make(map[string]ring.Capacity, len(p.Workers))
	addrs := make(map[string]string, len(p.Workers))
	for _, n := range p.Workers {
		addrs[n.ID] = n.Address
		if n.ID == w.id && n.State == api.WorkerDecommissioned {
			w.markDecommissioned()
		}
		if inRing(p.RingMode, n.State) {
			members[n.ID] = ring.Capacity{Bytes: n.CapacityBytes, Scale: n.RingWeight}
		}
	}
	rg, err := w.rings.FromMembers(members)
	if err != nil {
		// Keep the old ring: a worker that cannot compute owners must not
		// start redirecting reads somewhere arbitrary.
		errs = append(errs, fmt.Errorf("ring: %w", err))
		rg = w.state.Load().ring
	}
	budgets := make([]string, 0, len(pol.Budgets))
	for dir := range pol.Budgets {
		budgets = append(budgets, dir)
	}
	slices.Sort(budgets)

	w.cache.SetPolicy(pol)
	// The new mount table goes in before the pool closes the clients of
	// changed mounts: a read in between then opens a client of the new
	// mount, never one of the old that nobody would close.
	w.state.Store(&state{version: p.Version, mounts: mounts, ring: rg, addrs: addrs, budgets: budgets})
	w.applied.Store(&p)
	w.pool.Sync(mounts)
	if err := errors.Join(errs...); err != nil {
		w.log.Warn("worker: policies applied in part", "version", p.Version, "err", err)
		return err
	}
	return nil
}

// inRing reports whether a worker in state is a ring member: a dynamic ring
// holds LIVE workers only, a static one all but the decommissioned.
func inRing(mode, st string) bool {
	if mode == "static" {
		return st != api.WorkerDecommissioned
	}
	return st == api.WorkerLive
}

// markRemoved stops the worker serving: the coordinators removed it.
func (w *Worker) markRemoved(reason string) {
	if !w.removed.Swap(true) {
		w.stopTasks()
		w.log.Warn("worker: removed from the cluster by the coordinators; taking no tasks and serving no reads until restarted (a restart registers it anew)", "reason", reason)
	}
}

// Removed reports whether the coordinators removed this worker.
func (w *Worker) Removed() bool { return w.removed.Load() }

func (w *Worker) markDecommissioned() {
	if !w.decommissioned.Swap(true) {
		w.log.Warn("worker: decommissioned by the coordinators; no longer serving as an owner")
	}
}

// owner returns the worker that should serve path and its address; self is
// true when that is this worker (or when no other can be named: an empty
// ring, or one that does not know where the owner is).
func (w *Worker) owner(path string) (id, addr string, self bool) {
	st := w.state.Load()
	var buf [2]string // no allocation per read
	owners := st.ring.AppendOwners(buf[:0], path, 2)
	for _, o := range owners {
		if o == w.id {
			if w.decommissioned.Load() {
				continue // pass the read to the next owner
			}
			return o, "", true
		}
		a := st.addrs[o]
		if a == "" {
			break
		}
		return o, a, false
	}
	return w.id, "", true
}

// owns reports whether this worker is among the path's replicas on the
// current ring (clear-stale).
func (w *Worker) owns(rg *ring.Ring, path string) bool {
	return slices.Contains(rg.Owners(path, w.cfg.Replicas), w.id)
}

// Start registers with the coordinators and runs the heartbeat and policy
// loops, and the TTL sweep, in the background until Shutdown (or ctx
// ends). With no coordinators configured only the sweep runs.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("worker: shut down")
	}
	if w.started {
		return errors.New("worker: started already")
	}
	w.started = true
	ctx, w.cancel = context.WithCancel(ctx)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.sweepLoop(ctx)
	}()
	if len(w.cfg.Coordinators) == 0 {
		return nil
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.run(ctx)
	}()
	return nil
}

// sweepLoop drops files whose TTL expired. Reads never see expired data
// anyway (the cache checks the TTL on each read); the sweep gives the space
// back for files nobody reads.
func (w *Worker) sweepLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := w.cache.Sweep(); n > 0 {
				w.log.Info("worker: dropped files past their TTL", "files", n)
			}
		}
	}
}

// Shutdown stops the loops and a running clear-stale, then closes the UFS
// clients and the cache's memory tier (pages stay on disk). Stop serving
// Handler first.
func (w *Worker) Shutdown(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.stopTasks()
	if w.cancel != nil {
		w.cancel()
	}
	w.mu.Unlock()
	w.clear.stop()
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		w.clear.wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	err = errors.Join(err, w.pool.Close())
	w.cache.Close()
	return err
}
