package fsm

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The file index at scale (issue 19): entries as a load of ImageNet makes
// them, held by two workers, added in pages of 1,000 in listing order
// through Apply. Run once per size:
//
//	go test ./fsm -run '^$' -bench FileIndexScale -benchtime 1x -timeout 60m
//	ALLUVIUM_BENCH_BIG=1 go test ./fsm -run '^$' -bench FileIndexScale/10M -benchtime 1x -timeout 60m
//
// It reports heap bytes per entry after a GC, the snapshot's bytes per entry
// and write time (to a file), the restore time and the heap a restore adds
// at its peak (the old state stays alive beside it, as on a follower), a
// page of 1,000 entries listed, and a worker's reset (every entry it holds
// dropped) applied.

const (
	benchHolderA = "worker-3f1c9a52-7b4e-4d8a-9c61-2e5b8f0a1d47"
	benchHolderB = "worker-8a0d6e13-52c9-4f7b-b1e4-6c3a9d2f5e80"
)

// imagenetPages calls fn with the entries of n files, 1,000 at a time, in
// listing order: /data/imagenet/train/n<class>/n<class>_<image>.JPEG with
// 1,300 images a class.
func imagenetPages(n int, fn func([]FileEntry)) {
	const perClass = 1300
	page := make([]FileEntry, 0, 1000)
	names := make([]string, perClass)
	for class := 0; n > 0; class++ {
		syn := fmt.Sprintf("n%08d", 1440764+class*37)
		for i := range names {
			names[i] = syn + "_" + strconv.Itoa(10000+i*7) + ".JPEG"
		}
		slices.Sort(names)
		for _, name := range names[:min(perClass, n)] {
			page = append(page, FileEntry{Path: "/data/imagenet/train/" + syn + "/" + name,
				Size: int64(100_000 + len(page)*37), Replicas: 2, Workers: []string{benchHolderA, benchHolderB}})
			if len(page) == cap(page) {
				fn(page)
				page = page[:0]
			}
		}
		n -= min(perClass, n)
	}
	if len(page) > 0 {
		fn(page)
	}
}

func heapBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// rssBytes is the resident set of the process (0 where /proc is missing).
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// peakHeap samples the live heap every millisecond until stop is called,
// which returns the highest sample.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

func BenchmarkFileIndexScale(b *testing.B) {
	sizes := []int{1_000_000}
	if os.Getenv("ALLUVIUM_BENCH_BIG") != "" {
		sizes = append(sizes, 10_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("%dM", n/1_000_000), func(b *testing.B) {
			for range b.N {
				benchFileIndexScale(b, n)
			}
		})
	}
}

// buildImagenet applies n entries to a new FSM with the two holders
// registered.
func buildImagenet(b *testing.B, n int) *applier {
	a := newApplier(b)
	for _, w := range []string{benchHolderA, benchHolderB} {
		a.ok(&RegisterWorker{Worker: Worker{ID: w, Address: "10.0.0.1:29999", CapacityBytes: 1 << 40}, Now: t0})
	}
	imagenetPages(n, func(es []FileEntry) { a.ok(&FileIndexAdd{Entries: es}) })
	if got := a.f.FileIndexLen(); got != n {
		b.Fatalf("built %d entries, want %d", got, n)
	}
	return a
}

func benchFileIndexScale(b *testing.B, n int) {
	base := heapBytes()
	start := time.Now()
	a := buildImagenet(b, n)
	build := time.Since(start)
	heap := heapBytes() - base
	b.ReportMetric(float64(heap)/float64(n), "heap-B/entry")
	b.ReportMetric(float64(rssBytes())/float64(n), "rss-B/entry")
	b.ReportMetric(build.Seconds(), "build-s")

	file := filepath.Join(b.TempDir(), "snap")
	out, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	stopWrite := peakHeap()
	start = time.Now()
	size, err := a.f.Snapshot().WriteTo(out)
	if err == nil {
		err = out.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "snapwrite-s")
	peak := stopWrite()
	b.ReportMetric(float64(peak-min(base+heap, peak))/float64(n), "snapwrite-extra-heap-B/entry")
	b.ReportMetric(float64(size)/float64(n), "snap-B/entry")

	in, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	g := New()
	before := heapBytes()
	stopRestore := peakHeap()
	start = time.Now()
	if err := g.Restore(bufio.NewReaderSize(in, 1<<20)); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "restore-s")
	b.ReportMetric(float64(stopRestore()-before)/float64(n), "restore-peak-extra-heap-B/entry")
	if g.FileIndexLen() != n {
		b.Fatalf("restored %d entries", g.FileIndexLen())
	}
	benchListAndReset(b, a, n)
}

// benchListAndReset times a page of 1,000 from the middle of the index, and
// a worker's reset, which drops it from every entry.
func benchListAndReset(b *testing.B, a *applier, n int) {
	var mid string
	imagenetPages(n/2, func(es []FileEntry) { mid = es[len(es)-1].Path })
	const pages = 200
	start := time.Now()
	for range pages {
		if es, _ := a.f.FileIndexList("/data/imagenet/", mid, 1000); len(es) != 1000 {
			b.Fatalf("a page of %d", len(es))
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/pages, "list1000-us")
	start = time.Now()
	a.ok(&FileIndexReport{Worker: benchHolderA, Epoch: 1, Events: []HoldingEvent{{Seq: 1, Reset: true}}})
	b.ReportMetric(time.Since(start).Seconds(), "reset-s")
	if held := a.f.HeldBy(benchHolderA, "", 1); len(held) != 0 {
		b.Fatalf("after the reset, the worker still holds %v", held)
	}
}

// BenchmarkFileIndexList lists a page of 1,000 from the middle of 200,000
// ImageNet-like entries (the per-page cost without HTTP and JSON).
func BenchmarkFileIndexList(b *testing.B) {
	a := buildImagenet(b, 200_000)
	var mid string
	imagenetPages(100_000, func(es []FileEntry) { mid = es[len(es)-1].Path })
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if es, _ := a.f.FileIndexList("", mid, 1000); len(es) != 1000 {
			b.Fatalf("a page of %d", len(es))
		}
	}
}
