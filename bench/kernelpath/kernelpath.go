// Package kernelpath measures what serving bytes of a local data file over
// loopback HTTP costs along different kernel paths (issue 14): sendfile,
// pread+write, pread+CRC-32C+write at several check granularities, and
// mmap+CRC-32C+write. It is a benchmark package only; nothing in the cache
// imports it. See docs/performance.md, "The kernel path".
package kernelpath

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// castagnoli is the CRC-32C table; hash/crc32 uses SSE4.2 (and PCLMULQDQ for
// long buffers) on amd64 when the CPU has them.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Granularities at which the fixture's stored checksums are kept.
var granularities = []int64{4 << 10, 64 << 10, 1 << 20}

// Fixture is one data file with its CRC-32C sums per block at each
// granularity, as if written beside the data when it was cached.
type Fixture struct {
	Dir  string
	Path string
	Size int64
	sums map[int64][]uint32 // granularity -> sum per block
}

// NewFixture writes a file of size bytes (random content) in a new directory
// under dir and computes its per-block sums. The file is left in the page
// cache (it was just written), and it is read once more to make sure.
func NewFixture(dir string, size int64, seed uint64) (*Fixture, error) {
	d, err := os.MkdirTemp(dir, "kernelpath-")
	if err != nil {
		return nil, err
	}
	fx := &Fixture{Dir: d, Path: filepath.Join(d, "data"), Size: size, sums: map[int64][]uint32{}}
	f, err := os.Create(fx.Path)
	if err != nil {
		os.RemoveAll(d)
		return nil, err
	}
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), 1})
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		n := min(int64(len(buf)), size-off)
		_, _ = rng.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			os.RemoveAll(d)
			return nil, err
		}
	}
	// Sync so that write-back of the fresh file does not run during the
	// measurements; the pages stay in the page cache.
	if err := f.Sync(); err != nil {
		f.Close()
		os.RemoveAll(d)
		return nil, err
	}
	if err := f.Close(); err != nil {
		os.RemoveAll(d)
		return nil, err
	}
	if err := fx.Resum(); err != nil {
		os.RemoveAll(d)
		return nil, err
	}
	return fx, nil
}

// Resum reads the file and (re)computes the stored sums at every
// granularity. It is how the fixture is "cached"; tests flip bytes after it.
func (fx *Fixture) Resum() error {
	data, err := os.ReadFile(fx.Path)
	if err != nil {
		return err
	}
	for _, g := range granularities {
		n := (fx.Size + g - 1) / g
		s := make([]uint32, n)
		for i := range n {
			end := min((i+1)*g, fx.Size)
			s[i] = crc32.Checksum(data[i*g:end], castagnoli)
		}
		fx.sums[g] = s
	}
	return nil
}

// Remove deletes the fixture's directory.
func (fx *Fixture) Remove() error { return os.RemoveAll(fx.Dir) }

// ErrChecksum is returned when a block's bytes do not match its stored sum.
var ErrChecksum = errors.New("kernelpath: checksum mismatch")

// blockSpan returns the block-aligned range [start, end) of granularity g
// that covers [off, off+n), clipped to size.
func blockSpan(off, n, g, size int64) (start, end int64) {
	start = off / g * g
	end = min((off+n+g-1)/g*g, size)
	return start, end
}

// check verifies span (which begins at the block-aligned offset start)
// against the stored sums of granularity g.
func (fx *Fixture) check(span []byte, start, g int64) error {
	sums := fx.sums[g]
	for i := int64(0); i < int64(len(span)); i += g {
		end := min(i+g, int64(len(span)))
		if crc32.Checksum(span[i:end], castagnoli) != sums[(start+i)/g] {
			return fmt.Errorf("%w: block %d of %d B", ErrChecksum, (start+i)/g, g)
		}
	}
	return nil
}

// Path names one way of serving a range of the data file.
type Path string

const (
	Sendfile  Path = "sendfile"   // io.CopyN from a kept *os.File to the response: sendfile(2)
	Pread     Path = "pread"      // ReadAt into a pooled buffer, Write
	PreadCRC  Path = "pread-crc"  // ReadAt of the touched blocks, CRC each, Write the range
	MmapCRC   Path = "mmap-crc"   // CRC the touched blocks in a read-only mapping, Write from it
	OpenPread Path = "open-pread" // open, ReadAt, close per request, Write
)

// Server serves GET /?o=OFF&n=LEN from the fixture along one path.
type Server struct {
	Addr string

	fx   *Fixture
	path Path
	g    int64 // check granularity for the CRC paths

	file *os.File      // kept fd for pread paths
	fds  chan *os.File // kept fds for sendfile (each has its own offset)
	mem  []byte        // read-only mapping for mmap
	bufs sync.Pool     // *[]byte

	srv *http.Server
	ln  net.Listener
	wg  sync.WaitGroup
}

// maxSpan bounds the bytes a request may read: a range of up to 1 MiB at an
// unaligned offset touches at most two 1 MiB blocks.
const maxSpan = 3 << 20

// MaxLen is the largest range a request may ask for.
const MaxLen = 1 << 20

// NewServer starts an HTTP server on 127.0.0.1 serving fx along path p with
// check granularity g (ignored by the unchecked paths).
func NewServer(fx *Fixture, p Path, g int64) (*Server, error) {
	s := &Server{fx: fx, path: p, g: g}
	s.bufs.New = func() any { b := make([]byte, maxSpan); return &b }
	var err error
	if s.file, err = os.Open(fx.Path); err != nil {
		return nil, err
	}
	switch p {
	case Sendfile:
		s.fds = make(chan *os.File, 256)
		for range cap(s.fds) {
			f, err := os.Open(fx.Path)
			if err != nil {
				s.closeFiles()
				return nil, err
			}
			s.fds <- f
		}
	case MmapCRC:
		s.mem, err = syscall.Mmap(int(s.file.Fd()), 0, int(fx.Size), syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			s.closeFiles()
			return nil, err
		}
	case Pread, PreadCRC, OpenPread:
	default:
		s.closeFiles()
		return nil, fmt.Errorf("kernelpath: unknown path %q", p)
	}
	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.closeFiles()
		return nil, err
	}
	s.Addr = s.ln.Addr().String()
	s.srv = &http.Server{Handler: s}
	s.wg.Go(func() { _ = s.srv.Serve(s.ln) })
	return s, nil
}

func (s *Server) closeFiles() {
	if s.mem != nil {
		_ = syscall.Munmap(s.mem)
		s.mem = nil
	}
	if s.fds != nil {
		close(s.fds)
		for f := range s.fds {
			f.Close()
		}
		s.fds = nil
	}
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}

// Close stops the server (closing its connections) and closes its files.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.wg.Wait()
	s.closeFiles()
	return err
}

func parseRange(r *http.Request, size int64) (off, n int64, ok bool) {
	q := r.URL.Query()
	off, err1 := strconv.ParseInt(q.Get("o"), 10, 64)
	n, err2 := strconv.ParseInt(q.Get("n"), 10, 64)
	if err1 != nil || err2 != nil || off < 0 || n <= 0 || n > MaxLen || off+n > size {
		return 0, 0, false
	}
	return off, n, true
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	off, n, ok := parseRange(r, s.fx.Size)
	if !ok {
		http.Error(w, "bad range", http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	switch s.path {
	case Sendfile:
		f := <-s.fds
		defer func() { s.fds <- f }()
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		// *io.LimitedReader around *os.File: the response's ReadFrom hands
		// it to (*net.TCPConn).ReadFrom, which uses sendfile(2) after the
		// first 512 bytes (copied to sniff, as http.ServeContent does).
		_, _ = io.CopyN(w, f, n)
	case Pread, OpenPread:
		bp := s.bufs.Get().(*[]byte)
		defer s.bufs.Put(bp)
		buf := (*bp)[:n]
		f := s.file
		if s.path == OpenPread {
			var err error
			if f, err = os.Open(s.fx.Path); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer f.Close()
		}
		if _, err := f.ReadAt(buf, off); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(buf)
	case PreadCRC:
		bp := s.bufs.Get().(*[]byte)
		defer s.bufs.Put(bp)
		start, end := blockSpan(off, n, s.g, s.fx.Size)
		span := (*bp)[:end-start]
		if _, err := s.file.ReadAt(span, start); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if err := s.fx.check(span, start, s.g); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(span[off-start : off-start+n])
	case MmapCRC:
		start, end := blockSpan(off, n, s.g, s.fx.Size)
		if err := s.fx.check(s.mem[start:end], start, s.g); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(s.mem[off : off+n])
	}
}

// Client fetches ranges from a Server over keep-alive connections.
type Client struct {
	hc *http.Client
	tr *http.Transport
}

// NewClient returns a client keeping up to conns idle connections.
func NewClient(conns int) *Client {
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
	}
	return &Client{hc: &http.Client{Transport: tr}, tr: tr}
}

// Fetch gets [off, off+n) from addr and copies the body to dst.
func (c *Client) Fetch(addr string, off, n int64, dst io.Writer) (int64, error) {
	resp, err := c.hc.Get("http://" + addr + "/?o=" + strconv.FormatInt(off, 10) + "&n=" + strconv.FormatInt(n, 10))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, fmt.Errorf("kernelpath: status %s", resp.Status)
	}
	got, err := io.Copy(dst, resp.Body)
	if err == nil && got != n {
		err = fmt.Errorf("kernelpath: got %d bytes, want %d", got, n)
	}
	return got, err
}

// Close closes the client's idle connections.
func (c *Client) Close() { c.tr.CloseIdleConnections() }
