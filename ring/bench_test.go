package ring_test

import (
	"strconv"
	"testing"

	"github.com/alluvium/alluvium/ring"
)

// BenchmarkOwner measures a lookup, and reports the spread of partitions
// (max/mean share) and the share of keys that move when one worker joins.
func BenchmarkOwner(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n)+"-workers", func(b *testing.B) {
			r := mustNew(b, workers(n), ring.DefaultConfig())
			grown := mustNew(b, append(workers(n), "worker-new"), ring.DefaultConfig())
			keys := make([]string, 4096)
			for i := range keys {
				keys[i] = "/data/train/part-" + strconv.Itoa(i) + ".parquet"
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r.Owner(keys[i%len(keys)])
			}
			b.StopTimer()
			shares := r.Shares()
			most := 0
			for _, s := range shares {
				most = max(most, s)
			}
			b.ReportMetric(float64(most)/(float64(r.Config().Partitions)/float64(n)), "max/mean")
			moved := 0
			const sample = 100000
			for i := range sample {
				key := "/k/" + strconv.Itoa(i)
				a, _ := r.Owner(key)
				c, _ := grown.Owner(key)
				if a != c {
					moved++
				}
			}
			b.ReportMetric(float64(moved)/sample*float64(n+1), "moved*(N+1)")
		})
	}
}

// BenchmarkOwners3 measures a lookup of three replicas.
func BenchmarkOwners3(b *testing.B) {
	r := mustNew(b, workers(100), ring.DefaultConfig())
	b.ReportAllocs()
	for i := range b.N {
		r.Owners("/data/file-"+strconv.Itoa(i&4095), 3)
	}
}

// BenchmarkBuild measures building a ring (on every membership change).
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n)+"-workers", func(b *testing.B) {
			ms := workers(n)
			for range b.N {
				mustNew(b, ms, ring.DefaultConfig())
			}
		})
	}
}
