package coordinator_test

// Benchmarks of the write path (leader Apply) and of leader failover.
//
//	go test -run '^$' -bench 'BenchmarkApply$' -benchtime 3s ./coordinator/
//	go test -run '^$' -bench 'BenchmarkApplyTuning' -benchtime 3s ./coordinator/
//	go test -run '^$' -bench 'BenchmarkApplyTuning' -benchtime 3s ./coordinator/ -args -tuning.proposers=256
//	go test -run '^$' -bench 'BenchmarkElection' -benchtime 5x ./coordinator/
//
// Every Apply op proposes one 192-byte command (an fsm.SetQuota on one of a
// fixed set of paths, so state stays bounded) and waits for it to be
// committed and applied on the leader. With P proposers, P goroutines share
// the b.N ops. Reported: ops/s, and p50/p99 of per-op latency in µs. An
// Apply error (a leader stepping down on an overloaded machine, say) fails
// the benchmark rather than skewing its figures.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/coordinator/coordinatortest"
	"github.com/alluvium/alluvium/fsm"
)

const (
	benchCmdSize   = 192  // encoded bytes of one proposed command
	benchPaths     = 1024 // distinct quota paths cycled through
	benchMount     = "/bench"
	benchQuotaSize = 1 << 30 // fixed so that its msgpack encoding has a fixed size
)

var benchProposers = []int{1, 64}

// benchCommands returns benchPaths SetQuota commands under benchMount whose
// encodings are exactly benchCmdSize bytes.
func benchCommands(tb testing.TB) []fsm.Command {
	tb.Helper()
	mk := func(i, pad int) *fsm.SetQuota {
		return &fsm.SetQuota{Path: fmt.Sprintf("%s/%s-%04d", benchMount, strings.Repeat("p", pad), i), Bytes: benchQuotaSize}
	}
	// The msgpack header of a string grows with its length, so search for
	// the padding rather than compute it.
	pad := -1
	for p := 0; p < benchCmdSize; p++ {
		b, err := fsm.Encode(mk(0, p))
		if err != nil {
			tb.Fatal(err)
		}
		if len(b) == benchCmdSize {
			pad = p
			break
		}
	}
	if pad < 0 {
		tb.Fatalf("no padding makes a %d-byte command", benchCmdSize)
	}
	cmds := make([]fsm.Command, benchPaths)
	for i := range cmds {
		c := mk(i, pad)
		if b, err := fsm.Encode(c); err != nil || len(b) != benchCmdSize {
			tb.Fatalf("command %d encodes to %d bytes (err %v), want %d", i, len(b), err, benchCmdSize)
		}
		cmds[i] = c
	}
	return cmds
}

// startBoltCluster starts n coordinators on real raft-boltdb stores in
// temporary dirs and the TCP transport on loopback, without HTTP. configure
// adjusts each node's config after DefaultConfig.
func startBoltCluster(tb testing.TB, n int, configure func(*coordinator.Config)) []*coordinator.Coordinator {
	tb.Helper()
	lns := make([]net.Listener, n)
	peers := make([]coordinator.Peer, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		lns[i] = ln
		peers[i] = coordinator.Peer{ID: fmt.Sprintf("c%d", i+1), Address: ln.Addr().String()}
	}
	nodes := make([]*coordinator.Coordinator, 0, n)
	for i := range n {
		cfg := coordinator.DefaultConfig()
		cfg.ID = peers[i].ID
		cfg.DataDir = tb.TempDir()
		cfg.RaftListener = lns[i]
		cfg.HTTPAddress = "127.0.0.1:1" // no HTTP here; never reached in these benchmarks
		cfg.Bootstrap = peers
		cfg.Logger = slog.New(slog.DiscardHandler)
		if configure != nil {
			configure(&cfg)
		}
		co, err := coordinator.New(cfg)
		if err != nil {
			for _, l := range lns[i:] {
				l.Close()
			}
			shutdownAll(nodes)
			tb.Fatalf("start %s: %v", cfg.ID, err)
		}
		nodes = append(nodes, co)
	}
	tb.Cleanup(func() { shutdownAll(nodes) })
	return nodes
}

func shutdownAll(nodes []*coordinator.Coordinator) {
	var wg sync.WaitGroup
	for _, co := range nodes {
		wg.Go(func() { _ = co.Shutdown() })
	}
	wg.Wait()
}

// awaitLeader polls until one of nodes is a ready leader.
func awaitLeader(tb testing.TB, nodes []*coordinator.Coordinator, timeout time.Duration) *coordinator.Coordinator {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, co := range nodes {
			if co.IsLeader() {
				return co
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("no leader within %s", timeout)
	return nil
}

// prepareLeader mounts benchMount and sets every quota once, so that the
// measured ops overwrite existing entries.
func prepareLeader(tb testing.TB, leader *coordinator.Coordinator, cmds []fsm.Command) {
	tb.Helper()
	ctx := context.Background()
	if _, err := leader.Apply(ctx, &fsm.AddMount{Mount: fsm.Mount{Path: benchMount, UFS: "file:///srv/bench"}}); err != nil {
		tb.Fatalf("mount: %v", err)
	}
	// Set every quota once, from many proposers so that it is quick.
	var (
		wg   sync.WaitGroup
		errs = make([]error, len(cmds))
	)
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < len(cmds); i += 64 {
				_, errs[i] = leader.Apply(ctx, cmds[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatalf("warm up: %v", err)
	}
}

// runApply runs b.N Applies on leader from proposers goroutines and reports
// throughput and latency percentiles.
func runApply(b *testing.B, leader *coordinator.Coordinator, cmds []fsm.Command, proposers int) {
	ctx := context.Background()
	lat := make([]time.Duration, b.N)
	var (
		next     atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	n := int64(b.N)
	b.ResetTimer()
	start := time.Now()
	for range proposers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				_, err := leader.Apply(ctx, cmds[i%int64(len(cmds))])
				lat[i] = time.Since(t0)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					next.Store(n) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if firstErr != nil {
		b.Fatalf("apply: %v", firstErr)
	}
	reportLatency(b, lat, elapsed)
}

func reportLatency(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "ops/s")
	b.ReportMetric(percentile(lat, 50).Seconds()*1e6, "p50-us")
	b.ReportMetric(percentile(lat, 99).Seconds()*1e6, "p99-us")
}

// percentile returns the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100 // ceil(len*p/100)
	return sorted[max(rank, 1)-1]
}

// BenchmarkApply measures leader Apply on an in-memory cluster
// (coordinatortest: in-memory stores and transport, DefaultConfig's Raft
// timings) and on bolt stores over TCP (DefaultConfig), with 1 and 64
// concurrent proposers.
func BenchmarkApply(b *testing.B) {
	cmds := benchCommands(b)
	clusters := []struct {
		name  string
		start func(b *testing.B) *coordinator.Coordinator
	}{
		{"inmem", func(b *testing.B) *coordinator.Coordinator {
			// DefaultConfig's Raft timings rather than FastConfig's: with
			// FastConfig's 100ms lease, 64 proposers on two busy cores can
			// starve the leader's heartbeats until it steps down.
			def := coordinator.DefaultConfig()
			return coordinatortest.New(b, 3, coordinatortest.WithConfig(func(cfg *coordinator.Config) {
				cfg.HeartbeatTimeout = def.HeartbeatTimeout
				cfg.ElectionTimeout = def.ElectionTimeout
				cfg.LeaderLeaseTimeout = def.LeaderLeaseTimeout
			})).WaitLeader()
		}},
		{"bolt_tcp", func(b *testing.B) *coordinator.Coordinator {
			return awaitLeader(b, startBoltCluster(b, 3, nil), 30*time.Second)
		}},
	}
	for _, cl := range clusters {
		b.Run("cluster="+cl.name, func(b *testing.B) {
			leader := cl.start(b)
			prepareLeader(b, leader, cmds)
			for _, p := range benchProposers {
				b.Run(fmt.Sprintf("proposers=%d", p), func(b *testing.B) {
					runApply(b, leader, cmds, p)
				})
			}
		})
	}
}

// tuningProposers sets the concurrency of BenchmarkApplyTuning: at 64, no
// batch can exceed 64 entries, so MaxAppendEntries above 64 cannot matter;
// pass -args -tuning.proposers=256 to see where it does.
var tuningProposers = flag.Int("tuning.proposers", 64, "concurrent proposers in BenchmarkApplyTuning")

// BenchmarkApplyTuning measures bolt_tcp with 64 proposers under Raft
// batching variants: MaxAppendEntries x BatchApplyCh x CommitTimeout (5ms,
// or raft's default of 50ms). Each variant runs on a fresh cluster.
// Besides ops/s and latency it reports follower-lag-ms: on the idle
// cluster, how long after an acknowledged Apply every follower has applied
// it too (the median of a few probes). That is what CommitTimeout paces:
// followers learn the commit index with the next append, sent at the latest
// CommitTimeout (randomised up to 2x) after the last one.
func BenchmarkApplyTuning(b *testing.B) {
	cmds := benchCommands(b)
	proposers := *tuningProposers
	for _, commit := range []struct {
		name string
		d    time.Duration
	}{{"5ms", 5 * time.Millisecond}, {"raftdefault50ms", 50 * time.Millisecond}} {
		for _, mae := range []int{64, 256, 1024} {
			for _, batch := range []bool{false, true} {
				name := fmt.Sprintf("commit=%s/mae=%d/batch=%t", commit.name, mae, batch)
				b.Run(name, func(b *testing.B) {
					nodes := startBoltCluster(b, 3, func(cfg *coordinator.Config) {
						cfg.MaxAppendEntries = mae
						cfg.BatchApplyCh = batch
						cfg.CommitTimeout = commit.d
					})
					leader := awaitLeader(b, nodes, 30*time.Second)
					prepareLeader(b, leader, cmds)
					lag := followerLag(b, nodes, leader, cmds[0])
					b.Run(fmt.Sprintf("proposers=%d", proposers), func(b *testing.B) {
						runApply(b, leader, cmds, proposers)
						b.ReportMetric(lag.Seconds()*1e3, "follower-lag-ms")
					})
				})
			}
		}
	}
}

// followerLag returns the median, over a few sequential Applies, of the
// time from Apply returning on the leader to every node having applied it.
func followerLag(tb testing.TB, nodes []*coordinator.Coordinator, leader *coordinator.Coordinator, cmd fsm.Command) time.Duration {
	tb.Helper()
	const probes = 9
	lags := make([]time.Duration, 0, probes)
	for range probes {
		if _, err := leader.Apply(context.Background(), cmd); err != nil {
			tb.Fatalf("apply: %v", err)
		}
		index := leader.FSM().AppliedIndex()
		t0 := time.Now()
		for _, co := range nodes {
			for co.FSM().AppliedIndex() < index {
				if time.Since(t0) > 10*time.Second {
					tb.Fatalf("%s did not apply index %d within 10s", co.ID(), index)
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
		lags = append(lags, time.Since(t0))
	}
	slices.Sort(lags)
	return lags[len(lags)/2]
}

// BenchmarkElection measures failover on a 3-node bolt_tcp cluster with
// DefaultConfig timings: from the start of the leader's Shutdown to a
// survivor being a ready leader (IsLeader). Each op builds a fresh cluster
// with the timer stopped; run it with -benchtime 5x.
func BenchmarkElection(b *testing.B) {
	var total, lo, hi time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		nodes := startBoltCluster(b, 3, nil)
		leader := awaitLeader(b, nodes, 30*time.Second)
		// Let every follower hear from this leader and catch up, so the
		// measurement starts from a settled cluster.
		if _, err := leader.Apply(context.Background(), &fsm.AddMount{Mount: fsm.Mount{Path: benchMount, UFS: "file:///srv/bench"}}); err != nil {
			b.Fatal(err)
		}
		waitSettled(b, nodes, leader)
		var survivors []*coordinator.Coordinator
		for _, co := range nodes {
			if co != leader {
				survivors = append(survivors, co)
			}
		}
		b.StartTimer()
		t0 := time.Now()
		_ = leader.Shutdown()
		for !survivors[0].IsLeader() && !survivors[1].IsLeader() {
			if time.Since(t0) > 60*time.Second {
				b.Fatal("no new leader within 60s")
			}
			time.Sleep(time.Millisecond)
		}
		d := time.Since(t0)
		b.StopTimer()
		total += d
		if i == 0 || d < lo {
			lo = d
		}
		hi = max(hi, d)
		shutdownAll(survivors)
	}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 }
	b.ReportMetric(ms(total)/float64(b.N), "ms/election")
	b.ReportMetric(ms(lo), "min-ms")
	b.ReportMetric(ms(hi), "max-ms")
}

// waitSettled waits until every node knows the leader and has applied the
// leader's last index.
func waitSettled(tb testing.TB, nodes []*coordinator.Coordinator, leader *coordinator.Coordinator) {
	tb.Helper()
	want := leader.FSM().AppliedIndex()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, co := range nodes {
			_, id := co.Raft().LeaderWithID()
			ok = ok && string(id) == leader.ID() && co.FSM().AppliedIndex() >= want
		}
		if ok {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatal("cluster did not settle within 30s")
}
