// Command readbench is issue 5's read benchmark (make bench-read): cached
// reads from one alluvium worker over HTTP against nginx serving the same
// bytes from disk with sendfile, side by side in one run.
//
// It writes a folder of random files: -files-1m files of 1 MiB and
// -files-4k files of 4 KiB (64 and 4,096 by default: 64 MiB and 16 MiB, a
// working set that fits the page cache for nginx and the memory tier for
// the worker). nginx (Debian's nginx-light, its own config in a temporary
// directory: sendfile, keep-alive, no access log, worker_processes auto;
// tcp_nopush only with -nginx-tcp-nopush, see nginxConf) serves the folder
// as its root. One worker, started
// in this process with a single-worker ring and no coordinators, serves the
// folder mounted at /data with 1 MiB pages and a memory tier holding every
// page; every file is read through it until the memory tier holds them all.
// Each file is its own request, so a 4 KiB GET is a whole file for both
// systems: one page for the worker, one small sendfile for nginx.
//
// Then, for each scenario (1 MiB GETs at 16 connections, 4 KiB GETs at 64),
// both systems take a closed-loop keep-alive load of GETs of a random file
// for -warmup then -duration, measured; which system goes first alternates
// between scenarios (and rounds). The load generator runs in this process,
// so it shares the machine with both servers alike. A markdown table of
// req/s, GiB/s, p50 and p99 latency and the ratio to nginx with the
// targets of issue 5 (1.0x for 1 MiB, 0.6x for 4 KiB) ends the run.
//
// -cpuprofile P writes a CPU profile of this process (the worker and the
// load generator) during each alluvium step to P-1MiB.pprof and
// P-4KiB.pprof.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/localcluster"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/worker"
)

type scenario struct {
	label  string // "1 MiB"
	tag    string // "1MiB", for file names
	dir    string // folder under the data root
	size   int64
	files  int
	conns  int
	target float64 // the worker's req/s over nginx's that issue 5 asks for
}

func main() {
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "readbench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	nginxBin, extra, cpuProfile string
	nopush, keep                bool
	files1m, files4k            int
	conns1m, conns4k            int
	warmup, duration            time.Duration
	rounds                      int
	want                        map[string]bool // systems to measure
}

func parseFlags() (*options, error) {
	o := &options{want: map[string]bool{}}
	flag.StringVar(&o.nginxBin, "nginx", "/usr/sbin/nginx", "the nginx binary")
	flag.BoolVar(&o.nopush, "nginx-tcp-nopush", false, "turn nginx's tcp_nopush on (slower for 1 MiB on loopback)")
	flag.StringVar(&o.extra, "nginx-extra", "", "more directives for nginx's http block, e.g. 'open_file_cache max=10000;'")
	flag.IntVar(&o.files1m, "files-1m", 64, "how many 1 MiB files")
	flag.IntVar(&o.files4k, "files-4k", 4096, "how many 4 KiB files")
	flag.IntVar(&o.conns1m, "conns-1m", 16, "connections for the 1 MiB GETs")
	flag.IntVar(&o.conns4k, "conns-4k", 64, "connections for the 4 KiB GETs")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before each measured window")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured window of each step")
	flag.IntVar(&o.rounds, "rounds", 1, "how many times each scenario runs on both systems")
	systems := flag.String("systems", "nginx,alluvium", "which systems to measure")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write CPU profiles of the alluvium steps to `prefix`-<size>.pprof")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	flag.Parse()
	for _, s := range strings.Split(*systems, ",") {
		if s != "nginx" && s != "alluvium" {
			return nil, fmt.Errorf("-systems: unknown system %q", s)
		}
		o.want[s] = true
	}
	return o, nil
}

// bench is one run: the systems under load and the results so far.
type bench struct {
	o         *options
	scenarios []scenario
	targets   map[string]map[string]target    // system -> scenario tag -> target
	results   map[string]map[string][]*result // system -> scenario tag -> one per round
	node      *workernode.Node                // the alluvium worker, when measured
}

// order is the systems in the order of the report.
var order = []string{"nginx", "alluvium"}

func mainErr() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{o: o, targets: map[string]map[string]target{}, results: map[string]map[string][]*result{"nginx": {}, "alluvium": {}}}
	b.scenarios = []scenario{
		{label: "1 MiB", tag: "1MiB", dir: "m1", size: 1 << 20, files: o.files1m, conns: o.conns1m, target: 1.0},
		{label: "4 KiB", tag: "4KiB", dir: "k4", size: 4 << 10, files: o.files4k, conns: o.conns4k, target: 0.6},
	}
	tmp, err := os.MkdirTemp("", "readbench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	stopSystems, err := b.start(ctx, tmp)
	defer stopSystems()
	if err != nil {
		return err
	}
	var before, after worker.Stats
	if b.node != nil {
		before = stats(b.node)
	}
	if err := b.measure(ctx); err != nil {
		return err
	}
	if b.node != nil {
		after = stats(b.node)
	}
	b.report(before, after)
	return nil
}

// start writes the files and starts the systems to measure, the worker
// warmed up; the function returned stops them.
func (b *bench) start(ctx context.Context, tmp string) (func(), error) {
	var stops []func()
	stopAll := func() {
		for _, f := range slices.Backward(stops) {
			f()
		}
	}
	root := filepath.Join(tmp, "data")
	var total int64
	for _, sc := range b.scenarios {
		if err := writeFiles(filepath.Join(root, sc.dir), sc.files, sc.size); err != nil {
			return stopAll, err
		}
		total += int64(sc.files) * sc.size
	}
	if b.o.want["nginx"] {
		ngTmp := filepath.Join(tmp, "nginx")
		if err := os.MkdirAll(ngTmp, 0o700); err != nil {
			return stopAll, err
		}
		ng, err := startNginx(ctx, b.o.nginxBin, ngTmp, root, b.o.nopush, b.o.extra)
		if err != nil {
			return stopAll, err
		}
		stops = append(stops, ng.stop)
		b.targets["nginx"] = targetsFor("nginx", ng.addr, "", b.scenarios)
	}
	if b.o.want["alluvium"] {
		c, err := startWorker(ctx, filepath.Join(tmp, "worker"), root, total)
		if err != nil {
			return stopAll, err
		}
		stops = append(stops, func() { _ = c.Close() })
		b.node = c.Workers[0]
		addr := strings.TrimPrefix(b.node.URL, "http://")
		t := targetsFor("alluvium", addr, api.PathWorkerDataRoot+"/data", b.scenarios)
		if err := warm(ctx, b.node, t, b.scenarios); err != nil {
			return stopAll, err
		}
		b.targets["alluvium"] = t
	}
	return stopAll, nil
}

// measure runs every round of every scenario on both systems, which one
// goes first alternating.
func (b *bench) measure(ctx context.Context) error {
	for round := range b.o.rounds {
		for i, sc := range b.scenarios {
			for j := range order {
				sys := order[(i+round+j)%2] // alternate who goes first
				if !b.o.want[sys] {
					continue
				}
				r, err := b.step(ctx, sys, sc, round)
				if err != nil {
					return err
				}
				b.results[sys][sc.tag] = append(b.results[sys][sc.tag], r)
			}
		}
	}
	return nil
}

// step loads one system with one scenario, under the CPU profiler for
// alluvium with -cpuprofile.
func (b *bench) step(ctx context.Context, sys string, sc scenario, round int) (*result, error) {
	fmt.Fprintf(os.Stderr, "round %d: %s GETs at %d connections on %s...\n", round+1, sc.label, sc.conns, sys)
	if sys == "alluvium" && b.o.cpuProfile != "" {
		name := fmt.Sprintf("%s-%s.pprof", b.o.cpuProfile, sc.tag)
		if round > 0 {
			name = fmt.Sprintf("%s-%s-%d.pprof", b.o.cpuProfile, sc.tag, round+1)
		}
		prof, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		defer prof.Close()
		if err := pprof.StartCPUProfile(prof); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	r, err := run(ctx, b.targets[sys][sc.tag], sc.conns, b.o.warmup, b.o.duration)
	if err != nil {
		return nil, err
	}
	if r.errs > 0 {
		fmt.Fprintf(os.Stderr, "  %d failed requests, e.g. %s\n", r.errs, r.firstErr)
	}
	return r, nil
}

// report prints the markdown table of the results, and the worker's cache
// counters over the steps.
func (b *bench) report(before, after worker.Stats) {
	o := b.o
	fmt.Printf("\n## Cached reads: one alluvium worker vs nginx (sendfile), loopback, %d CPUs\n\n", runtime.NumCPU())
	fmt.Printf("%d x 1 MiB and %d x 4 KiB files, a random file per GET, closed loop over keep-alive connections; %v warm-up, %v measured per step; nginx tcp_nopush %v.\n\n",
		o.files1m, o.files4k, o.warmup, o.duration, o.nopush)
	fmt.Println("| size | conns | round | system | req/s | GiB/s | p50 | p99 | errors | vs nginx | target |")
	fmt.Println("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
	for _, sc := range b.scenarios {
		for round := range o.rounds {
			b.reportRound(sc, round)
		}
	}
	if b.node != nil {
		fmt.Printf("\nWorker cache during the steps: %d memory hits, %d disk hits, %d misses.\n",
			after.MemoryHits-before.MemoryHits, after.DiskHits-before.DiskHits, after.Misses-before.Misses)
	}
}

// reportRound prints the rows of one round of one scenario.
func (b *bench) reportRound(sc scenario, round int) {
	var ngRate float64
	if rs := b.results["nginx"][sc.tag]; round < len(rs) {
		ngRate = rs[round].rate()
	}
	for _, sys := range order {
		rs := b.results[sys][sc.tag]
		if round >= len(rs) {
			continue
		}
		r := rs[round]
		ratio, verdict := "", ""
		if sys == "alluvium" && ngRate > 0 {
			x := r.rate() / ngRate
			ratio = fmt.Sprintf("%.2fx", x)
			verdict = fmt.Sprintf("%.1fx: missed", sc.target)
			if x >= sc.target {
				verdict = fmt.Sprintf("%.1fx: met", sc.target)
			}
		}
		fmt.Printf("| %s | %d | %d | %s | %.0f | %.2f | %s | %s | %d | %s | %s |\n", sc.label, sc.conns, round+1, sys,
			r.rate(), r.gibps(), fmtDur(r.pct(50)), fmtDur(r.pct(99)), r.errs, ratio, verdict)
	}
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// writeFiles writes n files of size random bytes into dir.
func writeFiles(dir string, n int, size int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b := make([]byte, size)
	for i := range n {
		_, _ = rand.Read(b)
		if err := os.WriteFile(filepath.Join(dir, fileName(i)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func fileName(i int) string { return fmt.Sprintf("f%05d.bin", i) }

// targetsFor prebuilds the GETs of every file for a system whose URL of
// data file <dir>/<name> is prefix/<dir>/<name>.
func targetsFor(system, addr, prefix string, scenarios []scenario) map[string]target {
	out := map[string]target{}
	for _, sc := range scenarios {
		t := target{system: system, addr: addr, size: sc.size}
		for i := range sc.files {
			t.requests = append(t.requests, []byte(fmt.Sprintf("GET %s/%s/%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: readbench\r\n\r\n",
				prefix, sc.dir, fileName(i), addr)))
		}
		out[sc.tag] = t
	}
	return out
}

// startWorker starts one worker in this process (localcluster, with no
// coordinators) with the folder mounted at /data, a ring of itself alone
// and room for every page in memory.
func startWorker(ctx context.Context, dataDir, root string, total int64) (*localcluster.Cluster, error) {
	cfg := localcluster.DefaultConfig()
	cfg.Dir, cfg.Coordinators, cfg.Workers = dataDir, 0, 1
	cfg.Worker.PageSize = 1 << 20
	cfg.Worker.CapacityBytes = 2*total + 256<<20
	cfg.Worker.MemoryBytes = 2*total + 256<<20 // the tier counts some overhead per page
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.Mounts = []api.Mount{{Path: "/data", UFS: "file://" + root}}
	return localcluster.Start(ctx, cfg)
}

func stats(node *workernode.Node) worker.Stats {
	c := node.Worker.Cache().Stats()
	return worker.Stats{MemoryHits: c.MemoryHits, DiskHits: c.DiskHits, Misses: c.Misses}
}

// warm reads every file through the worker until a whole pass is served
// from its memory tier (whose admissions are asynchronous): no disk hit, no
// miss. A GET may read a page several times (ServeContent copies in 32 KiB
// reads), so memory hits are not counted per file.
func warm(ctx context.Context, node *workernode.Node, t map[string]target, scenarios []scenario) error {
	client := &http.Client{}
	for pass := 1; ; pass++ {
		before := stats(node)
		var n int
		for _, sc := range scenarios {
			for i := range sc.files {
				url := fmt.Sprintf("%s%s/data/%s/%s", node.URL, api.PathWorkerDataRoot, sc.dir, fileName(i))
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				m, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && (resp.StatusCode != http.StatusOK || m != sc.size) {
					err = fmt.Errorf("warming %s: HTTP %d, %d bytes", url, resp.StatusCode, m)
				}
				if err != nil {
					return err
				}
				n++
			}
		}
		after := stats(node)
		if after.DiskHits == before.DiskHits && after.Misses == before.Misses {
			fmt.Fprintf(os.Stderr, "worker warm after %d passes: %d files in its memory tier\n", pass, n)
			return nil
		}
		if pass == 10 {
			return errors.New("the worker's memory tier does not hold every file after 10 passes")
		}
		time.Sleep(100 * time.Millisecond) // let the tier apply its buffered admissions
	}
}
