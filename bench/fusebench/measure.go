package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alluvium/alluvium/api"
	"golang.org/x/sys/unix"
)

const block = 4096

// result is one comparison: the mount's figure against the reference's.
type result struct {
	name, unit  string
	mount, base float64
	goal        float64
}

func measure(o options, worker, ufs, mnt string) error {
	url := worker + api.PathWorkerDataRoot + "/b/big.bin"
	file := filepath.Join(mnt, "b", "big.bin")
	var res []result
	seqM, seqB, err := rounds(o.rounds, func() (float64, error) { return seqMount(file) },
		func() (float64, error) { return seqHTTP(url, o.size) })
	if err != nil {
		return err
	}
	res = append(res, result{"sequential read, 1 reader", "GB/s", seqM / 1e9, seqB / 1e9, 0.8})
	randM, randB, err := rounds(o.rounds, func() (float64, error) { return randMount(file, o) },
		func() (float64, error) { return randHTTP(url, o) })
	if err != nil {
		return err
	}
	res = append(res, result{fmt.Sprintf("4 KiB random reads, %d threads", o.threads), "reads/s", randM, randB, 0.5})
	statM, statB, err := rounds(o.rounds, func() (float64, error) { return statRate(filepath.Join(mnt, "b", "small"), o.entries) },
		func() (float64, error) { return statRate(filepath.Join(ufs, "small"), o.entries) })
	if err != nil {
		return err
	}
	res = append(res, result{fmt.Sprintf("stat of %d entries, warm", o.entries), "stats/s", statM, statB, 0.5})
	report(res, o)
	return nil
}

// rounds runs the mount's and the reference's measurement in turn and
// returns the medians.
func rounds(n int, mount, base func() (float64, error)) (float64, float64, error) {
	var ms, bs []float64
	for range n {
		m, err := mount()
		if err != nil {
			return 0, 0, err
		}
		b, err := base()
		if err != nil {
			return 0, 0, err
		}
		ms, bs = append(ms, m), append(bs, b)
	}
	return median(ms), median(bs), nil
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

// seqMount reads the file through the mount with 1 MiB reads, after
// dropping the kernel's pages of it, and returns bytes/s.
func seqMount(file string) (float64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	buf := make([]byte, 1<<20)
	start := time.Now()
	n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
	if err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// seqHTTP reads the file from the worker with curl (Go's HTTP client
// where curl is missing) and returns bytes/s.
func seqHTTP(url string, size int64) (float64, error) {
	start := time.Now()
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sf", "-o", "/dev/null", "-w", "%{size_download}", url).Output()
		if err != nil {
			return 0, fmt.Errorf("curl %s: %w", url, err)
		}
		if got, _ := strconv.ParseInt(string(out), 10, 64); got != size {
			return 0, fmt.Errorf("curl read %s bytes of %d", out, size)
		}
	} else if err := httpRead(url, size); err != nil {
		return 0, err
	}
	return float64(size) / time.Since(start).Seconds(), nil
}

// httpRead reads a whole file from the data API.
func httpRead(url string, size int64) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 1<<20))
	if err == nil && n != size {
		err = fmt.Errorf("read %d bytes of %d", n, size)
	}
	return err
}

// offsets hands out every 4 KiB block of the file once, in random order.
type offsets struct {
	perm []int
	next atomic.Int64
}

func newOffsets(size int64) *offsets {
	return &offsets{perm: rand.Perm(int(size / block))}
}

func (o *offsets) take() (int64, bool) {
	i := o.next.Add(1) - 1
	if i >= int64(len(o.perm)) {
		return 0, false
	}
	return int64(o.perm[i]) * block, true
}

// parallel runs fn on threads goroutines for d (or until the offsets run
// out) and returns the calls per second.
func parallel(threads int, d time.Duration, size int64, fn func(worker int, off int64) error) (float64, error) {
	offs := newOffsets(size)
	var done atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range threads {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				off, ok := offs.take()
				if !ok {
					return
				}
				if err := fn(w, off); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

// randMount reads 4 KiB blocks at random offsets through the mount, each
// thread on its own descriptor with the kernel's readahead off.
func randMount(file string, o options) (float64, error) {
	fds := make([]*os.File, o.threads)
	for i := range fds {
		f, err := os.Open(file)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_RANDOM)
		fds[i] = f
	}
	bufs := make([][]byte, o.threads)
	for i := range bufs {
		bufs[i] = make([]byte, block)
	}
	return parallel(o.threads, o.duration, o.size, func(w int, off int64) error {
		n, err := fds[w].ReadAt(bufs[w], off)
		if n != block {
			return fmt.Errorf("read %d bytes at %d: %v", n, off, err)
		}
		return nil
	})
}

// randHTTP reads 4 KiB Range requests at random offsets from the worker on
// threads keep-alive connections.
func randHTTP(url string, o options) (float64, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = o.threads
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	bufs := make([][]byte, o.threads)
	for i := range bufs {
		bufs[i] = make([]byte, block)
	}
	return parallel(o.threads, o.duration, o.size, func(w int, off int64) error {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+block-1))
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if n, err := io.ReadFull(resp.Body, bufs[w]); n != block {
			return fmt.Errorf("range at %d: %d, %d bytes: %v", off, resp.StatusCode, n, err)
		}
		return nil
	})
}

// statRate stats every file of dir (listed, and stat'ed once, first: the
// cache is warm) and returns stats/s.
func statRate(dir string, entries int) (float64, error) {
	names, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	if len(names) != entries {
		return 0, fmt.Errorf("%s lists %d entries, want %d", dir, len(names), entries)
	}
	paths := make([]string, len(names))
	for i, e := range names {
		paths[i] = filepath.Join(dir, e.Name())
		if _, err := os.Stat(paths[i]); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	const passes = 5
	for range passes {
		for _, p := range paths {
			if _, err := os.Stat(p); err != nil {
				return 0, err
			}
		}
	}
	return float64(passes*len(paths)) / time.Since(start).Seconds(), nil
}

func report(res []result, o options) {
	fmt.Printf("\nFUSE mount against the worker's data API / the UFS folder (size %s, median of %d rounds)\n\n", api.Size(o.size), o.rounds)
	fmt.Printf("%-36s %14s %14s %8s %6s\n", "measurement", "mount", "reference", "ratio", "goal")
	for _, r := range res {
		ratio := r.mount / r.base
		mark := "met"
		if ratio < r.goal {
			mark = "MISSED"
		}
		fmt.Printf("%-36s %10.2f %s %10.2f %s %7.2fx >=%.1fx %s\n", r.name, r.mount, r.unit, r.base, r.unit, ratio, r.goal, mark)
	}
	fmt.Println("\nreferences: sequential and random against the worker's HTTP data API (curl; Go HTTP at 16 connections),")
	fmt.Println("stat against the UFS folder itself. Context (not a ratio): Alluxio FUSE fio, 2,101 MiB/s single-thread")
	fmt.Println("sequential at 256 KiB on a 100 Gbps testbed.")
}
