// Command fusebench measures the FUSE mount (issue 16) against the worker's
// HTTP data API for the same cached file, in one run on this machine:
//
//   - sequential read of a cached file (1 GiB), one reader with 1 MiB
//     reads, against curl (or Go's HTTP client) reading it from the worker;
//   - 4 KiB reads at random offsets (each block once, FADV_RANDOM) by 16
//     threads, against 4 KiB Range requests on 16 connections;
//   - stat of 10,000 files of one directory with the metadata cache warm,
//     against stat of the same files in the UFS folder.
//
// One coordinator and one worker run in this process (internal/
// localcluster); the mount is the alluvium binary in its own process, as
// it runs in production.
//
//	go run ./bench/fusebench -alluvium bin/alluvium [-size 1GiB -entries 10000 -duration 5s -rounds 3]
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/localcluster"
)

type options struct {
	binary   string
	size     int64
	entries  int
	threads  int
	duration time.Duration
	rounds   int
}

func main() {
	var o options
	var size string
	flag.StringVar(&o.binary, "alluvium", "bin/alluvium", "the alluvium binary (make build)")
	flag.StringVar(&size, "size", "1GiB", "size of the file read sequentially and at random")
	flag.IntVar(&o.entries, "entries", 10000, "files in the directory whose entries are stat'ed")
	flag.IntVar(&o.threads, "threads", 16, "threads (and connections) of the random reads")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each random-read measurement")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of each measurement (the median is reported)")
	flag.Parse()
	v, err := api.ParseSize(size)
	if err != nil || v < 1<<20 {
		fmt.Fprintln(os.Stderr, "fusebench: -size: want at least 1MiB")
		os.Exit(2)
	}
	o.size = int64(v)
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "fusebench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("no /dev/fuse: %w", err)
	}
	bin, err := filepath.Abs(o.binary)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "fusebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ufs := filepath.Join(dir, "ufs")
	fmt.Printf("writing a %s file and %d small files under %s ...\n", api.Size(o.size), o.entries, ufs)
	if err := writeTree(ufs, o.size, o.entries); err != nil {
		return err
	}
	ctx := context.Background()
	cfg := localcluster.DefaultConfig()
	cfg.Dir, cfg.Coordinators, cfg.Workers = filepath.Join(dir, "cluster"), 1, 1
	cfg.Worker.CapacityBytes, cfg.Worker.MemoryBytes = 2*o.size+256<<20, 64<<20
	cfg.Mounts = []api.Mount{{Path: "/b", UFS: "file://" + ufs}}
	c, err := localcluster.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	worker := c.Workers[0].URL
	fmt.Println("caching the file in the worker ...")
	if err := httpRead(worker+api.PathWorkerDataRoot+"/b/big.bin", o.size); err != nil {
		return err
	}
	mnt := filepath.Join(dir, "mnt")
	stop, err := mount(bin, c.URLs()[0], mnt)
	if err != nil {
		return err
	}
	defer stop()
	return measure(o, worker, ufs, mnt)
}

// writeTree writes big.bin (random bytes) and small/f-<i> (1 KiB each).
func writeTree(ufs string, size int64, entries int) error {
	if err := os.MkdirAll(filepath.Join(ufs, "small"), 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(ufs, "big.bin"))
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	body := make([]byte, 1024)
	for i := range entries {
		if err := os.WriteFile(filepath.Join(ufs, "small", fmt.Sprintf("f-%05d", i)), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// mount runs `alluvium fuse` at mnt until stop.
func mount(bin, coordinator, mnt string) (stop func(), err error) {
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "fuse", mnt, "--coordinator", coordinator, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if entries, err := os.ReadDir(mnt); err == nil && len(entries) > 0 && strings.Contains(entries[0].Name(), "b") {
			return stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("the mount at %s did not come up within 30s", mnt)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
