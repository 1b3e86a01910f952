package worker

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/jsonhttp"
	"github.com/alluvium/alluvium/ufs"
)

// LocalHeader, set to "true", makes a worker serve a path it does not own
// (as ?local=true does): a client falling back to a replica sends it.
const LocalHeader = "X-Alluvium-Local"

// Handler serves the data API, the task API, health and stats.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+api.PathWorkerDataRoot+"/", w.scoped(api.PathWorkerDataRoot, w.ready(w.serveData))) // GET patterns match HEAD too
	mux.Handle("GET "+api.PathList+"/", w.scoped(api.PathList, w.ready(w.serveList)))
	mux.HandleFunc("GET /api/v1/health", w.serveHealth)
	mux.Handle("GET /api/v1/stats", w.scoped("/api/v1/stats", w.serveStats))
	mux.Handle("POST "+api.PathTaskLoad, w.auth(api.PathTaskLoad, w.ready(w.reporting(w.serveLoad))))
	mux.Handle("POST "+api.PathTaskFree, w.auth(api.PathTaskFree, w.member(w.serveFree)))
	mux.Handle("POST "+api.PathTaskPrune, w.auth(api.PathTaskPrune, w.member(w.servePrune)))
	mux.Handle("POST "+api.PathClearStale, w.auth(api.PathClearStale, w.member(w.serveClearStale)))
	mux.Handle("GET "+api.PathClearStale, w.auth(api.PathClearStale, w.serveClearStaleStatus))
	mux.Handle("GET "+api.PathCachedFiles, w.auth(api.PathCachedFiles, w.serveCachedFiles))
	mux.Handle("/api/v1/", unknownRoutes(mux, "/api/v1/")) // JSON 404 and 405, as the coordinators answer
	return mux
}

// ready answers 503 until the worker has its first policies from the
// coordinators: before, it knows no mount point, and would answer a load
// or a read of a file that exists with "not under any mount point". A 503
// makes the scheduler send the files again (or to their new owners) and a
// client try the next replica. A worker without coordinators is always
// ready (its policies are set by its embedder).
func (w *Worker) ready(h http.HandlerFunc) http.HandlerFunc {
	return w.member(func(rw http.ResponseWriter, r *http.Request) {
		if len(w.cfg.Coordinators) > 0 && w.applied.Load() == nil {
			rw.Header().Set("Retry-After", "1")
			jsonhttp.WriteError(rw, http.StatusServiceUnavailable, "worker "+w.id+" is starting: no policies from the coordinators yet")
			return
		}
		h(rw, r)
	})
}

// reporting answers 503 to load tasks until the file index has taken this
// worker's first holding report: a load's page then records what it cached
// at once (a worker that stopped right after would otherwise hold files the
// index never hears of).
func (w *Worker) reporting(h http.HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if len(w.cfg.Coordinators) > 0 && !w.journal.started() {
			rw.Header().Set("Retry-After", "1")
			jsonhttp.WriteError(rw, http.StatusServiceUnavailable, "worker "+w.id+" is starting: its holding is not reported yet")
			return
		}
		h(rw, r)
	}
}

// member answers 503 once the coordinators have removed this worker: it
// takes no task and serves no read until it is started again.
func (w *Worker) member(h http.HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if w.removed.Load() {
			jsonhttp.WriteError(rw, http.StatusServiceUnavailable, "worker "+w.id+" was removed from the cluster; restart it to register anew")
			return
		}
		h(rw, r)
	}
}

// resolve maps an Alluxio path to its UFS through the mount table, or
// answers the error (404 outside every mount, 400 for a bad path).
func (w *Worker) resolve(rw http.ResponseWriter, p string) (ufs.UFS, ufs.Location, bool) {
	fs, loc, err := w.resolver.Resolve(p)
	switch {
	case errors.Is(err, ufs.ErrNotFound):
		jsonhttp.WriteError(rw, http.StatusNotFound, err.Error())
	case errors.Is(err, ufs.ErrInvalid), errors.Is(err, ufs.ErrEscape):
		jsonhttp.WriteError(rw, http.StatusBadRequest, err.Error())
	case errors.Is(err, ufs.ErrNotAllowed):
		jsonhttp.WriteError(rw, http.StatusForbidden, err.Error())
	case err != nil:
		jsonhttp.WriteError(rw, http.StatusServiceUnavailable, err.Error())
	default:
		return fs, loc, true
	}
	return nil, ufs.Location{}, false
}

// serveData answers GET and HEAD /api/v1/data/<alluxio path>.
func (w *Worker) serveData(rw http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, api.PathWorkerDataRoot)
	fs, loc, ok := w.resolve(rw, p)
	if !ok {
		return
	}
	local := r.URL.Query().Get("local") == "true" || r.Header.Get(LocalHeader) == "true"
	if !local {
		if _, addr, self := w.owner(loc.Path); !self {
			target := w.scheme() + "://" + addr + r.URL.EscapedPath()
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(rw, r, target, http.StatusTemporaryRedirect)
			return
		}
	}
	if loc.Rel == "" {
		jsonhttp.WriteError(rw, http.StatusNotFound, loc.Path+" is a mount point, not a file")
		return
	}
	if r.URL.Query().Get(api.QueryCachedOnly) == "true" {
		if st, ok := w.cache.Stat(loc.Path); !ok || !st.Complete() {
			jsonhttp.WriteError(rw, http.StatusNotFound, loc.Path+" is not wholly cached on this worker")
			return
		}
	}
	if err := w.serveResolved(rw, r, p, fs, loc); err != nil {
		writeUFSError(rw, loc.Path, err)
	}
}

// countingWriter adds the bytes written to n (Stats.BytesServed).
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// Unwrap lets http.ResponseController reach the server's writer.
func (c countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// emptySuffixRanges rewrites each suffix range that selects no bytes
// ("-0", or "-N" of an empty file) as "<size>-", which ServeContent treats
// as the unsatisfiable range it is: skipped in a set, 416 alone (200 for an
// empty file). ServeContent itself answers them with a 206 and an inverted
// Content-Range such as "bytes 10-9/10" (golang/go#81262). White space is
// trimmed as net/textproto does.
func emptySuffixRanges(h string, size int64) (string, bool) {
	specs, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return h, false
	}
	parts := strings.Split(specs, ",")
	changed := false
	for i, p := range parts {
		start, end, ok := strings.Cut(p, "-")
		if !ok || strings.Trim(start, " \t\r\n") != "" {
			continue
		}
		end = strings.Trim(end, " \t\r\n")
		if end == "" || end[0] == '-' {
			continue // invalid: ServeContent answers 416
		}
		n, err := strconv.ParseInt(end, 10, 64)
		if err == nil && n >= 0 && min(n, size) == 0 {
			parts[i] = strconv.FormatInt(size, 10) + "-"
			changed = true
		}
	}
	return "bytes=" + strings.Join(parts, ","), changed
}

func writeUFSError(rw http.ResponseWriter, p string, err error) {
	switch {
	case errors.Is(err, ufs.ErrNotFound):
		jsonhttp.WriteError(rw, http.StatusNotFound, fmt.Sprintf("%s: no such file in the ufs", p))
	case errors.Is(err, ufs.ErrPermission):
		jsonhttp.WriteError(rw, http.StatusForbidden, err.Error())
	case errors.Is(err, ufs.ErrInvalid), errors.Is(err, ufs.ErrEscape):
		jsonhttp.WriteError(rw, http.StatusBadRequest, err.Error())
	case errors.Is(err, ufs.ErrClosed):
		jsonhttp.WriteError(rw, http.StatusServiceUnavailable, err.Error())
	default:
		jsonhttp.WriteError(rw, http.StatusBadGateway, err.Error())
	}
}

// Health is the answer of GET /api/v1/health.
type Health struct {
	ID             string `json:"id"`
	Address        string `json:"address"`
	PolicyVersion  uint64 `json:"policyVersion"`
	RingMembers    int    `json:"ringMembers"`
	Decommissioned bool   `json:"decommissioned,omitempty"`
}

func (w *Worker) serveHealth(rw http.ResponseWriter, _ *http.Request) {
	st := w.state.Load()
	jsonhttp.WriteJSON(rw, http.StatusOK, Health{ID: w.id, Address: w.cfg.HTTPAddress, PolicyVersion: st.version,
		RingMembers: st.ring.Len(), Decommissioned: w.decommissioned.Load()})
}

// Stats is the answer of GET /api/v1/stats: the cache's counters.
type Stats struct {
	ID              string           `json:"id"`
	MemoryHits      int64            `json:"memoryHits"`
	DiskHits        int64            `json:"diskHits"`
	Misses          int64            `json:"misses"`
	PageIns         int64            `json:"pageIns"`
	BytesFromOrigin int64            `json:"bytesFromOrigin"`
	Uncached        int64            `json:"uncached"`
	Evictions       map[string]int64 `json:"evictions"`
	UsedBytes       int64            `json:"usedBytes"`
	// CapacityBytes is what the cache holds at most: the configured
	// capacity, or less when the disk has less room.
	CapacityBytes           int64  `json:"capacityBytes"`
	ConfiguredCapacityBytes int64  `json:"configuredCapacityBytes"`
	Pages                   int64  `json:"pages"`
	Files                   int    `json:"files"`
	PolicyVersion           uint64 `json:"policyVersion"`
	// PeerLoadedFiles counts files a load task read from another worker
	// rather than the UFS (a rebalance's moves).
	PeerLoadedFiles int64 `json:"peerLoadedFiles"`
	// BytesServed counts the bytes of file data the data API answered
	// (to clients and to peers), headers not included.
	BytesServed int64 `json:"bytesServed"`
}

func (w *Worker) serveStats(rw http.ResponseWriter, _ *http.Request) {
	jsonhttp.WriteJSON(rw, http.StatusOK, w.Stats())
}

// Stats returns the worker's counters, as GET /api/v1/stats answers them.
func (w *Worker) Stats() Stats {
	s := w.cache.Stats()
	return Stats{ID: w.id, MemoryHits: s.MemoryHits, DiskHits: s.DiskHits, Misses: s.Misses,
		PageIns: s.PageIns, BytesFromOrigin: s.BytesFromOrigin, Uncached: s.Uncached, Evictions: s.Evictions,
		UsedBytes: s.UsedBytes, CapacityBytes: w.cache.Capacity(), ConfiguredCapacityBytes: w.cfg.CapacityBytes, Pages: s.Pages, Files: s.Files,
		PolicyVersion: w.PolicyVersion(), PeerLoadedFiles: w.peerLoads.Load(), BytesServed: w.served.Load()}
}
