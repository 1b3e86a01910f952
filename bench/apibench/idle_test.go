package main

// BenchmarkIdle: where an idle cluster's CPU goes. Three coordinators in
// this process with every timing of coordinator.DefaultConfig (the
// binary's), settled, then one op is one second of doing nothing; reported
// is the CPU time of the process (all three nodes) per second, so that a
// CPU profile shows the wakeups of an idle cluster:
//
//	go test -run '^$' -bench 'BenchmarkIdle' -benchtime 20x \
//	    -cpuprofile /tmp/idle.cpu ./bench/apibench
//	go tool pprof -top -cum bench/apibench/apibench.test /tmp/idle.cpu
//
// `make bench-idle` measures the same on real processes against etcd.

import (
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/internal/testcluster"
)

func BenchmarkIdle(b *testing.B) {
	def := coordinator.DefaultConfig()
	c := testcluster.Start(b, 3, testcluster.Options{Coordinator: func(cfg *coordinator.Config) {
		checkUFS := cfg.CheckUFS
		*cfg = def
		cfg.CheckUFS = checkUFS
	}})
	c.WaitPublished()
	time.Sleep(2 * time.Second) // settle: the announces and elections' aftermath
	b.ResetTimer()
	cpu0, start := selfCPU(), time.Now()
	for range b.N {
		time.Sleep(time.Second)
	}
	wall := time.Since(start)
	b.ReportMetric(100*float64(selfCPU()-cpu0)/float64(wall), "%core")
}
