package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/localcluster"
	"github.com/alluvium/alluvium/internal/tlsconfig"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/worker"
)

// rangeRequests is how many ranged GETs are prebuilt (random offsets).
const rangeRequests = 8192

// start writes the files and starts nginx if measured; the function
// returned stops it.
func (b *bench) start(ctx context.Context) (func(), error) {
	b.root = filepath.Join(b.tmp, "data")
	for _, sc := range b.scenarios {
		if err := writeFiles(filepath.Join(b.root, sc.dir), sc.files, sc.size); err != nil {
			return func() {}, err
		}
		b.total += int64(sc.files) * sc.size
	}
	if !b.o.want["nginx"] {
		return func() {}, nil
	}
	ngTmp := filepath.Join(b.tmp, "nginx")
	if err := os.MkdirAll(ngTmp, 0o700); err != nil {
		return func() {}, err
	}
	ng, err := startNginx(ctx, b.o.nginxBin, ngTmp, b.root, b.o.nopush, b.o.extra)
	if err != nil {
		return func() {}, err
	}
	b.nginx = targetsFor("nginx", ng.addr, "", b.scenarios)
	return ng.stop, nil
}

// checkCold drops the page cache once if the cold tier is asked for, and
// leaves the tier out with a note when it cannot.
func (b *bench) checkCold() {
	var tiers []string
	for _, t := range b.o.tiers {
		if t == "cold" {
			if err := dropCaches(); err != nil {
				b.notes = append(b.notes, fmt.Sprintf("Cold tier skipped: cannot drop the page cache (%v); run as root.", err))
				fmt.Fprintln(os.Stderr, "readbench: cold tier skipped:", err)
				continue
			}
		}
		tiers = append(tiers, t)
	}
	b.o.tiers = tiers
}

// dropCaches writes dirty pages out and drops the page cache, dentries and
// inodes: sync; echo 3 > /proc/sys/vm/drop_caches.
func dropCaches() error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

// measure runs every round of every scenario of every tier on both
// systems, which one goes first alternating.
func (b *bench) measure(ctx context.Context) error {
	for _, tier := range b.o.tiers {
		if b.o.want["alluvium"] {
			if err := b.useWorker(ctx, tier); err != nil {
				return err
			}
		}
		var before [3]int64
		if b.node != nil {
			before = counters(b.node)
		}
		for round := range b.o.rounds {
			for i, sc := range b.scenarios {
				for j := range order {
					sys := order[(i+round+j)%2] // alternate who goes first
					if !b.o.want[sys] {
						continue
					}
					r, err := b.step(ctx, tier, sys, sc, round)
					if err != nil {
						return err
					}
					k := key(tier, sc.tag, sys)
					b.results[k] = append(b.results[k], r)
				}
			}
		}
		if b.node != nil {
			after := counters(b.node)
			b.counters[tier] = [3]int64{after[0] - before[0], after[1] - before[1], after[2] - before[2]}
		}
	}
	return nil
}

func key(tier, tag, sys string) string { return tier + "/" + tag + "/" + sys }

// step loads one system with one scenario in one tier, under the CPU
// profiler for alluvium with -cpuprofile.
func (b *bench) step(ctx context.Context, tier, sys string, sc scenario, round int) (*result, error) {
	fmt.Fprintf(os.Stderr, "%s tier, round %d: %s at %d connections on %s...\n", tier, round+1, sc.label, sc.conns, sys)
	t := b.nginx[sc.tag]
	if sys == "alluvium" {
		t = b.workerTgt[b.nodeKind][sc.tag]
	}
	warmup := b.o.warmup
	if tier == "cold" {
		warmup = 0
		if err := dropCaches(); err != nil {
			return nil, fmt.Errorf("drop the page cache: %w", err)
		}
	}
	if sys == "alluvium" && b.o.cpuProfile != "" {
		name := fmt.Sprintf("%s-%s-%s.pprof", b.o.cpuProfile, tier, sc.tag)
		if round > 0 {
			name = fmt.Sprintf("%s-%s-%s-%d.pprof", b.o.cpuProfile, tier, sc.tag, round+1)
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
	r, err := run(ctx, t, sc.conns, warmup, b.o.duration)
	if err != nil {
		return nil, err
	}
	if r.errs > 0 {
		fmt.Fprintf(os.Stderr, "  %d failed requests, e.g. %s\n", r.errs, r.firstErr)
	}
	return r, nil
}

// useWorker makes the running worker the one the tier needs: the memory
// tier's, or the disk tier's (for the disk and cold tiers), started and
// warmed up.
func (b *bench) useWorker(ctx context.Context, tier string) error {
	kind := "disk"
	if tier == "memory" {
		kind = "memory"
	}
	if b.node != nil && b.nodeKind == kind {
		return nil
	}
	b.stopWorker()
	var src *tlsconfig.Source
	if b.o.tls {
		files, err := tlsconfig.GenerateDev(filepath.Join(b.tmp, "tls"))
		if err == nil {
			src, err = tlsconfig.Load(files)
		}
		if err != nil {
			return err
		}
	}
	c, err := startWorker(ctx, filepath.Join(b.tmp, "worker-"+kind), b.root, b.total, kind == "memory", src)
	if err != nil {
		return err
	}
	b.node, b.nodeKind = c.Workers[0], kind
	b.closeNode = func() { _ = c.Close() }
	addr := strings.TrimPrefix(strings.TrimPrefix(b.node.URL, "http://"), "https://")
	t := targetsFor("alluvium", addr, api.PathWorkerDataRoot+"/data", b.scenarios)
	var clientTLS *tls.Config
	if src != nil {
		clientTLS = src.Client()
		for tag, tg := range t {
			tg.tls = clientTLS
			t[tag] = tg
		}
	}
	b.workerTgt[kind] = t
	return warm(ctx, b.node, kind == "memory", b.scenarios, clientTLS)
}

// stopWorker stops the running worker, if any.
func (b *bench) stopWorker() {
	if b.closeNode != nil {
		b.closeNode()
	}
	b.node, b.closeNode = nil, nil
}

// startWorker starts one worker in this process (localcluster, with no
// coordinators) with the folder mounted at /data, a ring of itself alone,
// room for every page on disk and, with memory, in its memory tier; without,
// its memory tier is off.
func startWorker(ctx context.Context, dataDir, root string, total int64, memory bool, src *tlsconfig.Source) (*localcluster.Cluster, error) {
	cfg := localcluster.DefaultConfig()
	cfg.TLS = src // the worker on TLS, when set
	cfg.Dir, cfg.Coordinators, cfg.Workers = dataDir, 0, 1
	cfg.Worker.PageSize = 1 << 20
	cfg.Worker.CapacityBytes = 2*total + 256<<20
	cfg.Worker.MemoryBytes = 0
	if memory {
		cfg.Worker.MemoryBytes = 2*total + 256<<20 // the tier counts some overhead per page
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.Mounts = []api.Mount{{Path: "/data", UFS: "file://" + root}}
	return localcluster.Start(ctx, cfg)
}

// counters returns the worker's memory hits, disk hits and misses.
func counters(node *workernode.Node) [3]int64 {
	s := stats(node)
	return [3]int64{int64(s.MemoryHits), int64(s.DiskHits), int64(s.Misses)}
}

func stats(node *workernode.Node) worker.Stats {
	c := node.Worker.Cache().Stats()
	return worker.Stats{MemoryHits: c.MemoryHits, DiskHits: c.DiskHits, Misses: c.Misses}
}

// warm reads every file whole through the worker until a whole pass has no
// miss and, with memory, no disk hit either (the memory tier's admissions
// are asynchronous). A GET may read a page several times (ServeContent
// copies in 32 KiB reads), so hits are not counted per file.
func warm(ctx context.Context, node *workernode.Node, memory bool, scenarios []scenario, clientTLS *tls.Config) error {
	client := &http.Client{}
	if clientTLS != nil {
		client.Transport = tlsconfig.HTTPTransport(clientTLS)
	}
	for pass := 1; ; pass++ {
		before := stats(node)
		var n int
		for _, sc := range scenarios {
			for i := range sc.files {
				url := fmt.Sprintf("%s%s/data/%s/%s", node.URL, api.PathWorkerDataRoot, sc.dir, fileName(i))
				if err := getWhole(ctx, client, url, sc.size); err != nil {
					return err
				}
				n++
			}
		}
		after := stats(node)
		if after.Misses == before.Misses && (!memory || after.DiskHits == before.DiskHits) {
			fmt.Fprintf(os.Stderr, "worker warm after %d passes: %d files (memory tier %v)\n", pass, n, memory)
			return nil
		}
		if pass == 10 {
			return errors.New("the worker does not hold every file in the tier measured after 10 passes")
		}
		time.Sleep(100 * time.Millisecond) // let the tier apply its buffered admissions
	}
}

// getWhole GETs url and checks that it answers 200 with size bytes.
func getWhole(ctx context.Context, client *http.Client, url string, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	m, err := io.Copy(io.Discard, resp.Body)
	if err == nil && (resp.StatusCode != http.StatusOK || m != size) {
		err = fmt.Errorf("warming %s: HTTP %d, %d bytes", url, resp.StatusCode, m)
	}
	return err
}

// writeFiles writes n files of size random bytes into dir, 1 MiB at a time.
func writeFiles(dir string, n int, size int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	buf := make([]byte, min(size, 1<<20))
	for i := range n {
		f, err := os.Create(filepath.Join(dir, fileName(i)))
		if err != nil {
			return err
		}
		for left := size; left > 0 && err == nil; left -= int64(len(buf)) {
			_, _ = rand.Read(buf)
			_, err = f.Write(buf[:min(left, int64(len(buf)))])
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func fileName(i int) string { return fmt.Sprintf("f%05d.bin", i) }

// targetsFor prebuilds the GETs of every scenario for a system whose URL of
// data file <dir>/<name> is prefix/<dir>/<name>: one per file, or for a
// ranged scenario rangeRequests ranges of its file at random offsets, the
// same offsets for every system.
func targetsFor(system, addr, prefix string, scenarios []scenario) map[string]target {
	out := map[string]target{}
	for _, sc := range scenarios {
		t := target{system: system, addr: addr, size: sc.read, status: http.StatusOK}
		if !sc.ranged() {
			for i := range sc.files {
				t.requests = append(t.requests, fmt.Appendf(nil, "GET %s/%s/%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: readbench\r\n\r\n",
					prefix, sc.dir, fileName(i), addr))
			}
			out[sc.tag] = t
			continue
		}
		t.status = http.StatusPartialContent
		rng := mrand.New(mrand.NewPCG(14, 14))
		for range rangeRequests {
			off := rng.Int64N(sc.size - sc.read + 1)
			t.requests = append(t.requests, fmt.Appendf(nil, "GET %s/%s/%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: readbench\r\nRange: bytes=%d-%d\r\n\r\n",
				prefix, sc.dir, fileName(0), addr, off, off+sc.read-1))
		}
		out[sc.tag] = t
	}
	return out
}
