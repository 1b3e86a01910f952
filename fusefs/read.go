package fusefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/client"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Reads. Each open file (handle) reads on its own: a random read is one
// ranged request of exactly what the kernel asked; a sequential one is
// served from 1 MiB chunks fetched ahead of the reader by at most
// maxInflight concurrent requests, over a window that starts at
// initialWindow and doubles with every sequential read up to
// Config.Readahead. The chunks read ahead over all handles are bounded by
// Config.ReadaheadMemory; the chunk a reader waits for is always fetched.
// A failed request is tried again (the client moves to the next owner on
// the ring), readAttempts times in all.
const (
	initialWindow = 2 * chunkSize
	maxInflight   = 8
	readAttempts  = 4
	retryPause    = 100 * time.Millisecond
)

// budget counts the bytes read ahead over all handles.
type budget struct {
	max  int64
	used atomic.Int64
}

func (b *budget) take(n int64) bool {
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *budget) give(n int64) { b.used.Add(-n) }

// chunkPool recycles chunk buffers: a sequential reader goes through a
// gigabyte a second, which would otherwise be allocated (and zeroed).
var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// chunk is [index*chunkSize, +chunkSize) of a file, being fetched or held.
// Its buffer goes back to the pool when the last reference is dropped: the
// handle's map holds one, the fetch one, and every reply being written
// from it one.
type chunk struct {
	done     chan struct{}
	buf      *[]byte
	data     []byte // what was read: *buf, cut at the end of the file
	err      error
	budgeted bool // counted in the budget (read ahead, not waited for)
	refs     atomic.Int32
}

func (c *chunk) unref() {
	if c.refs.Add(-1) == 0 {
		chunkPool.Put(c.buf)
	}
}

// chunkReply is a reply written to the kernel straight from a chunk: go-fuse
// writes the Slices and then calls Done, which lets go of the chunk.
// Bytes (go-fuse's other path) copies, so a chunk is never reused while a
// reply still points into it.
type chunkReply struct {
	data []byte
	c    *chunk
	once sync.Once
}

func (r *chunkReply) Size() int                       { return len(r.data) }
func (r *chunkReply) Slices() ([][]byte, fuse.Status) { return [][]byte{r.data}, fuse.OK }
func (r *chunkReply) Done()                           { r.once.Do(r.c.unref) }
func (r *chunkReply) Bytes(buf []byte) ([]byte, fuse.Status) {
	if cap(buf) < len(r.data) {
		buf = make([]byte, len(r.data))
	}
	return buf[:copy(buf[:len(r.data)], r.data)], fuse.OK
}

// handle is an open file.
type handle struct {
	f    *fsys
	path string
	size int64

	ctx    context.Context // cancelled at release: ends the fetches
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex // guards what follows, never held across I/O
	next     int64      // where a sequential read would start
	window   int64
	inflight int
	chunks   map[int64]*chunk
}

var (
	_ fs.FileReader   = (*handle)(nil)
	_ fs.FileReleaser = (*handle)(nil)
	_ fuse.ReadResult = (*chunkReply)(nil)
)

func newHandle(f *fsys, path string, size int64) *handle {
	ctx, cancel := context.WithCancel(context.Background())
	return &handle{f: f, path: path, size: size, ctx: ctx, cancel: cancel, chunks: map[int64]*chunk{}}
}

// Read reads len(dest) bytes at off (fewer at the end of the file).
func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= h.size || len(dest) == 0 {
		return fuse.ReadResultData(nil), 0
	}
	n := min(int64(len(dest)), h.size-off)
	need := h.plan(off, n)
	if need == nil {
		got, err := h.fetch(ctx, dest[:n], off)
		if err != nil {
			return nil, h.fail(err)
		}
		return fuse.ReadResultData(dest[:got]), 0
	}
	defer func() {
		for _, c := range need {
			if c != nil {
				c.unref()
			}
		}
	}()
	for _, c := range need {
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, syscall.EINTR
		}
		if c.err != nil {
			h.drop(c)
			return nil, h.fail(c.err)
		}
	}
	start := off % chunkSize
	if len(need) == 1 { // the usual case: no copy, the reply is the chunk
		c := need[0]
		need[0] = nil // the reply lets go of it
		end := min(start+n, int64(len(c.data)))
		return &chunkReply{data: c.data[min(start, end):end], c: c}, 0
	}
	copied := int64(0)
	for _, c := range need {
		if start >= int64(len(c.data)) {
			break // the file is shorter than it was: the read ends here
		}
		copied += int64(copy(dest[copied:n], c.data[start:]))
		start = 0
	}
	return fuse.ReadResultData(dest[:copied]), 0
}

// plan records a read of n bytes at off and returns the chunks holding it
// (each with a reference for the caller), starting fetches of them and of
// the window ahead; nil means a random read, to be fetched as it is.
func (h *handle) plan(off, n int64) []*chunk {
	h.mu.Lock()
	defer h.mu.Unlock()
	first, last := off/chunkSize, (off+n-1)/chunkSize
	_, held := h.chunks[first]
	// The kernel's own readahead sends several requests at once, which
	// arrive a little out of order: near the stream is sequential too.
	span := max(h.window, kernelReadahead)
	near := h.window > 0 && off >= h.next-span && off <= h.next+span
	sequential := off == h.next || near
	if near {
		h.next = max(h.next, off+n)
	} else {
		h.next = off + n
	}
	switch {
	case h.f.cfg.Readahead == 0 || !sequential:
		h.window = 0
		if !held {
			return nil
		}
	case h.window == 0:
		h.window = min(initialWindow, max(h.f.cfg.Readahead, chunkSize))
	default:
		h.window = min(h.window*2, max(h.f.cfg.Readahead, chunkSize))
	}
	for i, c := range h.chunks { // behind the reader: done with
		if i < first-1 {
			h.release(i, c)
		}
	}
	need := make([]*chunk, 0, last-first+1)
	for i := first; i <= last; i++ {
		c := h.start(i, false)
		c.refs.Add(1)
		need = append(need, c)
	}
	end := min((off+n+h.window-1)/chunkSize, (h.size-1)/chunkSize)
	for i := last + 1; i <= end && h.inflight < maxInflight; i++ {
		if _, ok := h.chunks[i]; !ok && h.f.budget.take(chunkSize) {
			h.start(i, true)
		}
	}
	return need
}

// start returns chunk i, fetching it unless it is held (h.mu held).
func (h *handle) start(i int64, budgeted bool) *chunk {
	if c, ok := h.chunks[i]; ok {
		return c
	}
	c := &chunk{done: make(chan struct{}), budgeted: budgeted, buf: chunkPool.Get().(*[]byte)}
	c.refs.Store(2) // the map's and the fetch's
	h.chunks[i] = c
	h.inflight++
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer c.unref()
		buf := (*c.buf)[:min(chunkSize, h.size-i*chunkSize)]
		got, err := h.fetch(h.ctx, buf, i*chunkSize)
		c.data, c.err = buf[:got], err
		h.mu.Lock()
		h.inflight--
		h.mu.Unlock()
		close(c.done)
	}()
	return c
}

// release forgets chunk i (h.mu held).
func (h *handle) release(i int64, c *chunk) {
	if h.chunks[i] == c {
		delete(h.chunks, i)
		if c.budgeted {
			h.f.budget.give(chunkSize)
		}
		c.unref()
	}
}

// drop forgets a chunk that failed, so that the next read fetches it again.
func (h *handle) drop(c *chunk) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, held := range h.chunks {
		if held == c {
			h.release(i, c)
		}
	}
}

// fetch reads len(buf) bytes at off through the client (the owner on the
// ring, then the next owners), trying again on a failure. It returns fewer
// bytes only at the end of the file.
func (h *handle) fetch(ctx context.Context, buf []byte, off int64) (int, error) {
	var err error
	for attempt := range readAttempts {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * retryPause):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		var n int
		if n, err = h.fetchOnce(ctx, buf, off); err == nil || ctx.Err() != nil {
			return n, err
		}
		var ce *client.Error
		if errors.As(err, &ce) && ce.StatusCode < 500 {
			return 0, err // the answer (404...), not a failure
		}
		h.f.cfg.Logger.Debug("read failed; trying again", "path", h.path, "off", off, "attempt", attempt+1, "err", err)
	}
	return 0, err
}

func (h *handle) fetchOnce(ctx context.Context, buf []byte, off int64) (int, error) {
	r, err := h.f.c.Open(ctx, h.path, fmt.Sprintf("bytes=%d-%d", off, off+int64(len(buf))-1))
	if isRangeNotSatisfiable(err) {
		return 0, nil // the file is shorter than it was
	}
	if err != nil {
		return 0, err
	}
	defer r.Close()
	if r.Size > int64(len(buf)) {
		return 0, fmt.Errorf("%s: asked for %d bytes at %d, %s answers %d", h.path, len(buf), off, r.Worker, r.Size)
	}
	n, err := io.ReadFull(r, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) && r.Size >= 0 && int64(n) == r.Size {
		err = nil // the file is shorter than it was
	}
	return n, err
}

// fail logs a read's error and returns its errno.
func (h *handle) fail(err error) syscall.Errno {
	if h.ctx.Err() == nil {
		h.f.cfg.Logger.Warn("read failed", "path", h.path, "err", err)
	}
	return errno(err)
}

// Release ends the fetches in flight and gives their memory back.
func (h *handle) Release(context.Context) syscall.Errno {
	h.cancel()
	h.wg.Wait()
	h.mu.Lock()
	for i, c := range h.chunks {
		h.release(i, c)
	}
	h.mu.Unlock()
	return 0
}
