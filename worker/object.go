package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/ufs"
)

// This file is the worker's read path as other front ends (package s3api)
// use it: the mount table, a page of a UFS listing and a file served
// through the cache, with the same reader, page writer and ServeContent as
// the data API. They return errors instead of writing JSON ones, so that a
// front end answers in its own format.

// ErrUnavailable: the worker serves no reads now (it is starting and has no
// policies yet, or the coordinators removed it).
var ErrUnavailable = errors.New("worker: not serving reads")

// MountPoints returns the Alluxio paths of the mount table in force, sorted.
func (w *Worker) MountPoints() []string {
	mounts := w.state.Load().mounts
	out := make([]string, 0, len(mounts))
	for _, m := range mounts {
		out = append(out, m.Path)
	}
	slices.Sort(out)
	return out
}

// ListFiles returns up to limit files at or below dir, an Alluxio path
// inside one mount, whose Alluxio paths sort (byte-wise) after cursor ("" to
// start; the cursor may lie outside the mount). Paths in the answer are
// Alluxio paths; next is "" when the listing is complete. One UFS page is
// read per call (ufs.UFS.List): nothing holds the whole listing.
func (w *Worker) ListFiles(ctx context.Context, dir, cursor string, limit int) ([]ufs.FileInfo, string, error) {
	if err := w.serving(); err != nil {
		return nil, "", err
	}
	fs, loc, err := w.resolver.Resolve(dir)
	if err != nil {
		return nil, "", err
	}
	base := loc.Mount.Path
	if base != "/" {
		base += "/"
	}
	rel := ""
	switch {
	case strings.HasPrefix(cursor, base):
		rel = cursor[len(base):]
	case cursor >= base:
		return nil, "", nil // the whole mount sorts at or before the cursor
	}
	files, next, err := fs.List(ctx, loc.Rel, rel, limit)
	if err != nil {
		return nil, "", err
	}
	for i := range files {
		files[i].Path = base + files[i].Path
	}
	if next != "" {
		next = base + next
	}
	return files, next, nil
}

// Owner returns the data API address of the worker that owns the Alluxio
// path p on the ring; self is true when it is this worker (or when no other
// can be named), as the data API decides its redirects.
func (w *Worker) Owner(p string) (addr string, self bool) {
	_, addr, self = w.owner(p)
	return addr, self
}

// ServeFile answers a GET or HEAD of the file at the Alluxio path p from
// this worker's cache, read through from the UFS on a miss, whoever owns it:
// Range, the conditional headers (ETag and Last-Modified are the UFS file's
// version) and HEAD are http.ServeContent's. Headers set on rw beforehand
// are kept (a Content-Type among them). It returns an error, having written
// nothing, when the file cannot be served: ufs.ErrNotFound (and
// ufs.ErrNoMount), ufs.ErrInvalid or ufs.ErrEscape for a bad path,
// ErrUnavailable, or the UFS's error.
func (w *Worker) ServeFile(rw http.ResponseWriter, r *http.Request, p string) error {
	if err := w.serving(); err != nil {
		return err
	}
	fs, loc, err := w.resolver.Resolve(p)
	if err != nil {
		return err
	}
	if loc.Rel == "" {
		return fmt.Errorf("%s is a mount point, not a file: %w", p, ufs.ErrNotFound)
	}
	return w.serveResolved(rw, r, p, fs, loc)
}

// serveResolved serves the file at loc through the cache (the data API's
// and the S3 API's reads): http.ServeContent over a reader of the cache,
// whose page writer has the cache write ranges straight to the connection.
// Before it has written anything it returns the error of reaching the file.
func (w *Worker) serveResolved(rw http.ResponseWriter, r *http.Request, p string, fs ufs.UFS, loc ufs.Location) error {
	o := &origin{fs: fs, rel: loc.Rel}
	meta, err := w.cache.Size(r.Context(), loc.Path, o)
	if errors.Is(err, ufs.ErrClosed) {
		// A policy change replaced the mount's client under this read.
		if fs, loc, err = w.resolver.Resolve(p); err == nil {
			o = &origin{fs: fs, rel: loc.Rel}
			meta, err = w.cache.Size(r.Context(), loc.Path, o)
		}
	}
	if err != nil {
		return err
	}
	h := rw.Header()
	h.Set(api.DataVersionHeader, strconv.FormatUint(meta.Version(), 10))
	etag := meta.ETag
	if etag == "" {
		etag = strconv.FormatUint(meta.Version(), 16)
	}
	h.Set("ETag", strconv.Quote(etag))
	if h.Get("Content-Type") == "" {
		ct := mime.TypeByExtension(path.Ext(loc.Path))
		if ct == "" {
			ct = "application/octet-stream" // never sniff: that would be a read
		}
		h.Set("Content-Type", ct)
	}
	h.Set("Accept-Ranges", "bytes")
	rd := &reader{ctx: r.Context(), c: w.cache, path: loc.Path, o: o, size: meta.Size}
	if rng, changed := emptySuffixRanges(r.Header.Get("Range"), meta.Size); changed {
		r = r.Clone(r.Context())
		r.Header.Set("Range", rng)
	}
	http.ServeContent(pageWriter{ResponseWriter: countingWriter{rw, &w.served}, rd: rd}, r, "", meta.ModTime, rd)
	return nil
}

// serving is nil when the worker serves reads (see ready and member).
func (w *Worker) serving() error {
	switch {
	case w.removed.Load():
		return fmt.Errorf("%w: worker %s was removed from the cluster", ErrUnavailable, w.id)
	case len(w.cfg.Coordinators) > 0 && w.applied.Load() == nil:
		return fmt.Errorf("%w: worker %s has no policies from the coordinators yet", ErrUnavailable, w.id)
	}
	return nil
}

// Logger returns the worker's logger (tagged with its id).
func (w *Worker) Logger() *slog.Logger { return w.log }
