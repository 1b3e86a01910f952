package worker

import (
	"context"
	"errors"
	"io"
	"net/http"

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
	rc, err := o.fs.Open(ctx, o.rel, off, int64(len(p)))
	if err != nil {
		return 0, err
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
	rc, err := o.fs.Open(ctx, o.rel, off, -1)
	if err != nil || o.limit == nil {
		return rc, err
	}
	return &pacedReader{ctx: ctx, rc: rc, limit: o.limit}, nil
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

// view returns the next bytes of the file, at most max, as a view of the
// cache's page holding them (see cache.Cache.View), and advances past them.
func (r *reader) view(max int64) ([]byte, error) {
	if r.off >= r.size {
		return nil, io.EOF
	}
	b, err := r.c.View(r.ctx, r.path, r.o, r.off)
	if err != nil {
		return nil, err
	}
	b = b[:min(int64(len(b)), max, r.size-r.off)]
	r.off += int64(len(b))
	return b, nil
}

// pageWriter is the ResponseWriter given to http.ServeContent. When
// ServeContent copies a range of the file (io.CopyN of the reader, after a
// Seek), its ReadFrom writes the cache's pages straight to the connection,
// one Write a page, instead of copying them through 32 KiB buffers: a 1
// MiB page leaves in one write. Other copies (the multipart body of a
// multi-range request) go the ordinary way.
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
	var n int64
	for lr.N > 0 {
		b, err := pw.rd.view(lr.N)
		if err == io.EOF {
			return n, nil // as io.Copy: CopyN reports the short copy
		}
		if err != nil {
			return n, err
		}
		m, err := pw.ResponseWriter.Write(b)
		n += int64(m)
		lr.N -= int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
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
