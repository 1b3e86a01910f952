package main

// The idle mode (-idle, `make bench-idle`, issue 19): what both clusters
// cost the machine when nobody uses them, and how fresh their followers
// stay when somebody does, side by side in one run.
//
// Idle: after -warmup of settling, -idle-rounds windows of -idle each;
// every server process's user + system CPU time (/proc/PID/stat) is
// sampled at both edges of the same window for both clusters, and reported
// as a share of one core (CPU seconds per wall second).
//
// Freshness: -fresh-writes isolated writes on each leader, -fresh-gap to
// 2x -fresh-gap apart (so that each one lands on an idle cluster, where a
// follower learns the commit from the next append RPC the leader sends, not
// from the next write); after each write's answer, every follower's local
// read (alluvium GET /api/v1/quota?stale=true, etcd's serializable range)
// is polled until it shows the write. The lag is the time from the write's
// answer to the answer of the first read that shows it.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
)

// idleRound is one window: each process's share of one core, by cluster,
// leader first.
type idleRound struct {
	share map[string][]float64
}

func (r idleRound) total(system string) float64 {
	var t float64
	for _, s := range r.share[system] {
		t += s
	}
	return t
}

// freshness is what the freshness step of one cluster measured.
type freshness struct {
	writes  int
	lags    []time.Duration // one per follower and write that showed it, sorted
	missing int             // follower reads that did not show a write within freshTimeout
}

func (f *freshness) pct(p float64) time.Duration {
	r := result{lat: f.lags}
	return r.pct(p)
}

// freshTimeout bounds the wait for one follower to show one write.
const freshTimeout = 2 * time.Second

// freshPoll is the pause between two reads of a follower: the lag's
// resolution is about this plus one loopback request.
const freshPoll = time.Millisecond

// idleRun measures both clusters at rest, then their followers' freshness,
// and prints the tables to out.
func (b *bench) idleRun(ctx context.Context, out io.Writer) error {
	clusters := []*cluster{b.alluvium, b.etcd}
	for _, c := range clusters {
		if err := c.findLeader(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintf(b.progress, "idle: %v to settle, then %d windows of %v\n", b.o.warmup, b.o.idleRounds, b.o.idle)
	if err := sleep(ctx, b.o.warmup); err != nil {
		return err
	}
	var rounds []idleRound
	for i := range b.o.idleRounds {
		r, err := measureIdle(ctx, clusters, b.o.idle)
		if err != nil {
			return err
		}
		fmt.Fprintf(b.progress, "  window %d: alluvium %.2f%%  etcd %.2f%% of one core\n", i+1, 100*r.total("alluvium"), 100*r.total("etcd"))
		rounds = append(rounds, r)
	}
	fresh := map[string]*freshness{}
	if b.o.freshWrites > 0 {
		fmt.Fprintf(b.progress, "freshness: %d isolated writes on each leader, %v to %v apart\n", b.o.freshWrites, b.o.freshGap, 2*b.o.freshGap)
		for _, c := range clusters {
			f, err := b.measureFreshness(ctx, c)
			if err != nil {
				return err
			}
			fmt.Fprintf(b.progress, "  %-8s p50 %s ms  p99 %s ms  max %s ms  not seen %d\n", c.system, ms(f.pct(50)), ms(f.pct(99)), ms(f.pct(100)), f.missing)
			fresh[c.system] = f
		}
	}
	b.reportIdle(out, rounds, fresh)
	return nil
}

// measureIdle samples every process of the clusters at the edges of one
// window of length d.
func measureIdle(ctx context.Context, clusters []*cluster, d time.Duration) (idleRound, error) {
	type sample struct {
		system string
		pids   []int
		cpu    []time.Duration
	}
	var samples []sample
	for _, c := range clusters {
		s := sample{system: c.system}
		for _, i := range leaderFirst(c) {
			s.pids = append(s.pids, c.procs[i].Pid())
			s.cpu = append(s.cpu, procCPU(c.procs[i].Pid()))
		}
		samples = append(samples, s)
	}
	start := time.Now()
	if err := sleep(ctx, d); err != nil {
		return idleRound{}, err
	}
	wall := time.Since(start)
	r := idleRound{share: map[string][]float64{}}
	for _, s := range samples {
		for i, pid := range s.pids {
			r.share[s.system] = append(r.share[s.system], float64(procCPU(pid)-s.cpu[i])/float64(wall))
		}
	}
	for _, c := range clusters {
		if err := c.exited(); err != nil {
			return idleRound{}, err
		}
	}
	return r, nil
}

// leaderFirst lists the member indexes of c, its leader first.
func leaderFirst(c *cluster) []int {
	out := []int{c.leader}
	for i := range c.procs {
		if i != c.leader {
			out = append(out, i)
		}
	}
	return out
}

// measureFreshness writes -fresh-writes times on c's leader and times how
// soon each follower's local read shows each write.
func (b *bench) measureFreshness(ctx context.Context, c *cluster) (*freshness, error) {
	if err := c.findLeader(ctx); err != nil {
		return nil, err
	}
	p := newFreshProbe(c, b.w)
	f := &freshness{}
	for i := range b.o.freshWrites {
		gap := b.o.freshGap + rand.N(b.o.freshGap+1)
		if err := sleep(ctx, gap); err != nil {
			return nil, err
		}
		value := uint64(quotaBase + 1 + i) // never the value setup wrote
		if err := p.write(ctx, value); err != nil {
			return nil, fmt.Errorf("%s: freshness write %d: %w", c.system, i, err)
		}
		acked := time.Now()
		lags, missing, err := p.waitFollowers(ctx, value, acked)
		if err != nil {
			return nil, fmt.Errorf("%s: freshness read %d: %w", c.system, i, err)
		}
		f.writes++
		f.lags = append(f.lags, lags...)
		f.missing += missing
	}
	slices.Sort(f.lags)
	return f, c.exited()
}

// freshProbe writes one key on a leader and reads it on the followers,
// each follower on its own keep-alive connection.
type freshProbe struct {
	c         *cluster
	w         *workload
	leader    string
	followers []string
	clients   []*http.Client
}

func newFreshProbe(c *cluster, w *workload) *freshProbe {
	scheme := "http"
	if c.tls != nil {
		scheme = "https"
	}
	p := &freshProbe{c: c, w: w, leader: scheme + "://" + c.api[c.leader]}
	for i, a := range c.api {
		if i == c.leader {
			continue
		}
		p.followers = append(p.followers, scheme+"://"+a)
		tr := &http.Transport{MaxIdleConnsPerHost: 1, TLSClientConfig: c.tls}
		p.clients = append(p.clients, &http.Client{Transport: tr, Timeout: 5 * time.Second})
	}
	return p
}

// write sets the probe's key to value on the leader and waits for the
// answer, the moment the leader has committed and applied it.
func (p *freshProbe) write(ctx context.Context, value uint64) error {
	if p.c.system == "etcd" {
		put := map[string]string{"key": p.w.etcdKeys[0], "value": b64(strconv.FormatUint(value, 10))}
		_, err := call(ctx, http.MethodPost, p.leader+"/v3/kv/put", put, nil)
		return err
	}
	req := fmt.Sprintf(`{"path":%q,"quota":%d}`, p.w.quotaPaths[0], value)
	_, err := call(ctx, http.MethodPost, p.leader+"/api/v1/quota", rawJSON(req), nil)
	return err
}

// waitFollowers polls every follower until its local read shows value,
// and returns each one's lag after acked, and how many never showed it.
func (p *freshProbe) waitFollowers(ctx context.Context, value uint64, acked time.Time) ([]time.Duration, int, error) {
	lags := make([]time.Duration, len(p.followers))
	errs := make([]error, len(p.followers))
	var wg sync.WaitGroup
	for i := range p.followers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lags[i], errs[i] = p.waitOne(ctx, i, value, acked)
		}()
	}
	wg.Wait()
	var seen []time.Duration
	missing := 0
	for i, err := range errs {
		switch {
		case errors.Is(err, errNotSeen):
			missing++
		case err != nil:
			return nil, 0, err
		default:
			seen = append(seen, lags[i])
		}
	}
	return seen, missing, nil
}

var errNotSeen = errors.New("not seen")

// waitOne polls follower i until it shows value, for up to freshTimeout.
func (p *freshProbe) waitOne(ctx context.Context, i int, value uint64, acked time.Time) (time.Duration, error) {
	deadline := acked.Add(freshTimeout)
	for {
		got, err := p.read(ctx, i)
		now := time.Now()
		if err != nil {
			return 0, err
		}
		if got == value {
			return now.Sub(acked), nil
		}
		if now.After(deadline) {
			return 0, errNotSeen
		}
		if err := sleep(ctx, freshPoll); err != nil {
			return 0, err
		}
	}
}

// read returns the value follower i holds locally for the probe's key
// (0 when it holds none).
func (p *freshProbe) read(ctx context.Context, i int) (uint64, error) {
	if p.c.system == "etcd" {
		var out struct {
			Kvs []struct {
				Value string `json:"value"`
			} `json:"kvs"`
		}
		body := map[string]any{"key": p.w.etcdKeys[0], "serializable": true}
		if err := callWith(ctx, p.clients[i], http.MethodPost, p.followers[i]+"/v3/kv/range", body, &out); err != nil {
			return 0, err
		}
		if len(out.Kvs) == 0 {
			return 0, nil
		}
		v, err := base64.StdEncoding.DecodeString(out.Kvs[0].Value)
		if err != nil {
			return 0, err
		}
		n, _ := strconv.ParseUint(string(v), 10, 64) // setup's filler value reads as 0
		return n, nil
	}
	var q struct {
		QuotaBytes uint64 `json:"quotaBytes"`
	}
	u := p.followers[i] + "/api/v1/quota?stale=true&path=" + url.QueryEscape(p.w.quotaPaths[0])
	if err := callWith(ctx, p.clients[i], http.MethodGet, u, nil, &q); err != nil {
		return 0, err
	}
	return q.QuotaBytes, nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reportIdle prints the idle and freshness tables as markdown.
func (b *bench) reportIdle(out io.Writer, rounds []idleRound, fresh map[string]*freshness) {
	o := b.o
	fmt.Fprintf(out, "\n## Idle cost: 3 alluvium coordinators vs 3 etcd members, at rest on loopback\n\n")
	fmt.Fprintf(out, "%s, %d CPUs, %s; %v to settle, then %d windows of %v, both clusters in the same window.\n",
		time.Now().Format("2006-01-02 15:04"), runtime.NumCPU(), version(o.etcd), o.warmup, len(rounds), o.idle)
	fmt.Fprintf(out, "Load average (1, 5, 15 min) before the run: %s; after: %s.\n", b.loadBefore, loadAvg())
	fmt.Fprintln(out, "\nCPU time per wall time, % of one core (user + system from /proc/PID/stat), leader first:")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| window | alluvium leader | follower | follower | alluvium total | etcd leader | follower | follower | etcd total | alluvium / etcd |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	pc := func(x float64) string { return strconv.FormatFloat(100*x, 'f', 2, 64) }
	var at, et []float64
	for i, r := range rounds {
		fmt.Fprintf(out, "| %d", i+1)
		for _, sys := range []string{"alluvium", "etcd"} {
			for _, s := range r.share[sys] {
				fmt.Fprintf(out, " | %s", pc(s))
			}
			fmt.Fprintf(out, " | **%s**", pc(r.total(sys)))
		}
		fmt.Fprintf(out, " | %s |\n", ratio(r.total("alluvium"), r.total("etcd")))
		at, et = append(at, r.total("alluvium")), append(et, r.total("etcd"))
	}
	if len(rounds) > 1 {
		ma, me := median(at), median(et)
		fmt.Fprintf(out, "| median | | | | **%s** | | | | **%s** | %s |\n", pc(ma), pc(me), ratio(ma, me))
	}
	if len(fresh) == 0 {
		fmt.Fprintln(out)
		return
	}
	fmt.Fprintf(out, "\n### Follower freshness: from a write's answer on the leader to the first local read on a follower that shows it\n\n")
	fmt.Fprintf(out, "%d isolated writes per system, %v to %v apart; each follower polled every %v; alluvium GET /api/v1/quota?stale=true, etcd serializable POST /v3/kv/range.\n\n",
		o.freshWrites, o.freshGap, 2*o.freshGap, freshPoll)
	fmt.Fprintln(out, "| system | follower reads | p50 ms | p90 ms | p99 ms | max ms | not seen within 2 s |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|")
	for _, sys := range []string{"alluvium", "etcd"} {
		if f := fresh[sys]; f != nil {
			fmt.Fprintf(out, "| %s | %d | %s | %s | %s | %s | %d |\n", sys, len(f.lags), ms(f.pct(50)), ms(f.pct(90)), ms(f.pct(99)), ms(f.pct(100)), f.missing)
		}
	}
	fmt.Fprintln(out)
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64) + "x"
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
