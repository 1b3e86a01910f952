package main

// Where a write's time goes inside raft, from the metrics hashicorp/raft
// and raft-boltdb emit (armon/go-metrics, caught in memory): POST
// /api/v1/quota at 1 and 64 connections on the in-process cluster of
// BenchmarkAPI, then per stage the count, mean and max of its timings.
//
//	go test -run '^$' -bench 'BenchmarkRaftStages' -benchtime 5000x -v ./bench/apibench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metrics "github.com/armon/go-metrics"
)

func BenchmarkRaftStages(b *testing.B) {
	w, err := newWorkload(64, 192)
	if err != nil {
		b.Fatal(err)
	}
	addr, _ := startProfileCluster(b, w)
	for _, n := range profileConns {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			sink := metrics.NewInmemSink(time.Hour, time.Hour)
			cfg := metrics.DefaultConfig("bench")
			cfg.EnableHostname, cfg.EnableRuntimeMetrics, cfg.EnableServiceLabel = false, false, false
			if _, err := metrics.NewGlobal(cfg, sink); err != nil {
				b.Fatal(err)
			}
			defer metrics.NewGlobal(cfg, &metrics.BlackholeSink{})
			b.ResetTimer()
			r, err := run(context.Background(), w.alluviumPut(addr), plan{conns: n, count: int64(b.N)})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(r.rate(), "req/s")
			b.ReportMetric(float64(r.pct(50).Microseconds()), "p50-µs")
			var lines []string
			for _, iv := range sink.Data() {
				iv.RLock()
				for name, s := range iv.Samples {
					if !strings.HasPrefix(name, "bench.raft.") || strings.Contains(name, "heartbeat") {
						continue
					}
					lines = append(lines, fmt.Sprintf("%-58s n=%7d  mean=%8.3f  max=%8.3f", strings.TrimPrefix(name, "bench."), s.Count, s.Sum/float64(max(s.Count, 1)), s.Max))
				}
				for name, g := range iv.Gauges {
					if strings.Contains(name, "dispatchNumLogs") {
						lines = append(lines, fmt.Sprintf("%-58s last=%v", strings.TrimPrefix(name, "bench."), g.Value))
					}
				}
				iv.RUnlock()
			}
			sort.Strings(lines)
			b.Logf("%d requests in %v, %.0f req/s; raft timings in ms (batch counts where n):\n%s", r.ok, r.elapsed.Round(time.Millisecond), r.rate(), strings.Join(lines, "\n"))
		})
	}
}
