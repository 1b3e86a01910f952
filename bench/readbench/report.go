package main

import (
	"fmt"
	"runtime"
	"time"
)

// report prints the markdown table of the results, and the worker's cache
// counters per tier.
func (b *bench) report() {
	o := b.o
	fmt.Printf("\n## Reads: one alluvium worker vs nginx (sendfile), loopback, %d CPUs\n\n", runtime.NumCPU())
	fmt.Printf("%d x 1 MiB files, %d x 4 KiB files, 4 KiB ranges at random offsets of one %d MiB file; closed loop over keep-alive connections; "+
		"%v warm-up (none when cold), %v measured per step; %d round(s); nginx tcp_nopush %v. Load average (1, 5, 15 min) before: %s; after: %s.\n\n",
		o.files1m, o.files4k, o.rangeMiB, o.warmup, o.duration, o.rounds, o.nopush, b.load[0], b.load[1])
	fmt.Println("| tier | reads | conns | round | system | req/s | MB/s | p50 | p99 | errors | vs nginx | target |")
	fmt.Println("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
	for _, tier := range o.tiers {
		for _, sc := range b.scenarios {
			for round := range o.rounds {
				b.reportRound(tier, sc, round)
			}
		}
	}
	fmt.Println()
	for _, tier := range o.tiers {
		if c, ok := b.counters[tier]; ok {
			fmt.Printf("Worker cache during the %s tier's steps: %d memory hits, %d disk hits, %d misses.\n", tier, c[0], c[1], c[2])
		}
	}
	for _, n := range b.notes {
		fmt.Println(n)
	}
}

// reportRound prints the rows of one round of one scenario in one tier.
func (b *bench) reportRound(tier string, sc scenario, round int) {
	var ngRate float64
	if rs := b.results[key(tier, sc.tag, "nginx")]; round < len(rs) {
		ngRate = rs[round].rate()
	}
	for _, sys := range order {
		rs := b.results[key(tier, sc.tag, sys)]
		if round >= len(rs) {
			continue
		}
		r := rs[round]
		ratio, verdict := "", ""
		if sys == "alluvium" {
			var x float64
			if ngRate > 0 {
				x = r.rate() / ngRate
				ratio = fmt.Sprintf("%.2fx", x)
			}
			verdict = verdictOf(goals[tier][sc.tag], x, ngRate > 0, r.pct(99))
		}
		fmt.Printf("| %s | %s | %d | %d | %s | %.0f | %.1f | %s | %s | %d | %s | %s |\n", tier, sc.label, sc.conns, round+1, sys,
			r.rate(), r.mbps(), fmtDur(r.pct(50)), fmtDur(r.pct(99)), r.errs, ratio, verdict)
	}
}

// verdictOf says whether the worker met the goal: its ratio x to nginx
// (when known) and its p99.
func verdictOf(g goal, x float64, known bool, p99 time.Duration) string {
	var s string
	if g.ratio > 0 {
		s = fmt.Sprintf("≥%.1fx: ", g.ratio)
		switch {
		case !known:
			s += "no nginx"
		case x >= g.ratio:
			s += "met"
		default:
			s += "missed"
		}
	}
	if g.p99 > 0 {
		if s != "" {
			s += "; "
		}
		s += fmt.Sprintf("p99 <%s: ", fmtDur(g.p99))
		if p99 < g.p99 {
			s += "met"
		} else {
			s += "missed"
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
