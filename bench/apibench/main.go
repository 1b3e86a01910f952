// Command apibench is the API benchmark of issue 3 (`make bench-api`): the
// write and read throughput of a three-coordinator Alluvium cluster
// (raft-boltdb log with fsync, TCP transport) through its REST API, side by
// side in the same run with a three-member etcd 3.4 cluster through its v3
// JSON gateway, both as real processes on loopback.
//
// Writes: POST /api/v1/quota against POST /v3/kv/put with 192-byte values
// (the quota path is padded so that alluvium's raft command is 192 bytes
// too). Reads: GET /api/v1/quota?path= (linearizable) and with &stale=true,
// against POST /v3/kv/range (linearizable) and with "serializable": true.
//
// The load is closed-loop: N persistent keep-alive connections, each sending
// its next request as soon as the previous answer is read, for a warm-up and
// then a measured duration; 2xx answers are counted with their latencies,
// anything else is an error and shown. Every step runs both systems one
// after the other (alternating which goes first), so that the machine's
// noise falls on both.
//
// Where the load goes: to one member of each cluster, its leader (found
// with GET /api/v1/coordinators and POST /v3/maintenance/status, again
// before every step). Both systems could forward from a follower, but that
// adds a hop for one and not the same hop for the other; the leader is
// what a well-configured client of either talks to for writes.
//
// With -idle (`make bench-idle`, idle.go) it sends no load: it measures
// what both clusters cost at rest, side by side in the same windows, then
// how soon their followers' local reads show an isolated write.
//
// Usage:
//
//	go build -o bin/alluvium ./cmd/alluvium
//	go run ./bench/apibench [-duration 10s] [-warmup 2s] [-conns 1,16,64,256]
//	go run ./bench/apibench -idle 30s [-idle-rounds 3] [-fresh-writes 300] [-fresh-gap 50ms]
//
// It needs etcd on the PATH or at -etcd (Debian: apt-get install etcd-server).
// Data dirs live in a temporary dir under -dir (same disk for both systems),
// removed at exit, as are all processes, also on errors and Ctrl-C.
//
// Besides req/s and latencies it reports the CPU time the servers and the
// load generator spent per answered write, from /proc: on a shared machine
// that says more about efficiency than req/s alone. For where the time goes
// inside alluvium, the package's benchmarks run the same load against an
// in-process cluster (BenchmarkAPI, for -cpuprofile) and compare raft log
// stores (BenchmarkLogStore, BenchmarkLogStoreAPI), and time raft's stages
// from its own metrics (BenchmarkRaftStages).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	alluvium  string
	etcd      string
	dir       string
	keep      bool
	duration  time.Duration
	warmup    time.Duration
	conns     []int
	valueSize int
	reads     bool
	writes    bool
	tls       bool
	// The idle mode (idle.go): off when idle is 0.
	idle        time.Duration
	idleRounds  int
	freshWrites int
	freshGap    time.Duration
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("apibench", flag.ContinueOnError)
	fs.StringVar(&o.alluvium, "alluvium", "bin/alluvium", "the alluvium binary")
	fs.StringVar(&o.etcd, "etcd", "/usr/bin/etcd", "the etcd 3.4 binary")
	fs.StringVar(&o.dir, "dir", os.TempDir(), "where the temporary data dirs are made (one disk for both systems)")
	fs.BoolVar(&o.keep, "keep", false, "keep the data dirs and logs")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each step")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each step")
	conns := fs.String("conns", "1,16,64,256", "connection counts, comma separated")
	fs.IntVar(&o.valueSize, "value-size", 192, "bytes of each replicated value (etcd) and command (alluvium)")
	fs.BoolVar(&o.writes, "writes", true, "run the write steps")
	fs.BoolVar(&o.reads, "reads", true, "run the read steps")
	fs.BoolVar(&o.tls, "tls", false, "run alluvium on TLS (API and Raft, a throwaway CA); etcd stays plain")
	fs.DurationVar(&o.idle, "idle", 0, "instead of the load steps, measure both clusters at rest for windows of this long, then follower freshness (make bench-idle)")
	fs.IntVar(&o.idleRounds, "idle-rounds", 3, "with -idle: how many idle windows")
	fs.IntVar(&o.freshWrites, "fresh-writes", 300, "with -idle: isolated writes timed until every follower shows them (0: none)")
	fs.DurationVar(&o.freshGap, "fresh-gap", 50*time.Millisecond, "with -idle: the pause between freshness writes is between this and twice this")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, s := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("-conns %q: want numbers from 1 to 4096", *conns)
		}
		o.conns = append(o.conns, n)
	}
	if o.duration <= 0 || o.duration > 10*time.Minute || o.warmup < 0 || o.warmup > time.Minute {
		return nil, errors.New("-duration must be in (0, 10m] and -warmup in [0, 1m]")
	}
	if o.idle < 0 || o.idle > time.Hour || o.idleRounds < 1 || o.idleRounds > 100 || o.freshWrites < 0 || o.freshWrites > 100000 || o.freshGap < 0 || o.freshGap > time.Minute {
		return nil, errors.New("-idle must be in [0, 1h], -idle-rounds in [1, 100], -fresh-writes in [0, 100000] and -fresh-gap in [0, 1m]")
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "apibench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = runBench(ctx, o, os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil // before stop, which cancels ctx
	stop()
	if err != nil && interrupted {
		err = errors.New("interrupted; stopped every process and removed the data dirs")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "apibench:", err)
		os.Exit(1)
	}
}

// bench is one run: both clusters and the results so far.
type bench struct {
	o              *options
	w              *workload
	alluvium, etcd *cluster
	progress       io.Writer
	loadBefore     string               // /proc/loadavg at the start
	writes         map[string][]*result // by system
	reads          map[string][]*result // by scenario name
}

// runBench starts both clusters, runs every step and prints the tables to
// out. Everything it started is stopped and removed before it returns.
func runBench(ctx context.Context, o *options, out, progress io.Writer) (err error) {
	for _, bin := range []*string{&o.alluvium, &o.etcd} {
		p, err := exec.LookPath(*bin)
		if err != nil {
			return fmt.Errorf("%s: %w (see `make bench-api`)", *bin, err)
		}
		*bin = p
	}
	conns := maxInt(o.conns)
	if o.idle > 0 {
		conns = 1 // the freshness probe's key
	}
	w, err := newWorkload(conns, o.valueSize)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(o.dir, "apibench-")
	if err != nil {
		return err
	}
	defer func() {
		if o.keep {
			fmt.Fprintf(progress, "kept %s\n", tmp)
			return
		}
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = rmErr
		}
	}()
	b := &bench{o: o, w: w, progress: progress, loadBefore: loadAvg(), writes: map[string][]*result{}, reads: map[string][]*result{}}
	for _, d := range []string{"alluvium", "etcd", "ufs"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			return err
		}
	}
	fmt.Fprintf(progress, "starting 3 alluvium coordinators and 3 etcd members under %s\n", tmp)
	defer func() { // both clusters at once, before the data dirs go
		var wg sync.WaitGroup
		for _, c := range []*cluster{b.alluvium, b.etcd} {
			if c != nil {
				wg.Add(1)
				go func() { defer wg.Done(); c.stop() }()
			}
		}
		wg.Wait()
	}()
	if b.alluvium, err = startAlluvium(o.alluvium, filepath.Join(tmp, "alluvium"), o.tls); err != nil {
		return err
	}
	if b.etcd, err = startEtcd(o.etcd, filepath.Join(tmp, "etcd")); err != nil {
		return err
	}
	if err := readyAlluvium(ctx, b.alluvium, 60*time.Second); err != nil {
		return err
	}
	if err := readyEtcd(ctx, b.etcd, 60*time.Second); err != nil {
		return err
	}
	if err := b.setup(ctx, filepath.Join(tmp, "ufs")); err != nil {
		return err
	}
	if o.idle > 0 {
		return b.idleRun(ctx, out)
	}
	if o.writes {
		if err := b.writeSteps(ctx); err != nil {
			return err
		}
	}
	if o.reads {
		if err := b.readSteps(ctx); err != nil {
			return err
		}
	}
	b.report(out, tmp)
	return nil
}

// setup mounts /bench and writes every connection's key once in both
// systems, so that reads find them and a broken request fails early.
func (b *bench) setup(ctx context.Context, ufs string) error {
	scheme := "http"
	if b.alluvium.tls != nil {
		scheme = "https"
	}
	leader := scheme + "://" + b.alluvium.api[b.alluvium.leader]
	if _, err := call(ctx, "POST", leader+"/api/v1/mount", map[string]string{"path": benchMount, "ufs": "file://" + ufs}, nil); err != nil {
		return fmt.Errorf("alluvium: mount %s: %w", benchMount, err)
	}
	for i := range b.w.quotaPaths {
		req := fmt.Sprintf(`{"path":%q,"quota":%d}`, b.w.quotaPaths[i], quotaBase)
		if _, err := call(ctx, "POST", leader+"/api/v1/quota", rawJSON(req), nil); err != nil {
			return fmt.Errorf("alluvium: set quota: %w", err)
		}
		put := map[string]string{"key": b.w.etcdKeys[i], "value": b64(string(b.w.filler))}
		if _, err := call(ctx, "POST", "http://"+b.etcd.api[b.etcd.leader]+"/v3/kv/put", put, nil); err != nil {
			return fmt.Errorf("etcd: put: %w", err)
		}
	}
	return nil
}

// rawJSON is a JSON body sent as is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// step runs one scenario on one cluster after refreshing its leader.
func (b *bench) step(ctx context.Context, c *cluster, mk func(addr string) scenario, conns int) (*result, error) {
	if err := c.findLeader(ctx); err != nil {
		return nil, err
	}
	sc := mk(c.api[c.leader])
	sc.tls = c.tls
	fmt.Fprintf(b.progress, "  %-8s %-32s %4d conns ... ", c.system, sc.name, conns)
	r, err := run(ctx, sc, plan{conns: conns, warmup: b.o.warmup, duration: b.o.duration, cpu: c.cpu})
	if err != nil {
		fmt.Fprintln(b.progress)
		return nil, err
	}
	fmt.Fprintf(b.progress, "%8.0f req/s  p50 %s  p99 %s  errors %d\n", r.rate(), ms(r.pct(50)), ms(r.pct(99)), r.errs)
	if r.errs > 0 {
		fmt.Fprintf(b.progress, "           first error: %s\n", r.firstErr)
	}
	if err := c.exited(); err != nil {
		return nil, err
	}
	return r, nil
}

// writeSteps runs the writes at every connection count, both systems in
// each step, the first of them alternating.
func (b *bench) writeSteps(ctx context.Context) error {
	fmt.Fprintf(b.progress, "writes (%v warm-up + %v each):\n", b.o.warmup, b.o.duration)
	for i, n := range b.o.conns {
		order := []*cluster{b.alluvium, b.etcd}
		if i%2 == 1 {
			order = []*cluster{b.etcd, b.alluvium}
		}
		for _, c := range order {
			mk := b.w.alluviumPut
			if c == b.etcd {
				mk = b.w.etcdPut
			}
			r, err := b.step(ctx, c, mk, n)
			if err != nil {
				return err
			}
			b.writes[c.system] = append(b.writes[c.system], r)
		}
	}
	return nil
}

// readKinds are the read scenarios, in the order run within a step.
var readKinds = []string{"alluvium linearizable", "etcd linearizable", "alluvium stale", "etcd serializable"}

// readSteps runs the reads at every connection count.
func (b *bench) readSteps(ctx context.Context) error {
	fmt.Fprintf(b.progress, "reads (%v warm-up + %v each):\n", b.o.warmup, b.o.duration)
	for i, n := range b.o.conns {
		kinds := readKinds
		if i%2 == 1 {
			kinds = []string{readKinds[1], readKinds[0], readKinds[3], readKinds[2]}
		}
		for _, k := range kinds {
			var c *cluster
			var mk func(string) scenario
			switch k {
			case "alluvium linearizable":
				c, mk = b.alluvium, func(a string) scenario { return b.w.alluviumGet(a, false) }
			case "alluvium stale":
				c, mk = b.alluvium, func(a string) scenario { return b.w.alluviumGet(a, true) }
			case "etcd linearizable":
				c, mk = b.etcd, func(a string) scenario { return b.w.etcdGet(a, false) }
			case "etcd serializable":
				c, mk = b.etcd, func(a string) scenario { return b.w.etcdGet(a, true) }
			}
			r, err := b.step(ctx, c, mk, n)
			if err != nil {
				return err
			}
			b.reads[k] = append(b.reads[k], r)
		}
	}
	return nil
}

// report prints the results as markdown tables.
func (b *bench) report(out io.Writer, tmp string) {
	o := b.o
	fmt.Fprintf(out, "\n## API benchmark: alluvium vs etcd, 3 nodes each on loopback, fsync\n\n")
	fmt.Fprintf(out, "%s, %d CPUs, %s; %v warm-up + %v measured per step; closed loop, keep-alive; load to each leader; data dirs under %s.\n",
		time.Now().Format("2006-01-02 15:04"), runtime.NumCPU(), version(o.etcd), o.warmup, o.duration, filepath.Dir(tmp))
	fmt.Fprintf(out, "Load average (1, 5, 15 min) before the run: %s; after: %s.\n", b.loadBefore, loadAvg())
	if len(b.writes["alluvium"]) > 0 {
		fmt.Fprintf(out, "\n### Writes: POST /api/v1/quota vs etcd POST /v3/kv/put (%d-byte values)\n\n", o.valueSize)
		fmt.Fprintln(out, "| connections | alluvium req/s | p50 ms | p99 ms | errors | etcd req/s | p50 ms | p99 ms | errors | ratio | target |")
		fmt.Fprintln(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
		for i, n := range o.conns {
			a, e := b.writes["alluvium"][i], b.writes["etcd"][i]
			ratio := 0.0
			if e.rate() > 0 {
				ratio = a.rate() / e.rate()
			}
			fmt.Fprintf(out, "| %d | %.0f | %s | %s | %d | %.0f | %s | %s | %d | %.2fx | %s |\n",
				n, a.rate(), ms(a.pct(50)), ms(a.pct(99)), a.errs, e.rate(), ms(e.pct(50)), ms(e.pct(99)), e.errs, ratio, target(n, ratio))
		}
		fmt.Fprintln(out, "\nCPU per write (µs of CPU time per 2xx answer; servers: the three processes together; client: this load generator):")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "| connections | alluvium servers | client | etcd servers | client |")
		fmt.Fprintln(out, "|---:|---:|---:|---:|---:|")
		for i, n := range o.conns {
			a, e := b.writes["alluvium"][i], b.writes["etcd"][i]
			fmt.Fprintf(out, "| %d | %s | %s | %s | %s |\n", n, perReq(a.serverCPU, a.ok), perReq(a.clientCPU, a.ok), perReq(e.serverCPU, e.ok), perReq(e.clientCPU, e.ok))
		}
	}
	if len(b.reads[readKinds[0]]) > 0 {
		fmt.Fprintln(out, "\n### Reads: GET /api/v1/quota?path= (linearizable, and &stale=true) vs etcd POST /v3/kv/range (linearizable, and serializable)")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "| connections | alluvium linearizable req/s | p50 ms | p99 ms | alluvium stale req/s | p50 ms | p99 ms | etcd linearizable req/s | p50 ms | p99 ms | etcd serializable req/s | p50 ms | p99 ms | errors |")
		fmt.Fprintln(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for i, n := range o.conns {
			fmt.Fprintf(out, "| %d", n)
			var errs int64
			for _, k := range []string{readKinds[0], readKinds[2], readKinds[1], readKinds[3]} {
				r := b.reads[k][i]
				errs += r.errs
				fmt.Fprintf(out, " | %.0f | %s | %s", r.rate(), ms(r.pct(50)), ms(r.pct(99)))
			}
			fmt.Fprintf(out, " | %d |\n", errs)
		}
	}
	fmt.Fprintln(out)
}

// target says whether a write ratio meets issue 3's targets: 1.5x etcd at
// 64 connections, 1.0x at 1.
func target(conns int, ratio float64) string {
	var want float64
	switch conns {
	case 1:
		want = 1.0
	case 64:
		want = 1.5
	default:
		return ""
	}
	if ratio >= want {
		return fmt.Sprintf("≥%.1fx met", want)
	}
	return fmt.Sprintf("≥%.1fx MISSED", want)
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

func perReq(cpu time.Duration, n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(cpu)/1e3/float64(n), 'f', 0, 64)
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// loadAvg returns the machine's load averages, to tell a noisy run.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// version is the first line of `etcd --version`.
func version(etcd string) string {
	out, err := exec.Command(etcd, "--version").Output()
	if err != nil {
		return "etcd (version unknown)"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first)
}
