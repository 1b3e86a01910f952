package main

// The closed-loop load generator, after bench/apibench's: N persistent
// keep-alive HTTP/1.1 connections, each sending its next GET as soon as the
// previous answer is read whole. Requests are written from a prebuilt
// buffer, answers parsed with net/http's reader and their bodies read into a
// per-connection buffer large enough that a 1 MiB body takes few reads, so
// that the generator costs both systems the same and as little CPU as
// possible: it shares the machine with them.

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// target is one system serving one scenario: requests are whole HTTP/1.1
// GETs, of a file each or of a range of one file, prebuilt.
type target struct {
	system   string // "nginx" or "alluvium"
	addr     string // host:port
	requests [][]byte
	size     int64       // every answer must carry this many body bytes
	status   int         // and this status: 200, or 206 for ranges
	tls      *tls.Config // when set, connections are TLS
}

// result is what a step measured.
type result struct {
	ok       int64
	bytes    int64
	errs     int64
	firstErr string
	lat      []time.Duration // latencies of the ok requests, sorted
	elapsed  time.Duration
}

func (r *result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// mbps is the body bytes per second, in MB/s (10^6 bytes).
func (r *result) mbps() float64 { return float64(r.bytes) / r.elapsed.Seconds() / 1e6 }

// pct returns the p-th percentile latency (nearest rank).
func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat))*p/100+0.5) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

type connStats struct {
	ok, bytes, errs int64
	firstErr        string
	lat             []time.Duration
}

func (s *connStats) fail(err error) {
	s.errs++
	if s.firstErr == "" {
		s.firstErr = err.Error()
	}
}

// requestTimeout bounds one request, so that a stuck server cannot hang
// the run.
const requestTimeout = 15 * time.Second

type conn struct {
	c   net.Conn
	br  *bufio.Reader
	buf []byte
}

func dial(ctx context.Context, addr string, cfg *tls.Config) (*conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	var c net.Conn
	var err error
	if cfg != nil {
		c, err = (&tls.Dialer{NetDialer: &d, Config: cfg}).DialContext(ctx, "tcp", addr)
	} else {
		c, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	return &conn{c: c, br: bufio.NewReaderSize(c, 16<<10), buf: make([]byte, 256<<10)}, nil
}

// get sends one request and reads the whole answer, returning the body's
// length. keep says whether the connection may carry the next request.
func (c *conn) get(req []byte, status int) (n int64, keep bool, err error) {
	if err := c.c.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		return 0, false, err
	}
	if _, err := c.c.Write(req); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	for {
		m, err := resp.Body.Read(c.buf)
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, false, err
		}
	}
	if resp.StatusCode != status {
		return n, false, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return n, !resp.Close, nil
}

// run sends random GETs of t over conns connections for warmup +
// duration and measures the requests answered in the last duration.
func run(parent context.Context, t target, conns int, warmup, duration time.Duration) (*result, error) {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+duration)
	ctx, cancel := context.WithDeadline(parent, to.Add(requestTimeout))
	defer cancel()
	stats := make([]connStats, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() { loop(ctx, t, uint64(i), from, to, &stats[i]) })
	}
	wg.Wait()
	if err := parent.Err(); err != nil {
		return nil, err // interrupted
	}
	r := &result{elapsed: duration}
	for i := range stats {
		s := &stats[i]
		r.ok += s.ok
		r.bytes += s.bytes
		r.errs += s.errs
		if r.firstErr == "" {
			r.firstErr = s.firstErr
		}
		r.lat = append(r.lat, s.lat...)
	}
	slices.Sort(r.lat)
	return r, nil
}

// loop is one connection's closed loop.
func loop(ctx context.Context, t target, id uint64, from, to time.Time, s *connStats) {
	rng := rand.New(rand.NewPCG(id, uint64(from.UnixNano())))
	var c *conn
	defer func() {
		if c != nil {
			c.c.Close()
		}
	}()
	for ctx.Err() == nil && time.Now().Before(to) {
		if c == nil {
			var err error
			if c, err = dial(ctx, t.addr, t.tls); err != nil {
				s.fail(err)
				c = nil
				select { // do not spin on a refused connection
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
		}
		req := t.requests[rng.IntN(len(t.requests))]
		t0 := time.Now()
		n, keep, err := c.get(req, t.status)
		t1 := time.Now()
		if !keep {
			c.c.Close()
			c = nil
		}
		if err == nil && n != t.size {
			err = fmt.Errorf("%s answered %d bytes, want %d", t.system, n, t.size)
		}
		if err != nil {
			s.fail(err)
			continue
		}
		if !t1.Before(from) && !t1.After(to) {
			s.ok++
			s.bytes += n
			s.lat = append(s.lat, t1.Sub(t0))
		}
	}
}
