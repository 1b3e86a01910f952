// Command loadbench measures load jobs: the throughput of loading a folder
// of large files and one of many small files into three workers, side by
// side with `cp -r` of the same folder (the physical limit of the disk),
// and the scheduler's cost on the leader (CPU per file, Raft commits per
// batch). Everything runs on loopback in one process: three coordinators
// and three workers, started by internal/localcluster.
//
//	go run ./bench/loadbench [-large 8 -large-size 256MiB -small 100000 -small-size 4KiB]
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/localcluster"
	"github.com/alluvium/alluvium/internal/localcluster/coordinators"
)

func main() {
	large := flag.Int("large", 8, "number of large files")
	largeSize := flag.String("large-size", "256MiB", "size of a large file")
	small := flag.Int("small", 100000, "number of small files")
	smallSize := flag.String("small-size", "4KiB", "size of a small file")
	batch := flag.Int("batch", 200, "load batch size")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*large, mustSize(*largeSize), *small, mustSize(*smallSize), *batch); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func mustSize(s string) int64 {
	v, err := api.ParseSize(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return int64(v)
}

func run(large int, largeSize int64, small int, smallSize int64, batch int) error {
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ufs := filepath.Join(dir, "ufs")
	fmt.Printf("writing %d x %s and %d x %s under %s ...\n", large, api.Size(largeSize), small, api.Size(smallSize), ufs)
	if err := writeFiles(filepath.Join(ufs, "large"), large, largeSize); err != nil {
		return err
	}
	if err := writeFiles(filepath.Join(ufs, "small"), small, smallSize); err != nil {
		return err
	}
	syscall.Sync()

	ctx := context.Background()
	cluster, err := startCluster(ctx, dir, ufs, largeSize*int64(large)+smallSize*int64(small))
	if err != nil {
		return err
	}
	defer cluster.Close()
	c, err := cluster.Client()
	if err != nil {
		return err
	}
	nodes, workers := cluster.Members, cluster.Workers

	fmt.Println()
	fmt.Println("| data | cp -r + sync | alluvium load | ratio | files/s | CPU µs/file | Raft commits/batch |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, set := range []struct {
		name       string
		files      int
		size       int64
		targetNote string
	}{{"large", large, largeSize, "target ≥0.7x cp"}, {"small", small, smallSize, "target ≥2,000 files/s"}} {
		src := filepath.Join(ufs, set.name)
		dst := filepath.Join(dir, "copy-"+set.name)
		dropCaches()
		t0 := time.Now()
		if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
			return fmt.Errorf("cp: %v: %s", err, out)
		}
		syscall.Sync()
		cp := time.Since(t0)
		os.RemoveAll(dst)

		dropCaches()
		applied0 := appliedIndex(nodes)
		cpu0 := cpuTime()
		t0 = time.Now()
		bs := batch
		if _, err := c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/ufs/" + set.name}, Alias: set.name,
			Options: &api.LoadOptions{BatchSize: &bs}}); err != nil {
			return err
		}
		var j api.Job
		for {
			j, err = c.LoadJob(ctx, client.ByAlias(set.name))
			if err != nil {
				return err
			}
			if j.State == "SUCCEEDED" || j.State == "FAILED" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		syscall.Sync()
		took := time.Since(t0)
		cpu := cpuTime() - cpu0
		commits := appliedIndex(nodes) - applied0
		if j.State != "SUCCEEDED" {
			return fmt.Errorf("load %s: %s: %s", set.name, j.State, j.ErrorMessage)
		}
		var perWorker []string
		for _, w := range workers {
			perWorker = append(perWorker, api.Size(w.Worker.Cache().Stats().BytesFromOrigin).String())
		}
		defer fmt.Printf("  %s: bytes read from the UFS per worker, cumulative: %v\n", set.name, perWorker)
		batches := (set.files + batch - 1) / batch
		fmt.Printf("| %d x %s | %s (%.0f MB/s) | %s (%.0f MB/s) | %.2fx | %.0f | %.0f | %.1f |\n",
			set.files, api.Size(set.size), cp.Round(time.Millisecond), mbps(set.files, set.size, cp),
			took.Round(time.Millisecond), mbps(set.files, set.size, took), cp.Seconds()/took.Seconds(),
			float64(set.files)/took.Seconds(), float64(cpu.Microseconds())/float64(set.files),
			float64(commits)/float64(batches))
	}
	fmt.Println()
	fmt.Println("CPU µs/file is the whole process (3 coordinators, 3 workers, the client) per file loaded;")
	fmt.Println("Raft commits/batch counts every log entry while the job ran (progress, file index, budgets).")
	return nil
}

func mbps(files int, size int64, d time.Duration) float64 {
	return float64(int64(files)*size) / d.Seconds() / 1e6
}

func writeFiles(dir string, n int, size int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	buf := make([]byte, min(size, 4<<20))
	rand.Read(buf)
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", i%100))
		if i < 100 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
		}
		f, err := os.Create(filepath.Join(sub, fmt.Sprintf("f%07d", i)))
		if err != nil {
			return err
		}
		for left := size; left > 0; {
			k := min(left, int64(len(buf)))
			if _, err := f.Write(buf[:k]); err != nil {
				f.Close()
				return err
			}
			left -= k
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// dropCaches empties the kernel's page cache when allowed (root), so both
// cp and the load read from disk; otherwise both read warm files alike.
func dropCaches() {
	syscall.Sync()
	_ = os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func appliedIndex(nodes []*coordinators.Member) uint64 {
	var m uint64
	for _, n := range nodes {
		m = max(m, n.Node.Coordinator.FSM().AppliedIndex())
	}
	return m
}

// startCluster starts three coordinators and three workers in this process,
// with the UFS folder mounted at /ufs on every worker.
func startCluster(ctx context.Context, dir, ufs string, dataBytes int64) (*localcluster.Cluster, error) {
	cfg := localcluster.DefaultConfig()
	cfg.Dir, cfg.Workers = dir, 3
	cfg.Worker.CapacityBytes, cfg.Worker.MemoryBytes = dataBytes, 64<<20
	cfg.Mounts = []api.Mount{{Path: "/ufs", UFS: "file://" + ufs}}
	return localcluster.Start(ctx, cfg)
}
