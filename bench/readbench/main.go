// Command readbench is the read benchmark of issues 5 and 14 (make
// bench-read): reads from one alluvium worker over HTTP against nginx
// serving the same bytes from disk with sendfile, side by side in one run,
// in three tiers, and one table at the end.
//
// It writes a folder of random files: -files-1m files of 1 MiB, -files-4k
// files of 4 KiB (64 and 4,096 by default: 64 MiB and 16 MiB) and one large
// file of -range-file-mb MiB (256 by default). nginx (Debian's nginx-light,
// its own config in a temporary directory: sendfile, keep-alive, no access
// log, worker_processes auto; tcp_nopush only with -nginx-tcp-nopush, see
// nginxConf) serves the folder as its root for the whole run. The worker,
// started in this process with a single-worker ring and no coordinators,
// serves the folder mounted at /data with 1 MiB pages.
//
// Three scenarios, each a closed-loop keep-alive load of GETs:
//   - 1MiB: a random 1 MiB file per GET, 16 connections (-conns-1m);
//   - 4KiB: a random 4 KiB file per GET, 64 connections (-conns-4k): a
//     whole file for both systems, one page for the worker;
//   - range: a 4 KiB Range (206) at a random byte offset of the large file,
//     16 connections (-conns-range); the offsets are the same for both.
//
// Three tiers (-tiers):
//   - memory: a worker whose memory tier holds every page, read until a
//     whole pass is served from it; nginx from the warm page cache;
//   - disk: a worker with its memory tier off (MemoryBytes 0), every page in
//     its disk tier, read until a pass has no miss; the OS page cache warm
//     on both sides (each step starts with -warmup of load);
//   - cold: the disk tier's worker, the page cache dropped on both sides
//     (sync; echo 3 > /proc/sys/vm/drop_caches) right before each step,
//     which is measured from its first request (no warm-up). As the data is
//     small, the page cache warms again during the step: the rate is of a
//     cache that starts cold. Needs root; skipped with a note otherwise.
//
// Each step runs -warmup then -duration, measured; which system goes first
// alternates between scenarios and rounds (-rounds). The load generator runs
// in this process, so it shares the machine with both servers alike. The
// table gives req/s, MB/s, p50 and p99 latency per row and the worker's
// ratio to nginx beside the targets of issue 14 (memory: 1 MiB >= 1.0x,
// 4 KiB >= 0.6x; disk: 1 MiB >= 1.0x, 4 KiB >= 0.7x, ranges >= 0.7x with a
// p99 under 1 ms; cold: >= 0.8x), with the load average before and after.
//
// -cpuprofile P writes a CPU profile of this process (the worker and the
// load generator) during each alluvium step to P-<tier>-<scenario>.pprof.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/internal/workernode"
)

type scenario struct {
	label string // "1 MiB files"
	tag   string // "1MiB": the flag's name, and the profile's
	dir   string // folder under the data root
	size  int64  // each file's size
	files int
	conns int
	read  int64 // bytes per answer: size, or the range's length
}

func (sc scenario) ranged() bool { return sc.read != sc.size }

// goal is what issue 14 asks of the worker in one tier and scenario.
type goal struct {
	ratio float64       // req/s over nginx's; 0 for none
	p99   time.Duration // 0 for none
}

var goals = map[string]map[string]goal{
	"memory": {"1MiB": {ratio: 1.0}, "4KiB": {ratio: 0.6}},
	"disk":   {"1MiB": {ratio: 1.0}, "4KiB": {ratio: 0.7}, "range": {ratio: 0.7, p99: time.Millisecond}},
	"cold":   {"1MiB": {ratio: 0.8}, "4KiB": {ratio: 0.8}, "range": {ratio: 0.8}},
}

var (
	allTiers     = []string{"memory", "disk", "cold"}
	allScenarios = []string{"1MiB", "4KiB", "range"}
	order        = []string{"nginx", "alluvium"} // the systems, in the report's order
)

func main() {
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "readbench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	nginxBin, extra, cpuProfile string
	nopush, keep, tls           bool
	files1m, files4k, rangeMiB  int
	conns1m, conns4k, connsRng  int
	warmup, duration            time.Duration
	rounds                      int
	want                        map[string]bool // systems to measure
	tiers, scenarios            []string
}

func parseFlags() (*options, error) {
	o := &options{want: map[string]bool{}}
	fs := newFlags(o)
	systems := fs.String("systems", "nginx,alluvium", "which systems to measure")
	tiers := fs.String("tiers", strings.Join(allTiers, ","), "which tiers to measure")
	scens := fs.String("scenarios", strings.Join(allScenarios, ","), "which scenarios to measure")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return nil, err
	}
	var err error
	if o.tiers, err = pick("-tiers", *tiers, allTiers); err != nil {
		return nil, err
	}
	if o.scenarios, err = pick("-scenarios", *scens, allScenarios); err != nil {
		return nil, err
	}
	sys, err := pick("-systems", *systems, order)
	if err != nil {
		return nil, err
	}
	for _, s := range sys {
		o.want[s] = true
	}
	if o.rangeMiB < 1 {
		return nil, fmt.Errorf("-range-file-mb must be at least 1")
	}
	return o, nil
}

// pick parses a comma-separated list of names from all, keeping all's order.
func pick(name, list string, all []string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(all, s) {
			return nil, fmt.Errorf("%s: unknown %q (want some of %s)", name, s, strings.Join(all, ","))
		}
		out = append(out, s)
	}
	var kept []string
	for _, s := range all {
		if slices.Contains(out, s) {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// bench is one run: the systems under load and the results so far.
type bench struct {
	o         *options
	scenarios []scenario
	root      string                       // the data folder
	tmp       string                       // the temporary directory
	nginx     map[string]target            // scenario tag -> nginx's target
	results   map[string][]*result         // tier/tag/system -> one per round
	counters  map[string][3]int64          // tier -> memory hits, disk hits, misses
	notes     []string                     // printed under the table
	node      *workernode.Node             // the running worker, if any
	nodeKind  string                       // "memory" or "disk": how it was started
	closeNode func()                       // stops the running worker
	load      [2]string                    // load average before and after
	total     int64                        // bytes of all the files
	workerTgt map[string]map[string]target // tier kind -> tag -> the worker's target
}

func mainErr() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{o: o, nginx: map[string]target{}, results: map[string][]*result{},
		counters: map[string][3]int64{}, workerTgt: map[string]map[string]target{}}
	b.scenarios = scenariosFor(o)
	tmp, err := os.MkdirTemp("", "readbench-")
	if err != nil {
		return err
	}
	b.tmp = tmp
	if o.keep {
		fmt.Fprintln(os.Stderr, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	defer b.stopWorker()
	stopNginx, err := b.start(ctx)
	defer stopNginx()
	if err != nil {
		return err
	}
	b.checkCold()
	b.load[0] = loadAvg()
	if err := b.measure(ctx); err != nil {
		return err
	}
	b.load[1] = loadAvg()
	b.report()
	return nil
}

// scenariosFor returns the scenarios asked for.
func scenariosFor(o *options) []scenario {
	all := map[string]scenario{
		"1MiB":  {label: "1 MiB files", tag: "1MiB", dir: "m1", size: 1 << 20, read: 1 << 20, files: o.files1m, conns: o.conns1m},
		"4KiB":  {label: "4 KiB files", tag: "4KiB", dir: "k4", size: 4 << 10, read: 4 << 10, files: o.files4k, conns: o.conns4k},
		"range": {label: "4 KiB ranges", tag: "range", dir: "big", size: int64(o.rangeMiB) << 20, read: 4 << 10, files: 1, conns: o.connsRng},
	}
	var out []scenario
	for _, tag := range o.scenarios {
		out = append(out, all[tag])
	}
	return out
}

// loadAvg returns the 1, 5 and 15 minute load averages, as uptime says them.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], ", ")
}
