package main

// What the raft log store costs the API: POST /api/v1/quota on an
// in-process three-node cluster (internal/node: real HTTP, TCP transport)
// whose coordinators get their Raft parts from here, with the log store
// varied:
//
//	bolt        raft-boltdb as the coordinator opens it: bbolt commits with
//	            two fdatasyncs (pages, then meta page) per StoreLogs
//	bolt_1sync  the same store without its syncs, plus one fdatasync of a
//	            preallocated file per StoreLogs: the sync count of a WAL
//	bolt_nosync no sync at all (not durable): the bound on what any
//	            change to the log's durability could win
//
//	go test -run '^$' -bench 'BenchmarkLogStoreAPI' -benchtime 3000x ./bench/apibench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/node"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// syncedLog is a log store whose StoreLogs ends with one fdatasync of a
// side file, standing in for a WAL's single sync per append.
type syncedLog struct {
	*raftboltdb.BoltStore
	f   *os.File
	off int64
}

func (s *syncedLog) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s *syncedLog) StoreLogs(logs []*raft.Log) error {
	if err := s.BoltStore.StoreLogs(logs); err != nil {
		return err
	}
	rec := make([]byte, 256)
	if _, err := s.f.WriteAt(rec, s.off); err != nil {
		return err
	}
	s.off = (s.off + int64(len(rec))) % (64 << 20)
	return syscall.Fdatasync(int(s.f.Fd()))
}

// startStoreCluster starts three nodes whose log stores are of kind and
// returns the leader's API address.
func startStoreCluster(b *testing.B, kind string) string {
	b.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var peers []coordinator.Peer
	var raftLns, httpLns []net.Listener
	for i := range 3 {
		rl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		hl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		raftLns, httpLns = append(raftLns, rl), append(httpLns, hl)
		peers = append(peers, coordinator.Peer{ID: fmt.Sprintf("c%d", i+1), Address: rl.Addr().String()})
	}
	var nodes []*node.Node
	for i := range 3 {
		dir := b.TempDir()
		store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), NoSync: kind != "bolt"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { store.Close() })
		var logs raft.LogStore = store
		if kind == "bolt_1sync" {
			f, err := os.OpenFile(filepath.Join(dir, "wal"), os.O_CREATE|os.O_WRONLY, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { f.Close() })
			if err := syscall.Fallocate(int(f.Fd()), 0, 0, 64<<20); err != nil {
				b.Fatal(err)
			}
			logs = &syncedLog{BoltStore: store, f: f}
		}
		cache, err := raft.NewLogCache(1024, logs)
		if err != nil {
			b.Fatal(err)
		}
		snaps, err := raft.NewFileSnapshotStore(dir, 1, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		trans := raft.NewNetworkTransport(&streamLayer{raftLns[i]}, 3, 10*time.Second, io.Discard)
		b.Cleanup(func() { trans.Close() })
		cfg := coordinator.DefaultConfig()
		cfg.ID, cfg.DataDir, cfg.Bootstrap, cfg.Logger = peers[i].ID, dir, peers, log
		cfg.RaftAdvertise = peers[i].Address
		cfg.HTTPAddress = httpLns[i].Addr().String()
		cfg.Raft = &coordinator.RaftParts{Transport: trans, LogStore: cache, StableStore: store, SnapshotStore: snaps}
		api := httpapi.DefaultOptions()
		api.Logger = log
		n, err := node.Start(node.Config{Coordinator: cfg, API: api, HTTPListener: httpLns[i]})
		if err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	b.Cleanup(func() {
		for _, n := range nodes {
			n.Close()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if n.Coordinator.IsLeader() {
				if _, err := n.Coordinator.Leader(); err == nil {
					return n.URL[len("http://"):]
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatal("no leader within 30s")
	return ""
}

// streamLayer is raft's StreamLayer over a listener already bound.
type streamLayer struct{ net.Listener }

func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}

func BenchmarkLogStoreAPI(b *testing.B) {
	w, err := newWorkload(64, 192)
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"bolt", "bolt_1sync", "bolt_nosync"} {
		b.Run(kind, func(b *testing.B) {
			addr := startStoreCluster(b, kind)
			ctx := context.Background()
			if _, err := call(ctx, http.MethodPost, "http://"+addr+"/api/v1/mount", map[string]string{"path": benchMount, "ufs": "file://" + b.TempDir()}, nil); err != nil {
				b.Fatal(err)
			}
			for _, n := range []int{1, 64} {
				b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
					b.ResetTimer()
					r, err := run(ctx, w.alluviumPut(addr), plan{conns: n, count: int64(b.N)})
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
		})
	}
}
