package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// LoadResult reports what Load did.
type LoadResult struct {
	Meta          Meta
	LoadedPages   int64 // fetched from the origin and admitted
	LoadedBytes   int64
	CachedPages   int64 // already cached
	RejectedPages int64 // not admitted (policy, quota or capacity)
}

// ErrNotAdmitted is returned by Load when some pages could not be cached.
var ErrNotAdmitted = errors.New("cache: not every page could be admitted")

// A StreamOrigin also reads a file sequentially from an offset to its
// end. Load prefers it for files of several pages: one sequential read
// keeps the UFS's read-ahead (a local disk's, one S3 GET) where a read per
// page starts over each time.
type StreamOrigin interface {
	Origin
	Stream(ctx context.Context, off int64) (io.ReadCloser, error)
}

// loadWriters is how many goroutines of one Load write pages while its
// reader reads the next ones, and loadQueue how many read pages wait for
// them: a file being loaded holds at most loadWriters+loadQueue+1 page
// buffers.
const (
	loadWriters = 4
	loadQueue   = 2
)

// Load caches every page of a file (a load job's unit of work). Pages are
// read from the origin loadParallelism at a time; the first error stops
// the others. Loaded pages do not enter the memory tier: a load fills the
// disk tier without evicting what readers are using.
func (c *Cache) Load(ctx context.Context, path string, o Origin) (LoadResult, error) {
	v, err := c.prepare(ctx, path, o)
	if err != nil {
		return LoadResult{}, err
	}
	res := LoadResult{Meta: v.meta}
	if !v.cacheable {
		return res, fmt.Errorf("%w: %s matches a skipCache rule", ErrNotAdmitted, path)
	}
	pages := c.pageCount(v.meta.Size)
	switch {
	case pages == 0:
		err = c.admitEmpty(path, v.meta)
	case pages == 1: // most files of a small-file job: no goroutines
		err = c.loadPage(ctx, path, o, v, 0, &res)
	default:
		err = c.loadPages(ctx, path, o, v, pages, &res)
	}
	if err != nil {
		return res, err
	}
	if res.RejectedPages > 0 {
		return res, fmt.Errorf("%w: %d of %d pages of %s", ErrNotAdmitted, res.RejectedPages, pages, path)
	}
	return res, nil
}

// loadPages loads a file of several pages: the pages not yet cached are
// read in order, in runs of consecutive pages (one stream each), while
// loadWriters goroutines admit the pages already read.
func (c *Cache) loadPages(ctx context.Context, path string, o Origin, v view, pages int64, res *LoadResult) error {
	c.mu.Lock()
	f := c.files[path]
	if f != nil && f.version() != v.version {
		f = nil
	}
	todo := make([]int64, 0, pages)
	for idx := range pages {
		if f != nil && f.pageAt(uint32(idx)) != nil && f.pageAt(uint32(idx)).ready() {
			res.CachedPages++
		} else {
			todo = append(todo, idx)
		}
	}
	c.mu.Unlock()

	type readPage struct {
		idx int64
		buf *[]byte
	}
	queue := make(chan readPage, loadQueue)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range loadWriters {
		wg.Go(func() {
			for rp := range queue {
				data := (*rp.buf)[:c.pageLen(v.meta.Size, rp.idx)]
				_, ok := c.admit(path, v.meta, rp.idx, data)
				c.bufs.Put(rp.buf)
				mu.Lock()
				if ok {
					res.LoadedPages++
					res.LoadedBytes += int64(len(data))
				} else {
					res.RejectedPages++
				}
				mu.Unlock()
			}
		})
	}
	err := c.readRuns(ctx, path, o, v, todo, func(idx int64, buf *[]byte) bool {
		select {
		case queue <- readPage{idx, buf}:
			return true
		case <-ctx.Done():
			c.bufs.Put(buf)
			return false
		}
	})
	close(queue)
	wg.Wait()
	return err
}

// readRuns reads the pages todo (ascending) and hands each to put, which
// takes the buffer; a run of consecutive pages is read as one stream.
func (c *Cache) readRuns(ctx context.Context, path string, o Origin, v view, todo []int64, put func(int64, *[]byte) bool) error {
	for len(todo) > 0 {
		run := 1
		for run < len(todo) && todo[run] == todo[run-1]+1 {
			run++
		}
		start := todo[0] * c.cfg.PageSize
		rc, err := openStream(ctx, o, start, v.meta.Size)
		if err != nil {
			return err
		}
		for _, idx := range todo[:run] {
			want := c.pageLen(v.meta.Size, idx)
			buf := c.pageBuffer()
			if _, err = io.ReadFull(rc, (*buf)[:want]); err != nil {
				c.bufs.Put(buf)
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					err = fmt.Errorf("cache: %s shrank while being loaded (page %d)", path, idx)
				}
				break
			}
			c.stats.pageIns.Add(1)
			c.stats.bytesIn.Add(want)
			if !put(idx, buf) {
				err = ctx.Err()
				break
			}
		}
		rc.Close()
		if err != nil {
			return err
		}
		todo = todo[run:]
	}
	return nil
}

// openStream reads o from off to size, as one stream when o offers it, else
// through ReadAt.
func openStream(ctx context.Context, o Origin, off, size int64) (io.ReadCloser, error) {
	if so, ok := o.(StreamOrigin); ok {
		return so.Stream(ctx, off)
	}
	return io.NopCloser(io.NewSectionReader(readerAt{ctx, o}, off, size-off)), nil
}

// readerAt adapts an Origin to io.ReaderAt.
type readerAt struct {
	ctx context.Context
	o   Origin
}

func (r readerAt) ReadAt(p []byte, off int64) (int, error) { return r.o.ReadAt(r.ctx, p, off) }

// loadPage caches page idx unless it is cached already, counting the
// outcome in res. The page's buffer is reused: admit writes it to disk and
// keeps no reference.
func (c *Cache) loadPage(ctx context.Context, path string, o Origin, v view, idx int64, res *LoadResult) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	f := c.files[path]
	cached := f != nil && f.version() == v.version && f.pageAt(uint32(idx)) != nil && f.pageAt(uint32(idx)).ready()
	c.mu.Unlock()
	if cached {
		res.CachedPages++
		return nil
	}
	want := c.pageLen(v.meta.Size, idx)
	buf := c.pageBuffer()
	defer c.bufs.Put(buf)
	data := (*buf)[:want]
	n, err := o.ReadAt(ctx, data, idx*c.cfg.PageSize)
	if int64(n) < want {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("cache: %s shrank while being loaded", path)
		}
		return err
	}
	c.stats.pageIns.Add(1)
	c.stats.bytesIn.Add(want)
	if _, ok := c.admit(path, v.meta, idx, data); ok {
		res.LoadedPages++
		res.LoadedBytes += want
	} else {
		res.RejectedPages++
	}
	return nil
}

// pageSlack is what a pooled page buffer has beyond a page: room for a
// packed entry's header, so that a whole packed page is read in one pread.
const pageSlack = 8 << 10

// pageBuffer returns a buffer of a page and pageSlack from the pool, for
// loads and disk reads only (a page that enters the memory tier must own
// its bytes).
func (c *Cache) pageBuffer() *[]byte {
	if b, ok := c.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, c.cfg.PageSize+pageSlack)
	return &b
}
