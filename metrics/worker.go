package metrics

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/alluvium/alluvium/cache"
	"github.com/alluvium/alluvium/ufs"
	"github.com/prometheus/client_golang/prometheus"
)

// WorkerStats are the numbers the worker collector reads at each scrape:
// the worker's counters (worker.Stats) and its quota directories' usage.
type WorkerStats struct {
	Cache           cache.Stats
	CapacityBytes   int64
	BytesServed     int64
	PeerLoadedFiles int64
	PolicyVersion   uint64
	// Quotas are the quota directories with a budget on this worker.
	Quotas map[string]QuotaUsage
}

// QuotaUsage is a quota directory's budget on a worker and its usage.
type QuotaUsage struct {
	BudgetBytes, UsedBytes int64
}

// Worker is a worker's instrumentation.
type Worker struct {
	// HTTP times the worker's requests: wrap its Handler in HTTP.Middleware.
	HTTP *HTTP
	ops  *prometheus.HistogramVec
}

// RegisterWorker registers a worker's metrics on reg: what stats returns at
// each scrape (cache counters and usage, bytes served), UFS operation
// latency (install WrapUFS with worker.Worker.WrapUFS) and HTTP requests.
func RegisterWorker(reg prometheus.Registerer, stats func() WorkerStats) (*Worker, error) {
	ops := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "alluvium_ufs_operation_duration_seconds",
		Help: "Time of the worker's UFS operations, by operation (stat, open: until the first byte can be read, list: one page), UFS scheme and result (ok, not_found, canceled, error).",
		// 0.1 ms .. 26 s: a local stat is sub-millisecond, an S3 GET tens of ms.
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	}, []string{"operation", "scheme", "result"})
	if err := reg.Register(ops); err != nil {
		return nil, err
	}
	if err := reg.Register(&workerCollector{stats: stats}); err != nil {
		return nil, err
	}
	h, err := newHTTP(reg, false)
	if err != nil {
		return nil, err
	}
	return &Worker{HTTP: h, ops: ops}, nil
}

// WrapUFS returns fs, the client of the mount of loc, with its operations
// timed.
func (m *Worker) WrapUFS(fs ufs.UFS, loc ufs.Location) ufs.UFS {
	scheme, _, ok := strings.Cut(loc.Mount.UFS, "://")
	if !ok {
		scheme = "unknown"
	}
	return &timedUFS{UFS: fs, ops: m.ops, scheme: strings.ToLower(scheme)}
}

// timedUFS times a UFS client's operations. Errors pass through unchanged:
// the worker tells ErrClosed and ErrNotFound apart with errors.Is.
type timedUFS struct {
	ufs.UFS
	ops    *prometheus.HistogramVec
	scheme string
}

func (t *timedUFS) observe(op string, start time.Time, err error) {
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, ufs.ErrNotFound):
		result = "not_found"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		result = "canceled"
	default:
		result = "error"
	}
	t.ops.WithLabelValues(op, t.scheme, result).Observe(time.Since(start).Seconds())
}

func (t *timedUFS) List(ctx context.Context, dir, cursor string, limit int) ([]ufs.FileInfo, string, error) {
	start := time.Now()
	files, next, err := t.UFS.List(ctx, dir, cursor, limit)
	t.observe("list", start, err)
	return files, next, err
}

func (t *timedUFS) Stat(ctx context.Context, path string) (ufs.FileInfo, error) {
	start := time.Now()
	fi, err := t.UFS.Stat(ctx, path)
	t.observe("stat", start, err)
	return fi, err
}

func (t *timedUFS) Open(ctx context.Context, path string, off, length int64) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := t.UFS.Open(ctx, path, off, length)
	t.observe("open", start, err)
	return rc, err
}

var (
	descCacheHits       = prometheus.NewDesc("alluvium_cache_hits_total", "Page reads served from the cache, by tier (memory, disk).", []string{"tier"}, nil)
	descCacheMisses     = prometheus.NewDesc("alluvium_cache_misses_total", "Page reads the cache could not serve, which went to the UFS.", nil, nil)
	descCachePageIns    = prometheus.NewDesc("alluvium_cache_page_ins_total", "Pages read from the UFS into the cache.", nil, nil)
	descCachePageInB    = prometheus.NewDesc("alluvium_cache_page_in_bytes_total", "Bytes read from the UFS into the cache.", nil, nil)
	descCacheUncached   = prometheus.NewDesc("alluvium_cache_uncached_pages_total", "Pages read from the UFS but not admitted (a skipCache rule, a full quota, a full cache of higher priority).", nil, nil)
	descCacheEvictions  = prometheus.NewDesc("alluvium_cache_evictions_total", "Pages removed from the cache, by reason.", []string{"reason"}, nil)
	descCacheUsed       = prometheus.NewDesc("alluvium_cache_used_bytes", "Bytes of pages cached on disk.", nil, nil)
	descCacheCapacity   = prometheus.NewDesc("alluvium_cache_capacity_bytes", "Bytes of pages the worker may cache on disk.", nil, nil)
	descCachePages      = prometheus.NewDesc("alluvium_cache_pages", "Pages cached.", nil, nil)
	descCacheFiles      = prometheus.NewDesc("alluvium_cache_files", "Files with at least one cached page.", nil, nil)
	descQuotaUsed       = prometheus.NewDesc("alluvium_cache_quota_used_bytes", "Bytes cached under a quota directory with a budget on this worker.", []string{"directory"}, nil)
	descQuotaBudget     = prometheus.NewDesc("alluvium_cache_quota_budget_bytes", "This worker's share of a quota directory's budget.", []string{"directory"}, nil)
	descServed          = prometheus.NewDesc("alluvium_worker_served_bytes_total", "Bytes of file data the data API answered, to clients and peers.", nil, nil)
	descPeerLoaded      = prometheus.NewDesc("alluvium_worker_peer_loaded_files_total", "Files a load task read from another worker instead of the UFS (rebalance moves).", nil, nil)
	descPolicyVersion   = prometheus.NewDesc("alluvium_worker_policy_version", "Version of the cluster policies this worker enforces (the coordinators' applied index when it pulled them).", nil, nil)
	evictionReasons     = []string{"capacity", "quota", "ttl", "stale", "free", "unowned", "corrupt"}
	workerCollectorDesc = []*prometheus.Desc{descCacheHits, descCacheMisses, descCachePageIns, descCachePageInB, descCacheUncached,
		descCacheEvictions, descCacheUsed, descCacheCapacity, descCachePages, descCacheFiles, descQuotaUsed, descQuotaBudget,
		descServed, descPeerLoaded, descPolicyVersion}
)

// workerCollector reads a worker's counters at scrape time.
type workerCollector struct {
	stats func() WorkerStats
}

func (wc *workerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range workerCollectorDesc {
		ch <- d
	}
}

func (wc *workerCollector) Collect(ch chan<- prometheus.Metric) {
	ws := wc.stats()
	s := ws.Cache
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter(descCacheHits, s.MemoryHits, "memory")
	counter(descCacheHits, s.DiskHits, "disk")
	counter(descCacheMisses, s.Misses)
	counter(descCachePageIns, s.PageIns)
	counter(descCachePageInB, s.BytesFromOrigin)
	counter(descCacheUncached, s.Uncached)
	// Every known reason is reported from the start, so that rate() sees
	// the first eviction; a reason the cache adds later still shows.
	reasons := slices.Concat(evictionReasons, slices.Sorted(maps.Keys(s.Evictions)))
	slices.Sort(reasons)
	for _, r := range slices.Compact(reasons) {
		counter(descCacheEvictions, s.Evictions[r], r)
	}
	gauge(descCacheUsed, s.UsedBytes)
	gauge(descCacheCapacity, ws.CapacityBytes)
	gauge(descCachePages, s.Pages)
	gauge(descCacheFiles, int64(s.Files))
	for dir, q := range ws.Quotas {
		gauge(descQuotaBudget, q.BudgetBytes, dir)
		gauge(descQuotaUsed, q.UsedBytes, dir)
	}
	counter(descServed, ws.BytesServed)
	counter(descPeerLoaded, ws.PeerLoadedFiles)
	gauge(descPolicyVersion, int64(ws.PolicyVersion))
}
