package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/alluvium/alluvium/internal/jsonhttp"
	"github.com/alluvium/alluvium/policy"
)

// PathSnapshot is the route of backups: GET streams a snapshot file of the
// replicated state, POST restores one. It is an operator's route, not part
// of the Alluxio contract, hence under /api/v1/internal/ with the routes
// between workers and coordinators.
const PathSnapshot = "/api/v1/internal/snapshot"

// DefaultMaxSnapshotBytes bounds a restored snapshot file when
// Options.MaxSnapshotBytes is 0: the state of millions of cached files
// takes some hundreds of MiB.
const DefaultMaxSnapshotBytes int64 = 8 << 30

// SnapshotBackend is the part of a Backend that backs up and restores the
// replicated state. The file is opaque here.
type SnapshotBackend interface {
	// WriteSnapshotFile writes a snapshot file to w: of the state as of a
	// linearizable read on the leader, or, when stale, of this node's own
	// replica. ctx bounds the read's leadership check.
	WriteSnapshotFile(ctx context.Context, w io.Writer, stale bool) error
	// RestoreSnapshotFile verifies the snapshot file read from r and, on
	// the leader, installs it on every coordinator; it returns the file's
	// header as JSON. A bad file is refused with an error matching
	// policy.ErrInvalid, and nothing changes.
	RestoreSnapshotFile(ctx context.Context, r io.Reader) (json.RawMessage, error)
}

// registerSnapshotRoutes mounts the snapshot routes. They stream their
// files, so they are wrapped here rather than as JSON routes are, with the
// same authentication, leader forwarding and error answers, and their own
// body bound.
func (s *server) registerSnapshotRoutes(router Router) {
	for _, rt := range []route{
		{http.MethodGet, PathSnapshot, read, nil},
		{http.MethodPost, PathSnapshot, write, nil},
	} {
		var h http.Handler = s.wrapSnapshot(rt)
		if s.opts.Metrics != nil {
			h = s.opts.Metrics.Route(rt.method, rt.path, h)
		}
		router.Handle(rt.method, rt.path, h)
	}
}

func (s *server) wrapSnapshot(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, ok := s.admit(w, r, rt.method, rt.path)
		if !ok {
			return
		}
		w, done := s.audited(w, r, rt, caller)
		defer done()
		limit := s.opts.MaxSnapshotBytes
		if limit <= 0 {
			limit = DefaultMaxSnapshotBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		stale, err := staleParam(r)
		if err == nil {
			_, err = query(r)
		}
		if err != nil {
			s.writeError(w, err)
			return
		}
		if (rt.kind == write || !stale) && !s.b.IsLeader() {
			s.toLeader(w, r, rt)
			return
		}
		w.Header().Set(ServedByHeader, s.b.ID())
		if rt.method == http.MethodGet {
			s.saveSnapshot(w, r, stale)
		} else {
			s.restoreSnapshot(w, r)
		}
	})
}

// saveSnapshot streams the file. An error before its first byte is
// answered as usual; after it, the connection is cut, so that the client
// sees a broken download (which the file's size and checksum would reveal
// anyway) rather than a short file that looks complete.
func (s *server) saveSnapshot(w http.ResponseWriter, r *http.Request, stale bool) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	sw := &streamWriter{w: w}
	err := s.b.WriteSnapshotFile(ctx, sw, stale)
	switch {
	case err == nil:
	case !sw.started:
		s.writeError(w, err)
	default:
		s.opts.Logger.Warn("api: a snapshot download broke off", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// streamWriter sends the 200 and its headers with the first byte.
type streamWriter struct {
	w       http.ResponseWriter
	started bool
}

func (sw *streamWriter) Write(p []byte) (int, error) {
	if !sw.started {
		sw.started = true
		sw.w.Header().Set("Content-Type", "application/octet-stream")
		sw.w.Header().Set("Cache-Control", "no-store")
		sw.w.WriteHeader(http.StatusOK)
	}
	return sw.w.Write(p)
}

func (s *server) restoreSnapshot(w http.ResponseWriter, r *http.Request) {
	info, err := s.b.RestoreSnapshotFile(r.Context(), r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.Is(err, policy.ErrInvalid) && !errors.As(err, &mbe) {
			// Read the rest of a refused upload, so that the client, still
			// sending, gets the answer rather than a reset connection.
			_, _ = io.Copy(io.Discard, r.Body)
		}
		s.writeError(w, err)
		return
	}
	jsonhttp.WriteJSON(w, http.StatusOK, info)
}
