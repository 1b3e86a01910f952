package ring_test

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alluvium/alluvium/ring"
)

var tableOnce sync.Once

// BenchmarkTable prints issue 15's table for DefaultConfig: largest share /
// mean and usable capacity (mean / largest) with equal weights, keys moved
// by a join and a leave over the minimum (the newcomer's or leaver's fair
// share), the build time, and the weighted cases (largest relative error of
// a member's share against its weight's share). It is printed once; the
// benchmark's own time is one build at 1,000 members.
func BenchmarkTable(b *testing.B) {
	tableOnce.Do(func() { fmt.Print(table(b)) })
	ws := equal(workers(1000))
	for b.Loop() {
		if _, err := ring.NewWeighted(ws, ring.DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}

func table(b *testing.B) string {
	var sb strings.Builder
	ns := []int{3, 5, 10, 30, 100, 300, 1000}
	row := func(name string, f func(n int) string) {
		sb.WriteString("| " + name + " |")
		for _, n := range ns {
			sb.WriteString(" " + f(n) + " |")
		}
		sb.WriteString("\n")
	}
	sb.WriteString("\n| workers |")
	for _, n := range ns {
		sb.WriteString(" " + strconv.Itoa(n) + " |")
	}
	sb.WriteString("\n|---|" + strings.Repeat("---:|", len(ns)) + "\n")
	rings := map[int]*ring.Ring{}
	builds := map[int]time.Duration{}
	for _, n := range ns {
		start := time.Now()
		rings[n] = mustNew(b, equal(workers(n)))
		builds[n] = time.Since(start)
	}
	row("largest / mean", func(n int) string { return fmt.Sprintf("%.3f", 1/usable(rings[n])) })
	row("usable capacity", func(n int) string { return fmt.Sprintf("%.3f", usable(rings[n])) })
	row("moved on join / minimum", func(n int) string {
		joined, _ := rings[n].Next(equal(append(workers(n), "worker-new")))
		return fmt.Sprintf("%.3f", moved(rings[n], joined)*float64(n+1))
	})
	row("moved on leave / minimum", func(n int) string {
		ms := workers(n)
		left, _ := rings[n].Next(equal(slices.Delete(ms, n/2, n/2+1)))
		return fmt.Sprintf("%.3f", moved(rings[n], left)*float64(n))
	})
	row("replicas 2 moved on join / minimum", func(n int) string {
		joined, _ := rings[n].Next(equal(append(workers(n), "worker-new")))
		moves, _ := ring.Diff(rings[n], joined, 2)
		changed := 0 // replica slots that changed member
		for _, m := range moves {
			for i := range m.To {
				if i >= len(m.From) || !slices.Contains(m.From, m.To[i]) {
					changed++
				}
			}
		}
		return fmt.Sprintf("%.3f", float64(changed)/float64(rings[n].Config().Partitions)/(float64(min(2, n+1))/float64(n+1)))
	})
	row("replicas 2 largest / mean", func(n int) string {
		held := map[string]int{} // partitions each member is one of the 2 owners of
		for p := range rings[n].Config().Partitions {
			for _, o := range rings[n].PartitionOwners(p, 2) {
				held[o]++
			}
		}
		most := 0
		for _, c := range held {
			most = max(most, c)
		}
		return fmt.Sprintf("%.3f", float64(most)*float64(n)/float64(min(2, n)*rings[n].Config().Partitions))
	})
	row("build (one run, cold)", func(n int) string { return builds[n].Round(time.Millisecond).String() })
	sb.WriteString("\n| weights | largest relative error of a share |\n|---|---:|\n")
	weighted := map[string]map[string]float64{
		"1:2:4 (3 workers)": {"worker-a": 1, "worker-b": 2, "worker-c": 4},
		"random 1-8 (100 workers)": func() map[string]float64 {
			w := map[string]float64{}
			x := uint64(15)
			for _, id := range workers(100) {
				x = x*6364136223846793005 + 1442695040888963407
				w[id] = float64(1 + x>>61)
			}
			return w
		}(),
	}
	for _, name := range []string{"1:2:4 (3 workers)", "random 1-8 (100 workers)"} {
		w := weighted[name]
		total := 0.0
		for _, v := range w {
			total += v
		}
		worst := 0.0
		for id, s := range mustNew(b, w).Shares() {
			worst = max(worst, math.Abs(s/(w[id]/total)-1))
		}
		fmt.Fprintf(&sb, "| %s | %.2f%% |\n", name, worst*100)
	}
	return sb.String()
}

// BenchmarkOwner measures a lookup (no allocation).
func BenchmarkOwner(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(strconv.Itoa(n)+"-workers", func(b *testing.B) {
			r := mustNew(b, equal(workers(n)))
			keys := make([]string, 4096)
			for i := range keys {
				keys[i] = "/data/train/part-" + strconv.Itoa(i) + ".parquet"
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Owner(keys[i&4095])
				i++
			}
		})
	}
}

// BenchmarkOwners measures a lookup of 2 and 3 replicas at 1,000 workers:
// Owners (the result allocated) and AppendOwners into a reused buffer (no
// allocation), what the worker's read path calls.
func BenchmarkOwners(b *testing.B) {
	r := mustNew(b, equal(workers(1000)))
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = "/data/file-" + strconv.Itoa(i)
	}
	for _, n := range []int{2, 3} {
		b.Run("Owners-"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Owners(keys[i&4095], n)
				i++
			}
		})
		b.Run("AppendOwners-"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			var buf [3]string
			i := 0
			for b.Loop() {
				r.AppendOwners(buf[:0], keys[i&4095], n)
				i++
			}
		})
	}
}

// BenchmarkBuild measures building a ring (on every membership change).
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n)+"-workers", func(b *testing.B) {
			ws := equal(workers(n))
			for b.Loop() {
				mustNew(b, ws)
			}
		})
	}
}
