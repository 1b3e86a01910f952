package main

// The closed-loop load generator: N persistent keep-alive HTTP/1.1
// connections, each sending its next request as soon as the previous answer
// is read. Requests are written from a prebuilt buffer and answers parsed
// with net/http's reader, so that the generator costs both systems the same
// and as little CPU as possible: it shares the machine with them.

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// scenario is one kind of request sent to one address.
type scenario struct {
	system string      // "alluvium" or "etcd"
	name   string      // e.g. "POST /api/v1/quota"
	addr   string      // host:port the load goes to
	tls    *tls.Config // when set, the connections are TLS
	// build appends request number seq of connection conn (a whole
	// HTTP/1.1 request: line, headers and body) to buf.
	build func(buf []byte, conn int, seq uint64) []byte
}

// plan says how long a step runs: until warm-up + duration, or until
// count requests were sent (for benchmarks), whichever is set.
type plan struct {
	conns    int
	warmup   time.Duration
	duration time.Duration
	count    int64 // when > 0, run this many requests in all, all measured
	// cpu, when set, is sampled at the start and end of the measured
	// window; its difference is reported as the servers' CPU time.
	cpu func() time.Duration
}

// result is what a step measured.
type result struct {
	conns     int
	ok        int64           // 2xx answers in the measured window
	errs      int64           // failed requests during the whole step (warm-up included)
	statuses  map[int]int64   // non-2xx statuses seen
	firstErr  string          // a sample failure
	lat       []time.Duration // latencies of the ok requests, sorted
	elapsed   time.Duration   // measured window
	serverCPU time.Duration   // CPU of the servers in the window
	clientCPU time.Duration   // CPU of this process in the window
}

func (r *result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

// pct returns the p-th percentile latency (nearest rank).
func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat))*p/100+0.5) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

// workerStats is one connection's tally.
type workerStats struct {
	ok       int64
	errs     int64
	statuses map[int]int64
	firstErr string
	lat      []time.Duration
}

func (w *workerStats) fail(status int, err error) {
	w.errs++
	if status != 0 {
		if w.statuses == nil {
			w.statuses = map[int]int64{}
		}
		w.statuses[status]++
	}
	if w.firstErr == "" && err != nil {
		w.firstErr = err.Error()
	}
}

// requestTimeout bounds one request, so that a stuck server cannot hang
// the run.
const requestTimeout = 15 * time.Second

// conn is one persistent client connection.
type conn struct {
	c  net.Conn
	br *bufio.Reader
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
	return &conn{c: c, br: bufio.NewReaderSize(c, 16<<10)}, nil
}

// do sends one request and reads the whole answer. keep says whether the
// connection may carry the next request.
func (c *conn) do(req []byte) (status int, keep bool, err error) {
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
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return resp.StatusCode, false, err
	}
	return resp.StatusCode, !resp.Close, nil
}

// run runs one step of a scenario and returns what it measured.
func run(parent context.Context, sc scenario, p plan) (*result, error) {
	start := time.Now()
	from, to := start.Add(p.warmup), start.Add(p.warmup+p.duration)
	if p.count > 0 {
		from, to = start, start.Add(24*time.Hour)
	}
	ctx, cancel := context.WithDeadline(parent, to.Add(requestTimeout))
	defer cancel()
	var remaining atomic.Int64
	remaining.Store(p.count)
	stats := make([]workerStats, p.conns)
	var wg sync.WaitGroup
	for i := range p.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker(ctx, sc, i, from, to, p.count > 0, &remaining, &stats[i])
		}()
	}
	var cpu0, self0 time.Duration
	sample := func() (time.Duration, time.Duration) {
		var s time.Duration
		if p.cpu != nil {
			s = p.cpu()
		}
		return s, selfCPU()
	}
	if p.count > 0 {
		cpu0, self0 = sample()
		wg.Wait()
	} else {
		// Sample CPU at the window's edges, while the load runs.
		select {
		case <-time.After(time.Until(from)):
		case <-ctx.Done():
		}
		cpu0, self0 = sample()
		select {
		case <-time.After(time.Until(to)):
		case <-ctx.Done():
		}
	}
	cpu1, self1 := sample()
	end := time.Now()
	wg.Wait()
	if err := parent.Err(); err != nil {
		return nil, err // interrupted
	}
	r := &result{conns: p.conns, statuses: map[int]int64{}, serverCPU: cpu1 - cpu0, clientCPU: self1 - self0}
	if p.count > 0 {
		r.elapsed = end.Sub(start)
	} else {
		r.elapsed = p.duration
	}
	for i := range stats {
		w := &stats[i]
		r.ok += w.ok
		r.errs += w.errs
		for s, n := range w.statuses {
			r.statuses[s] += n
		}
		if r.firstErr == "" {
			r.firstErr = w.firstErr
		}
		r.lat = append(r.lat, w.lat...)
	}
	slices.Sort(r.lat)
	return r, nil
}

// worker is one connection's closed loop.
func worker(ctx context.Context, sc scenario, id int, from, to time.Time, counted bool, remaining *atomic.Int64, w *workerStats) {
	var c *conn
	defer func() {
		if c != nil {
			c.c.Close()
		}
	}()
	buf := make([]byte, 0, 1024)
	for seq := uint64(0); ; seq++ {
		if ctx.Err() != nil {
			return
		}
		if counted {
			if remaining.Add(-1) < 0 {
				return
			}
		} else if !time.Now().Before(to) {
			return
		}
		if c == nil {
			var err error
			if c, err = dial(ctx, sc.addr, sc.tls); err != nil {
				w.fail(0, err)
				c = nil
				select { // do not spin on a refused connection
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
		}
		buf = sc.build(buf[:0], id, seq)
		t0 := time.Now()
		status, keep, err := c.do(buf)
		t1 := time.Now()
		if !keep {
			c.c.Close()
			c = nil
		}
		if err != nil || status/100 != 2 {
			if err == nil {
				err = fmt.Errorf("HTTP %d from %s %s", status, sc.system, sc.name)
			}
			w.fail(status, err)
			continue
		}
		if !t1.Before(from) && !t1.After(to) {
			w.ok++
			w.lat = append(w.lat, t1.Sub(t0))
		}
	}
}
