// Command s3bench is the S3 benchmark of issue 17 (make bench-s3): GetObject
// of cached objects through a worker's S3 API against the same objects
// through its HTTP data API, in one run on this machine, and ListObjectsV2
// of 10,000 keys, 1,000 a page.
//
// It starts two workers in this process (standalone: no coordinators, a
// ring of the two) with the S3 API on and anonymous reads, over a folder of
// -files-1m files of 1 MiB, -files-4k files of 4 KiB and 10,000 small files.
// Only files the first worker owns are read, and the cache is warmed with
// one pass first. Rows (each a closed-loop keep-alive load of GETs for
// -duration after -warmup):
//   - data API of the owner (the baseline), S3 of the owner, S3 of the
//     other worker (which fetches from the owner's cache: the proxy), for
//     1 MiB files at 16 connections and 4 KiB files at 64.
//
// The ratios are printed beside the goals (owner 1 MiB >= 0.9x, 4 KiB >=
// 0.8x, proxy >= 0.5x; a listing page < 200 ms).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/localcluster"
)

func main() {
	files1m := flag.Int("files-1m", 64, "1 MiB files")
	files4k := flag.Int("files-4k", 2048, "4 KiB files")
	listN := flag.Int("list-keys", 10000, "keys of the listing")
	dur := flag.Duration("duration", 5*time.Second, "measured time per row")
	warm := flag.Duration("warmup", time.Second, "unmeasured load before each row")
	flag.Parse()
	if err := run(*files1m, *files4k, *listN, *dur, *warm); err != nil {
		fmt.Fprintln(os.Stderr, "s3bench:", err)
		os.Exit(1)
	}
}

func run(files1m, files4k, listN int, dur, warm time.Duration) error {
	dir, err := os.MkdirTemp("", "s3bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ufs := filepath.Join(dir, "ufs")
	if err := writeFiles(ufs, files1m, files4k, listN); err != nil {
		return err
	}
	cfg := localcluster.DefaultConfig()
	cfg.Dir, cfg.Coordinators, cfg.Workers = filepath.Join(dir, "cluster"), 0, 2
	cfg.Worker.CapacityBytes, cfg.Worker.MemoryBytes = 1<<30, 512<<20
	cfg.S3 = localcluster.S3Config{Enabled: true}
	cfg.Mounts = []api.Mount{{Path: "/bench", UFS: "file://" + ufs}}
	c, err := localcluster.Start(context.Background(), cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	owner, other := c.Workers[0], c.Workers[1]
	pick := func(prefix string, n int) []string {
		var keys []string
		for i := range n {
			k := fmt.Sprintf("%s/%05d.bin", prefix, i)
			if _, self := owner.Worker.Owner("/bench/" + k); self {
				keys = append(keys, k)
			}
		}
		return keys
	}
	keys1m, keys4k := pick("1m", files1m), pick("4k", files4k)
	fmt.Printf("objects owned by worker 1: %d of 1 MiB, %d of 4 KiB; %v a row after %v of warm-up\n", len(keys1m), len(keys4k), dur, warm)
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, DisableCompression: true}}
	for _, k := range append(append([]string{}, keys1m...), keys4k...) { // warm the cache
		if _, err := get(cl, owner.URL+api.PathWorkerDataRoot+"/bench/"+k); err != nil {
			return err
		}
	}
	fmt.Printf("%-8s %-22s %5s %10s %9s %7s  %s\n", "size", "path", "conns", "req/s", "MB/s", "ratio", "goal")
	for _, sc := range []struct {
		label string
		keys  []string
		conns int
		goal  float64
	}{{"1 MiB", keys1m, 16, 0.9}, {"4 KiB", keys4k, 64, 0.8}} {
		var base float64
		for _, row := range []struct {
			name, url string
			goal      float64
		}{
			{"data API (owner)", owner.URL + api.PathWorkerDataRoot + "/bench/", 0},
			{"S3 (owner)", owner.S3URL + "/bench/", sc.goal},
			{"S3 (non-owner, proxy)", other.S3URL + "/bench/", 0.5},
		} {
			load(cl, row.url, sc.keys, sc.conns, warm)
			rps, mbs := load(cl, row.url, sc.keys, sc.conns, dur)
			ratio, goal := "", ""
			if base == 0 {
				base = rps
			} else {
				ratio, goal = fmt.Sprintf("%.2fx", rps/base), fmt.Sprintf(">= %.1fx", row.goal)
			}
			fmt.Printf("%-8s %-22s %5d %10.0f %9.1f %7s  %s\n", sc.label, row.name, sc.conns, rps, mbs, ratio, goal)
		}
	}
	return listing(cl, owner.S3URL, listN)
}

// listing pages through ListObjectsV2 of the list/ prefix, 1,000 a page,
// three times, and prints the time per page.
func listing(cl *http.Client, base string, n int) error {
	tokenRE := regexp.MustCompile(`<NextContinuationToken>([^<]*)</NextContinuationToken>`)
	var pages, keys int
	var total, worst time.Duration
	for range 3 {
		token := ""
		for {
			u := base + "/bench?list-type=2&max-keys=1000&prefix=list/"
			if token != "" {
				u += "&continuation-token=" + url.QueryEscape(token)
			}
			t0 := time.Now()
			body, err := get(cl, u)
			d := time.Since(t0)
			if err != nil {
				return err
			}
			total += d
			worst = max(worst, d)
			pages++
			keys += strings.Count(string(body), "<Key>")
			m := tokenRE.FindSubmatch(body)
			if m == nil {
				break
			}
			token = string(m[1])
		}
	}
	fmt.Printf("ListObjectsV2 of %d keys, 1,000 a page: %d keys in %d pages over 3 passes; %.1f ms a page on average, %.1f ms the slowest (goal < 200 ms)\n",
		n, keys, pages, float64(total.Microseconds())/1000/float64(pages), float64(worst.Microseconds())/1000)
	return nil
}

func get(cl *http.Client, u string) ([]byte, error) {
	resp, err := cl.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	return b, err
}

// load runs conns closed loops of GETs of random keys for d.
func load(cl *http.Client, base string, keys []string, conns int, d time.Duration) (rps, mbs float64) {
	var reqs, bytes atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for time.Now().Before(stop) {
				resp, err := cl.Get(base + keys[rand.IntN(len(keys))])
				if err != nil {
					continue
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					reqs.Add(1)
					bytes.Add(n)
				}
			}
		})
	}
	wg.Wait()
	s := d.Seconds()
	return float64(reqs.Load()) / s, float64(bytes.Load()) / s / 1e6
}

func writeFiles(dir string, n1m, n4k, nList int) error {
	for _, set := range []struct {
		prefix  string
		n, size int
	}{{"1m", n1m, 1 << 20}, {"4k", n4k, 4 << 10}, {"list", nList, 16}} {
		if err := os.MkdirAll(filepath.Join(dir, set.prefix), 0o755); err != nil {
			return err
		}
		buf := make([]byte, set.size)
		for i := range set.n {
			for j := range buf {
				buf[j] = byte(rand.IntN(256))
			}
			name := filepath.Join(dir, set.prefix, fmt.Sprintf("%05d.bin", i))
			if err := os.WriteFile(name, buf, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
