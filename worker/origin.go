package worker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/cache"
	"github.com/alluvium/alluvium/ufs"
	"golang.org/x/time/rate"
)

// origin is a UFS file as the cache's source of pages.
type origin struct {
	fs  ufs.UFS
	rel string
	// meta, when set, answers Stat without asking the UFS again: a task
	// that has just stat'ed the file passes it on.
	meta *cache.Meta
	// limit, when set, paces the reads (a load task's bandwidth).
	limit *rate.Limiter
	// peers, when set, are tried before the UFS by Stream.
	peers *peerSource
}

func metaOf(fi ufs.FileInfo) cache.Meta {
	return cache.Meta{Size: fi.Size, ModTime: fi.ModTime, ETag: fi.ETag}
}

func (o *origin) Stat(ctx context.Context) (cache.Meta, error) {
	if o.meta != nil {
		return *o.meta, nil
	}
	fi, err := o.fs.Stat(ctx, o.rel)
	if err != nil {
		return cache.Meta{}, err
	}
	return metaOf(fi), nil
}

func (o *origin) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if o.limit != nil {
		if err := o.limit.WaitN(ctx, min(len(p), o.limit.Burst())); err != nil {
			return 0, err
		}
	}
	var rc io.ReadCloser
	if o.peers != nil {
		rc = o.peers.stream(ctx, off)
	}
	if rc == nil {
		var err error
		if rc, err = o.fs.Open(ctx, o.rel, off, int64(len(p))); err != nil {
			return 0, err
		}
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p)
	if errors.Is(err, io.ErrUnexpectedEOF) || (err == io.EOF && n == 0 && len(p) > 0) {
		err = io.EOF
	}
	return n, err
}

// Stream reads the file from off to its end in one request, paced by the
// task's bandwidth like ReadAt.
func (o *origin) Stream(ctx context.Context, off int64) (io.ReadCloser, error) {
	var rc io.ReadCloser
	var err error
	if o.peers != nil {
		rc = o.peers.stream(ctx, off)
	}
	if rc == nil {
		rc, err = o.fs.Open(ctx, o.rel, off, -1)
	}
	if err != nil || o.limit == nil {
		return rc, err
	}
	return &pacedReader{ctx: ctx, rc: rc, limit: o.limit}, nil
}

// peerSource reads a file from the workers that hold it, when their copy
// is the version the UFS has now.
type peerSource struct {
	w       *Worker
	path    string // Alluxio path
	version uint64 // cache.Meta.Version of the UFS's current file
	addrs   []string
	used    bool // a stream came from a peer
}

// stream returns the file from off to its end from the first peer that
// serves that version from its cache, nil when none does.
func (p *peerSource) stream(ctx context.Context, off int64) io.ReadCloser {
	for _, addr := range p.addrs {
		u := url.URL{Scheme: "http", Host: addr, Path: api.PathWorkerDataRoot + p.path,
			RawQuery: "local=true&" + api.QueryCachedOnly + "=true"}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			continue
		}
		if off > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
		}
		if p.w.cfg.Token != "" {
			req.Header.Set("Authorization", "Bearer "+p.w.cfg.Token)
		}
		resp, err := p.w.client.Do(req)
		if err != nil {
			continue
		}
		want := http.StatusOK
		if off > 0 {
			want = http.StatusPartialContent
		}
		if resp.StatusCode == want && resp.Header.Get(api.DataVersionHeader) == strconv.FormatUint(p.version, 10) {
			p.used = true
			return resp.Body
		}
		resp.Body.Close()
	}
	return nil
}

// pacedReader reads at most its limiter's rate.
type pacedReader struct {
	ctx   context.Context
	rc    io.ReadCloser
	limit *rate.Limiter
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if len(b) > p.limit.Burst() {
		b = b[:p.limit.Burst()]
	}
	if err := p.limit.WaitN(p.ctx, len(b)); err != nil {
		return 0, err
	}
	return p.rc.Read(b)
}

func (p *pacedReader) Close() error { return p.rc.Close() }

// reader is an io.ReadSeeker over a file read through the cache, for
// http.ServeContent. It allocates nothing per read: ServeContent's copy
// buffer is filled straight from the cache's pages.
type reader struct {
	ctx  context.Context
	c    *cache.Cache
	path string
	o    cache.Origin
	size int64
	off  int64
}

func (r *reader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if rem := r.size - r.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := r.c.ReadAt(r.ctx, r.path, r.o, p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// pageWriter is the ResponseWriter given to http.ServeContent. When
// ServeContent copies a range of the file (io.CopyN of the reader, after a
// Seek), its ReadFrom has the cache write the range straight to the
// connection (cache.Cache.WriteTo: a page or the checked blocks of one a
// Write) instead of copying it through 32 KiB buffers. Other copies (the
// multipart body of a multi-range request) go the ordinary way.
type pageWriter struct {
	http.ResponseWriter
	rd *reader
}

// Unwrap lets http.ResponseController reach the server's writer.
func (pw pageWriter) Unwrap() http.ResponseWriter { return pw.ResponseWriter }

func (pw pageWriter) ReadFrom(src io.Reader) (int64, error) {
	lr, ok := src.(*io.LimitedReader)
	if !ok || lr.R != pw.rd {
		return io.Copy(pw.ResponseWriter, src)
	}
	rd := pw.rd
	n, err := rd.c.WriteTo(rd.ctx, rd.path, rd.o, pw.ResponseWriter, rd.off, max(min(lr.N, rd.size-rd.off), 0))
	rd.off += n
	lr.N -= n
	return n, err // as io.Copy: CopyN reports a short copy
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("worker: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("worker: negative position")
	}
	r.off = offset
	return offset, nil
}
