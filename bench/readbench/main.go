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
	"strings"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/api"
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

func mainErr() error {
	nginxBin := flag.String("nginx", "/usr/sbin/nginx", "the nginx binary")
	nopush := flag.Bool("nginx-tcp-nopush", false, "turn nginx's tcp_nopush on (slower for 1 MiB on loopback)")
	extra := flag.String("nginx-extra", "", "more directives for nginx's http block, e.g. 'open_file_cache max=10000;'")
	files1m := flag.Int("files-1m", 64, "how many 1 MiB files")
	files4k := flag.Int("files-4k", 4096, "how many 4 KiB files")
	conns1m := flag.Int("conns-1m", 16, "connections for the 1 MiB GETs")
	conns4k := flag.Int("conns-4k", 64, "connections for the 4 KiB GETs")
	warmup := flag.Duration("warmup", 2*time.Second, "load before each measured window")
	duration := flag.Duration("duration", 10*time.Second, "measured window of each step")
	rounds := flag.Int("rounds", 1, "how many times each scenario runs on both systems")
	systems := flag.String("systems", "nginx,alluvium", "which systems to measure")
	cpuProfile := flag.String("cpuprofile", "", "write CPU profiles of the alluvium steps to `prefix`-<size>.pprof")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	scenarios := []scenario{
		{label: "1 MiB", tag: "1MiB", dir: "m1", size: 1 << 20, files: *files1m, conns: *conns1m, target: 1.0},
		{label: "4 KiB", tag: "4KiB", dir: "k4", size: 4 << 10, files: *files4k, conns: *conns4k, target: 0.6},
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*systems, ",") {
		if s != "nginx" && s != "alluvium" {
			return fmt.Errorf("-systems: unknown system %q", s)
		}
		want[s] = true
	}

	tmp, err := os.MkdirTemp("", "readbench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	root := filepath.Join(tmp, "data")
	var total int64
	for _, sc := range scenarios {
		if err := writeFiles(filepath.Join(root, sc.dir), sc.files, sc.size); err != nil {
			return err
		}
		total += int64(sc.files) * sc.size
	}

	targets := map[string]map[string]target{} // system -> scenario tag -> target
	if want["nginx"] {
		ngTmp := filepath.Join(tmp, "nginx")
		if err := os.MkdirAll(ngTmp, 0o700); err != nil {
			return err
		}
		ng, err := startNginx(ctx, *nginxBin, ngTmp, root, *nopush, *extra)
		if err != nil {
			return err
		}
		defer ng.stop()
		targets["nginx"] = targetsFor("nginx", ng.addr, "", scenarios)
	}
	var node *workernode.Node
	if want["alluvium"] {
		node, err = startWorker(filepath.Join(tmp, "worker"), root, total)
		if err != nil {
			return err
		}
		defer node.Close()
		addr := strings.TrimPrefix(node.URL, "http://")
		t := targetsFor("alluvium", addr, api.PathWorkerDataRoot+"/data", scenarios)
		if err := warm(ctx, node, t, scenarios); err != nil {
			return err
		}
		targets["alluvium"] = t
	}

	order := []string{"nginx", "alluvium"}
	results := map[string]map[string][]*result{"nginx": {}, "alluvium": {}}
	var before, after worker.Stats
	if node != nil {
		before = stats(node)
	}
	for round := range *rounds {
		for i, sc := range scenarios {
			for j := range order {
				sys := order[(i+round+j)%2] // alternate who goes first
				if !want[sys] {
					continue
				}
				fmt.Fprintf(os.Stderr, "round %d: %s GETs at %d connections on %s...\n", round+1, sc.label, sc.conns, sys)
				var prof *os.File
				if sys == "alluvium" && *cpuProfile != "" {
					name := fmt.Sprintf("%s-%s.pprof", *cpuProfile, sc.tag)
					if round > 0 {
						name = fmt.Sprintf("%s-%s-%d.pprof", *cpuProfile, sc.tag, round+1)
					}
					if prof, err = os.Create(name); err != nil {
						return err
					}
					if err := pprof.StartCPUProfile(prof); err != nil {
						return err
					}
				}
				r, err := run(ctx, targets[sys][sc.tag], sc.conns, *warmup, *duration)
				if prof != nil {
					pprof.StopCPUProfile()
					prof.Close()
				}
				if err != nil {
					return err
				}
				if r.errs > 0 {
					fmt.Fprintf(os.Stderr, "  %d failed requests, e.g. %s\n", r.errs, r.firstErr)
				}
				results[sys][sc.tag] = append(results[sys][sc.tag], r)
			}
		}
	}
	if node != nil {
		after = stats(node)
	}

	fmt.Printf("\n## Cached reads: one alluvium worker vs nginx (sendfile), loopback, %d CPUs\n\n", runtime.NumCPU())
	fmt.Printf("%d x 1 MiB and %d x 4 KiB files, a random file per GET, closed loop over keep-alive connections; %v warm-up, %v measured per step; nginx tcp_nopush %v.\n\n",
		*files1m, *files4k, *warmup, *duration, *nopush)
	fmt.Println("| size | conns | round | system | req/s | GiB/s | p50 | p99 | errors | vs nginx | target |")
	fmt.Println("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
	for _, sc := range scenarios {
		for round := range *rounds {
			var ngRate float64
			if rs := results["nginx"][sc.tag]; round < len(rs) {
				ngRate = rs[round].rate()
			}
			for _, sys := range order {
				rs := results[sys][sc.tag]
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
	}
	if node != nil {
		fmt.Printf("\nWorker cache during the steps: %d memory hits, %d disk hits, %d misses.\n",
			after.MemoryHits-before.MemoryHits, after.DiskHits-before.DiskHits, after.Misses-before.Misses)
	}
	return nil
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

// startWorker starts one worker in this process with the folder mounted at
// /data, a ring of itself alone and room for every page in memory.
func startWorker(dataDir, root string, total int64) (*workernode.Node, error) {
	cfg := worker.DefaultConfig()
	cfg.DataDir = dataDir
	cfg.PageSize = 1 << 20
	cfg.CapacityBytes = 2*total + 256<<20
	cfg.MemoryBytes = 2*total + 256<<20 // the tier counts some overhead per page
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	node, err := workernode.Start(cfg, nil, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := node.Worker
	err = w.SetPolicies(api.WorkerPolicies{
		Version:  1,
		Mounts:   []api.Mount{{Path: "/data", UFS: "file://" + root}},
		Workers:  []api.Node{{ID: w.ID(), Address: strings.TrimPrefix(node.URL, "http://"), State: "LIVE"}},
		RingMode: "dynamic",
	})
	if err != nil {
		_ = node.Close()
		return nil, err
	}
	return node, nil
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
