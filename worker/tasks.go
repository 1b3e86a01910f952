package worker

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/cache"
	"github.com/alluvium/alluvium/internal/jsonhttp"
	"github.com/alluvium/alluvium/ufs"
	"golang.org/x/time/rate"
)

// serveLoad runs a load task: up to LoadConcurrency files at once (a
// batch is the scheduler's unit of parallelism across workers, this is the
// unit within one), and the answer reports every file in the task's order.
// A task whose request is cancelled, or whose worker is stopping, stops
// between files and pages.
func (w *Worker) serveLoad(rw http.ResponseWriter, r *http.Request) {
	var t api.LoadTask
	if !jsonhttp.ReadBody(rw, r, &t) {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(w.tasks, cancel)()
	lim := w.limits.acquire(t.JobID, t.BandwidthBytes, w.cfg.PageSize)
	defer w.limits.release(t.JobID, lim)
	results := make([]api.FileResult, len(t.Paths))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(t.Paths), w.loadConcurrency()) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(t.Paths)); i = next.Add(1) - 1 {
				results[i] = w.loadOne(ctx, t, t.Paths[i], lim)
				if !t.LoadMetadataOnly {
					w.observe(&results[i])
				}
			}
		})
	}
	wg.Wait()
	jsonhttp.WriteJSON(rw, http.StatusOK, api.TaskResult{Results: results})
}

// jobLimits holds the bandwidth limiter of each load job with tasks on
// this worker: a job's bandwidth is per worker, however many of its pages
// the scheduler has sent at once, and however it has cut them into tasks. A
// limiter outlives its job's last task by limiterLinger: a job's pages
// arrive one after another, and a limiter made anew for each would start
// each page with a full second of burst, so that no page was ever paced.
type jobLimits struct {
	mu   sync.Mutex
	jobs map[string]*jobLimit
}

type jobLimit struct {
	lim   *rate.Limiter
	tasks int
	idle  time.Time // when tasks fell to 0
}

// limiterLinger is how long a job's limiter is kept after its last task.
const limiterLinger = 30 * time.Second

// acquire returns the job's limiter (nil when bytesPerSecond is 0), made
// at its first task; a changed bandwidth takes effect at once.
func (l *jobLimits) acquire(job string, bytesPerSecond, pageSize int64) *rate.Limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	burst := int(max(bytesPerSecond, pageSize))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.jobs == nil {
		l.jobs = map[string]*jobLimit{}
	}
	now := time.Now()
	for id, jl := range l.jobs { // drop the limiters of jobs gone quiet
		if jl.tasks == 0 && now.Sub(jl.idle) > limiterLinger {
			delete(l.jobs, id)
		}
	}
	jl := l.jobs[job]
	if jl == nil {
		jl = &jobLimit{lim: rate.NewLimiter(rate.Limit(bytesPerSecond), burst)}
		l.jobs[job] = jl
	} else if jl.lim.Limit() != rate.Limit(bytesPerSecond) {
		jl.lim.SetLimit(rate.Limit(bytesPerSecond))
		jl.lim.SetBurst(burst)
	}
	jl.tasks++
	return jl.lim
}

// release ends a task of the job; the limiter stays for limiterLinger.
func (l *jobLimits) release(job string, lim *rate.Limiter) {
	if lim == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if jl := l.jobs[job]; jl != nil {
		if jl.tasks--; jl.tasks == 0 {
			jl.idle = time.Now()
		}
	}
}

func (w *Worker) loadConcurrency() int {
	if w.cfg.LoadConcurrency > 0 {
		return w.cfg.LoadConcurrency
	}
	return DefaultLoadConcurrency
}

func (w *Worker) loadOne(ctx context.Context, t api.LoadTask, p string, lim *rate.Limiter) api.FileResult {
	fr := api.FileResult{Path: p}
	fs, loc, err := w.resolver.Resolve(p)
	if err != nil {
		fr.Error = err.Error()
		return fr
	}
	fr.Path = loc.Path
	fi, err := fs.Stat(ctx, loc.Rel)
	if err != nil {
		fr.Error = err.Error()
		return fr
	}
	meta := metaOf(fi)
	fr.Size = meta.Size
	if t.LoadMetadataOnly {
		return fr
	}
	if cs, ok := w.cache.Stat(loc.Path); ok {
		changed := cs.Meta.Changed(meta)
		switch {
		case t.SkipIfExists && cs.Complete() && (!t.IfChanged || !changed):
			fr.Skipped = true
			return fr
		case t.IfChanged && !changed && cs.Complete():
			fr.Skipped = true
			return fr
		case changed:
			// The cache would go on serving its cached version under an
			// immutable rule: drop it so that the load takes the new one.
			w.cache.Free(loc.Path)
		}
	}
	o := &origin{fs: fs, rel: loc.Rel, meta: &meta, limit: lim}
	if addrs := t.Peers[p]; len(addrs) > 0 {
		o.peers = &peerSource{w: w, path: loc.Path, version: meta.Version(), addrs: addrs}
	}
	lr, err := w.cache.Load(ctx, loc.Path, o)
	if o.peers != nil && o.peers.used {
		w.peerLoads.Add(1)
	}
	fr.Bytes = lr.LoadedBytes
	switch {
	case err == nil:
	case errors.Is(err, cache.ErrNotAdmitted) && lr.RejectedPages == 0 && lr.LoadedPages == 0 && lr.CachedPages == 0 && meta.Size > 0:
		// A skipCache rule: the policy says not to cache it, which is
		// not a failure of the load.
		fr.Skipped = true
	case errors.Is(err, cache.ErrNotAdmitted):
		fr.Error = err.Error()
		// The cache refuses a page for a full quota budget, or for a full
		// cache of data of higher priority; only the first is a quota's
		// doing.
		fr.QuotaExceeded = w.underBudget(loc.Path)
	default:
		fr.Error = err.Error()
	}
	return fr
}

// observe records in fr whether the cache holds fr.Path whole now, with the
// holding change number that makes it so (see cache.HoldingOf).
func (w *Worker) observe(fr *api.FileResult) {
	h := w.cache.HoldingOf(fr.Path)
	fr.Held, fr.HoldEpoch, fr.HoldSeq = h.Held, h.Epoch, h.Seq
}

// underBudget reports whether a quota budget governs path on this worker.
func (w *Worker) underBudget(path string) bool {
	for _, dir := range w.state.Load().budgets {
		if apath.Contains(dir, path) {
			return true
		}
	}
	return false
}

// serveFree runs a free task: the cached pages of each path (a file, or a
// directory and everything under it) are dropped. A path that is no longer
// under a mount point is still freed by its Alluxio path: an unmount frees
// its data after the mount is gone.
func (w *Worker) serveFree(rw http.ResponseWriter, r *http.Request) {
	var t api.FreeTask
	if !jsonhttp.ReadBody(rw, r, &t) {
		return
	}
	res := api.TaskResult{Results: make([]api.FileResult, 0, len(t.Paths))}
	for _, p := range t.Paths {
		fr := api.FileResult{Path: p}
		if loc, err := ufs.Locate(w.state.Load().mounts, p); err == nil {
			fr.Path = loc.Path
		} else if err := apath.Validate(p); err != nil {
			fr.Error = err.Error()
			res.Results = append(res.Results, fr)
			continue
		}
		if cs, ok := w.cache.Stat(fr.Path); ok {
			fr.Size = cs.Meta.Size
		}
		files, bytes := w.cache.Free(fr.Path)
		fr.Bytes = bytes
		fr.Skipped = files == 0
		w.observe(&fr)
		res.Results = append(res.Results, fr)
	}
	jsonhttp.WriteJSON(rw, http.StatusOK, res)
}

// servePrune runs a prune task: a rebalance drops the copies this worker
// no longer owns, once their new owners hold them. Dropping is a free's
// work (the coordinator paces prunes under pruneBandwidth).
func (w *Worker) servePrune(rw http.ResponseWriter, r *http.Request) {
	w.serveFree(rw, r)
}

// clearStale is the state of the background clear-stale scan.
type clearStale struct {
	mu     sync.Mutex
	status api.ClearStaleStatus
	ran    bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// report returns the status, false when no clear ever ran.
func (c *clearStale) report() (api.ClearStaleStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status, c.ran
}

func (c *clearStale) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}

func (c *clearStale) wait() { c.wg.Wait() }

// clearBatch is how many files a clear-stale drops under one hold of the
// cache's lock, so that reads go on between batches and a stop is quick.
const clearBatch = 4096

// StartClearStale starts a background scan that drops every cached file
// this worker does not own (among Replicas owners) on the current ring. It
// refuses when the ring does not hold this worker: then every file would be
// unowned, which is far more likely a worker that has not synced yet than
// one that should hold nothing. A running scan goes on (no error).
func (w *Worker) StartClearStale() error {
	rg := w.state.Load().ring
	if !rg.Has(w.id) {
		return errors.New("this worker is not on the ring it knows (no policies yet, or not live); nothing cleared")
	}
	c := &w.clear
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status.Running {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.ran = true
	c.status = api.ClearStaleStatus{Worker: w.id, Running: true}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel()
		err := w.clearStale(ctx)
		c.mu.Lock()
		c.status.Running = false
		if err != nil {
			c.status.Error = err.Error()
		}
		st := c.status
		c.mu.Unlock()
		w.log.Info("worker: clear-stale done", "scanned", st.ScannedFiles, "removedBytes", st.RemovedBytes, "err", err)
	}()
	return nil
}

func (w *Worker) clearStale(ctx context.Context) error {
	var paths []string
	w.cache.Files("/", func(fs cache.FileState) bool {
		paths = append(paths, fs.Path)
		return true
	})
	for len(paths) > 0 {
		if err := ctx.Err(); err != nil {
			return errors.New("stopped")
		}
		n := min(len(paths), clearBatch)
		batch := make(map[string]bool, n)
		for _, p := range paths[:n] {
			batch[p] = true
		}
		paths = paths[n:]
		rg := w.state.Load().ring // the ring in force now, batch by batch
		if !rg.Has(w.id) {
			return errors.New("this worker left the ring; stopped")
		}
		_, bytes := w.cache.DropUnowned(func(p string) bool { return !batch[p] || w.owns(rg, p) })
		w.clear.mu.Lock()
		w.clear.status.ScannedFiles += int64(n)
		w.clear.status.RemovedBytes += bytes
		w.clear.mu.Unlock()
	}
	return nil
}

// serveClearStale starts ({"start": true}) or stops ({"start": false}) a
// clear-stale and answers its status; 409 when it cannot start.
func (w *Worker) serveClearStale(rw http.ResponseWriter, r *http.Request) {
	var req api.ClearStaleRequest
	if !jsonhttp.ReadBody(rw, r, &req) {
		return
	}
	if req.Start {
		if err := w.StartClearStale(); err != nil {
			jsonhttp.WriteError(rw, http.StatusConflict, err.Error())
			return
		}
	} else {
		w.clear.stop()
	}
	w.serveClearStaleStatus(rw, r)
}

func (w *Worker) serveClearStaleStatus(rw http.ResponseWriter, _ *http.Request) {
	st, _ := w.clear.report()
	st.Worker = w.id
	jsonhttp.WriteJSON(rw, http.StatusOK, st)
}

// defaultFilesPage and maxFilesPage bound a page of GET PathCachedFiles.
const (
	defaultFilesPage = 1000
	maxFilesPage     = 100000
)

// serveCachedFiles lists cached files under ?prefix= (default "/") in path
// order, after ?lastKey= (exclusive), ?count= at a time.
func (w *Worker) serveCachedFiles(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prefix := q.Get("prefix")
	if prefix == "" {
		prefix = "/"
	}
	if err := apath.Validate(prefix); err != nil {
		jsonhttp.WriteError(rw, http.StatusBadRequest, "prefix: "+err.Error())
		return
	}
	count := defaultFilesPage
	if s := q.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxFilesPage {
			jsonhttp.WriteError(rw, http.StatusBadRequest, "count must be 1 to "+strconv.Itoa(maxFilesPage))
			return
		}
		count = n
	}
	lastKey := q.Get("lastKey")
	var all []api.CachedFile
	w.cache.Files(prefix, func(fs cache.FileState) bool {
		if fs.Path > lastKey {
			all = append(all, api.CachedFile{Path: fs.Path, Size: fs.Meta.Size, CachedBytes: fs.Bytes, Complete: fs.Complete()})
		}
		return true
	})
	slices.SortFunc(all, func(a, b api.CachedFile) int { return strings.Compare(a.Path, b.Path) })
	res := api.CachedFiles{Results: all}
	if len(all) > count {
		res.Results = all[:count]
		res.NextKey = all[count-1].Path
	}
	if res.Results == nil {
		res.Results = []api.CachedFile{}
	}
	jsonhttp.WriteJSON(rw, http.StatusOK, res)
}
