package main

// In-process benchmarks for profiling the API's write and read paths: a
// three-node cluster of internal/testcluster (raft-boltdb with fsync, TCP
// transport, real loopback HTTP, with the binary's default Raft timings)
// driven by the same closed-loop generator as the process benchmark, so that
// a CPU profile sees server and client together:
//
//	go test -run '^$' -bench 'BenchmarkAPI' -benchtime 20000x \
//	    -cpuprofile /tmp/api.cpu ./bench/apibench
//	go tool pprof -top -cum bench/apibench/apibench.test /tmp/api.cpu
//
// BenchmarkAPI/apply_direct calls the leader's Coordinator.Apply without
// HTTP, on the same cluster, so the difference to post_quota is the cost of
// the HTTP layer. BenchmarkLogStore times one durable append of a 192-byte
// entry: raft-boltdb as the coordinator opens it, raft-boltdb with bbolt's
// freelist kept out of the commit, and a plain append + fdatasync as a WAL
// such as etcd's does it.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/internal/testcluster"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"go.etcd.io/bbolt"
)

var profileConns = []int{1, 64}

// startProfileCluster starts the cluster with DefaultConfig's Raft timings,
// mounts /bench and sets every connection's quota once.
func startProfileCluster(b *testing.B, w *workload) (string, *coordinator.Coordinator) {
	b.Helper()
	def := coordinator.DefaultConfig()
	c := testcluster.Start(b, 3, testcluster.Options{Coordinator: func(cfg *coordinator.Config) {
		cfg.HeartbeatTimeout = def.HeartbeatTimeout
		cfg.ElectionTimeout = def.ElectionTimeout
		cfg.LeaderLeaseTimeout = def.LeaderLeaseTimeout
	}})
	c.WaitPublished()
	leader := c.Nodes[c.Leader()]
	base := leader.URL()
	ctx := context.Background()
	if _, err := call(ctx, http.MethodPost, base+"/api/v1/mount", map[string]string{"path": benchMount, "ufs": "file://" + b.TempDir()}, nil); err != nil {
		b.Fatal(err)
	}
	for _, p := range w.quotaPaths {
		if _, err := call(ctx, http.MethodPost, base+"/api/v1/quota", rawJSON(fmt.Sprintf(`{"path":%q,"quota":%d}`, p, quotaBase)), nil); err != nil {
			b.Fatal(err)
		}
	}
	return leader.HTTPAddr, leader.Node.Coordinator
}

// BenchmarkAPI runs each scenario at 1 and 64 connections; one op is one
// request. Reported: req/s, p50 and p99 in µs, and failed requests.
func BenchmarkAPI(b *testing.B) {
	w, err := newWorkload(maxInt(profileConns), 192)
	if err != nil {
		b.Fatal(err)
	}
	addr, co := startProfileCluster(b, w)
	for _, n := range profileConns {
		b.Run(fmt.Sprintf("apply_direct/conns=%d", n), func(b *testing.B) {
			benchApply(b, co, w, n)
		})
	}
	scenarios := []struct {
		name string
		sc   scenario
	}{
		{"post_quota", w.alluviumPut(addr)},
		{"get_quota", w.alluviumGet(addr, false)},
		{"get_quota_stale", w.alluviumGet(addr, true)},
	}
	for _, s := range scenarios {
		for _, n := range profileConns {
			b.Run(fmt.Sprintf("%s/conns=%d", s.name, n), func(b *testing.B) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				defer cancel()
				b.ResetTimer()
				r, err := run(ctx, s.sc, plan{conns: n, count: int64(b.N)})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.rate(), "req/s")
				b.ReportMetric(float64(r.pct(50).Microseconds()), "p50-µs")
				b.ReportMetric(float64(r.pct(99).Microseconds()), "p99-µs")
				b.ReportMetric(float64(r.errs), "errors")
				if r.errs > 0 {
					b.Logf("%d failed, e.g. %s", r.errs, r.firstErr)
				}
			})
		}
	}
}

// benchApply runs b.N SetQuota commands through the leader's Apply from
// conns goroutines, as the HTTP handler does but without HTTP.
func benchApply(b *testing.B, co *coordinator.Coordinator, w *workload, conns int) {
	var next atomic.Int64
	lat := make([][]time.Duration, conns)
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := int64(0); next.Add(1) <= int64(b.N); seq++ {
				t0 := time.Now()
				_, err := co.Apply(context.Background(), &fsm.SetQuota{Path: w.quotaPaths[i], Bytes: quotaBase + seq%quotaBase})
				if err != nil {
					failed.Add(1)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	r := &result{elapsed: time.Since(start)}
	for _, l := range lat {
		r.lat = append(r.lat, l...)
	}
	slices.Sort(r.lat)
	r.ok = int64(len(r.lat))
	b.ReportMetric(r.rate(), "req/s")
	b.ReportMetric(float64(r.pct(50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(r.pct(99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(failed.Load()), "errors")
}

// BenchmarkLogStore times one durable append of one 192-byte raft entry.
func BenchmarkLogStore(b *testing.B) {
	data := make([]byte, 192)
	b.Run("raftboltdb", func(b *testing.B) {
		benchBolt(b, data, nil)
	})
	b.Run("raftboltdb_nofreelistsync", func(b *testing.B) {
		benchBolt(b, data, &bbolt.Options{NoFreelistSync: true, FreelistType: bbolt.FreelistMapType})
	})
	b.Run("raftwal", func(b *testing.B) {
		w, err := wal.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		b.ResetTimer()
		for i := range b.N {
			l := &raft.Log{Index: uint64(i + 1), Term: 1, Type: raft.LogCommand, Data: data}
			if err := w.StoreLogs([]*raft.Log{l}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append_fdatasync", func(b *testing.B) {
		f, err := os.OpenFile(filepath.Join(b.TempDir(), "wal"), os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		// A preallocated segment, as etcd's WAL has, so that fdatasync
		// need not write the file's size.
		if err := syscall.Fallocate(int(f.Fd()), 0, 0, 64<<20); err != nil {
			b.Fatal(err)
		}
		rec := make([]byte, 8+len(data)) // length/crc header + entry
		b.ResetTimer()
		for i := range b.N {
			if _, err := f.WriteAt(rec, int64(i*len(rec))%(64<<20-int64(len(rec)))); err != nil {
				b.Fatal(err)
			}
			if err := syscall.Fdatasync(int(f.Fd())); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchBolt(b *testing.B, data []byte, opts *bbolt.Options) {
	s, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(b.TempDir(), "raft.db"), BoltOptions: opts})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for i := range b.N {
		l := &raft.Log{Index: uint64(i + 1), Term: 1, Type: raft.LogCommand, Data: data}
		if err := s.StoreLogs([]*raft.Log{l}); err != nil {
			b.Fatal(err)
		}
	}
}
