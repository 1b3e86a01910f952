package ring

import (
	"cmp"
	"slices"
)

// This file computes a placement: which member owns each partition, and
// each partition's candidates in preference order (for replicas). It is a
// pure function of the sorted members, their integer weights and the
// config, in integer arithmetic only, so that every party on every
// architecture computes the same table.
//
// Two steps:
//
//  1. Weighted rendezvous (HRW) ranking per partition, computed sparsely.
//     Member m draws points (column, score) from its own fixed sequence:
//     point i lands in a pseudo-random column and scores (i + frac)/w_m, so
//     a member of weight w has w points per unit of score spread over all
//     columns. A column's candidates are the points that fell into it,
//     lowest score first; the first is the member rendezvous hashing with
//     weights would choose. Only points under a cutoff (about `candidates`
//     per column on average) are drawn, so a build costs O(P) and not
//     O(P x N). A new member only adds points, so it takes exactly the
//     columns where one of its points comes first: the minimal move.
//  2. A load cap. Rendezvous shares are binomial (a member of mean share f
//     partitions varies by sqrt(f)), so members over their cap
//     (Load x fair share) shed the partitions they rank worst to the
//     next candidate, in rounds, until none is over: the stable matching
//     of partitions to capped members under the common scores. Only
//     members at their cap take part, so a join or leave moves little
//     more than the newcomer's or leaver's share.

// candidates is the mean number of points drawn per column.
const candidates = 4

// placement is a computed table.
type placement struct {
	owner   []uint16 // partition -> member index
	candOff []uint32 // partition p's candidates are cand[candOff[p]:candOff[p+1]]
	cand    []uint16 // distinct members, best first
}

// A point is one draw of a member into a column, packed as score<<16 |
// member so that sorting the integers sorts by score, then member. Scores
// stay under 2^47 (the cut is at most 2^36, see place), and fallback
// scores sit above every drawn one.
type point uint64

func (p point) member() uint16 { return uint16(p) }
func (p point) score() uint64  { return uint64(p) >> 16 }

// fallbackBase bounds drawn scores (fillEmpty stops doubling under it);
// a partition given by fallback scores as if drawn there.
const fallbackBase = 1 << 47

// mix is splitmix64's finalizer: a fast bijective scrambler.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// draw returns member seed's i-th point: its column and score numerator
// (the score is num / weight).
func draw(seed uint64, i uint64, shift uint) (col uint32, num uint64) {
	h := mix(seed + (i+1)*0x9e3779b97f4a7c15)
	return uint32(h >> shift), i<<32 | h&0xffffffff
}

// place computes the table for members with seeds and weights (both by
// member index; weights >= 1) over 1<<bits partitions, capping each
// member at caps[m] partitions (sum(caps) >= partitions).
func place(seeds []uint64, weights []uint64, caps, floors []int, bits uint) placement {
	parts := 1 << bits
	shift := 64 - bits
	var total uint64
	for _, w := range weights {
		total += w
	}
	// cut is the score under which about `candidates` points fall into
	// each column: points i with i/w < candidates*P/total.
	cut := uint64(candidates*parts) << 32 / total
	count := make([]uint32, parts+1)
	limit := func(m int, cut uint64) uint64 { // points of m with score < cut
		n, _ := mulDiv(cut, weights[m])
		return n>>32 + 1
	}
	for m, seed := range seeds {
		for i := range limit(m, cut) {
			c, num := draw(seed, i, shift)
			if num/weights[m] < cut {
				count[c+1]++
			}
		}
	}
	for c := range parts {
		count[c+1] += count[c]
	}
	pts := make([]point, count[parts], count[parts]+1)
	next := slices.Clone(count[:parts])
	for m, seed := range seeds {
		for i := range limit(m, cut) {
			c, num := draw(seed, i, shift)
			if s := num / weights[m]; s < cut {
				pts[next[c]] = point(s<<16 | uint64(m))
				next[c]++
			}
		}
	}
	cols := make([][]point, parts)
	var empty []uint32
	for c := range parts {
		cols[c] = pts[count[c]:count[c+1]:count[c+1]]
		if len(cols[c]) == 0 {
			empty = append(empty, uint32(c))
		}
	}
	fillEmpty(cols, empty, seeds, weights, cut, shift)
	for _, c := range empty {
		if len(cols[c]) == 0 { // beyond fillEmpty's bound: never seen, but never a panic
			cols[c] = []point{point(fallbackBase<<16 | uint64(fallbackMember(seeds, c)))}
		}
	}
	pl := placement{owner: make([]uint16, parts), candOff: make([]uint32, parts+1)}
	best := make([]uint64, parts) // the owner's score, for shedding
	for c, col := range cols {
		sortPoints(col)
		pl.candOff[c] = uint32(len(pl.cand))
		for _, p := range col {
			if !slices.Contains(pl.cand[pl.candOff[c]:], p.member()) {
				pl.cand = append(pl.cand, p.member())
			}
		}
		pl.owner[c], best[c] = col[0].member(), col[0].score()
	}
	pl.candOff[parts] = uint32(len(pl.cand))
	balance(&pl, cols, best, seeds, caps)
	fill(&pl, cols, caps, floors)
	return pl
}

// sortPoints sorts a column's few points by score, then member: an
// insertion sort, as columns hold a handful.
func sortPoints(col []point) {
	for i := 1; i < len(col); i++ {
		for j := i; j > 0 && col[j] < col[j-1]; j-- {
			col[j], col[j-1] = col[j-1], col[j]
		}
	}
}

// mulDiv returns a*b as a 128-bit product's high and low words' use: it
// saturates instead of overflowing (a point limit that large is never
// reached: the loop stops at the cut).
func mulDiv(a, b uint64) (uint64, bool) {
	if b != 0 && a > ^uint64(0)/b {
		return ^uint64(0) >> 1, true
	}
	return a * b, false
}

// fillEmpty draws further points, doubling the cut, into the columns no
// point reached (about e^-candidates of them), until every column has a
// candidate. It continues each member's own sequence, so the result is
// what a higher cut would give, and stays consistent across memberships.
func fillEmpty(cols [][]point, empty []uint32, seeds, weights []uint64, cut uint64, shift uint) {
	want := make([]bool, len(cols))
	for _, c := range empty {
		want[c] = true
	}
	for lo, left := cut, len(empty); left > 0 && lo < fallbackBase/2; lo *= 2 {
		hi := lo * 2
		for m, seed := range seeds {
			start, _ := mulDiv(lo, weights[m])
			end, _ := mulDiv(hi, weights[m])
			for i := start >> 32; i <= end>>32; i++ {
				c, num := draw(seed, i, shift)
				if s := num / weights[m]; want[c] && s >= lo && s < hi {
					cols[c] = append(cols[c], point(s<<16|uint64(m)))
				}
			}
		}
		for _, c := range empty {
			if want[c] && len(cols[c]) > 0 {
				want[c] = false
				left--
			}
		}
	}
}

// balance makes every member hold at most caps[m] partitions. Each round,
// every member over its cap sheds the partitions it scores worst to each
// one's next candidate; a partition with no candidate left goes to the
// member with room that a fallback hash prefers.
func balance(pl *placement, cols [][]point, best []uint64, seeds []uint64, caps []int) {
	n := len(caps)
	cnt := make([]int, n)
	for _, o := range pl.owner {
		cnt[o]++
	}
	rank := make([]uint16, len(pl.owner)) // index of the owner's point in cols[c]
	held := make([][]uint32, n)
	for {
		over := false
		for m := range n {
			held[m] = held[m][:0]
			over = over || cnt[m] > caps[m]
		}
		if !over {
			return
		}
		for c, o := range pl.owner {
			if cnt[o] > caps[o] {
				held[o] = append(held[o], uint32(c))
			}
		}
		for m := range n {
			excess := cnt[m] - caps[m]
			if excess <= 0 {
				continue
			}
			hs := held[m]
			slices.SortFunc(hs, func(a, b uint32) int { return cmp.Or(cmp.Compare(best[b], best[a]), cmp.Compare(a, b)) })
			for _, c := range hs[:min(excess, len(hs))] {
				cnt[m]--
				to, s, r := nextCandidate(cols[c], int(rank[c]), uint16(m))
				if r < 0 {
					to, s = fallback(seeds, cnt, caps, c), fallbackBase
					r = len(cols[c])
				}
				pl.owner[c], best[c], rank[c] = to, s, uint16(min(r, 1<<16-1))
				cnt[to]++
			}
		}
	}
}

// fallbackMember is the member that hashes best with column c.
func fallbackMember(seeds []uint64, c uint32) uint16 { return fallback(seeds, nil, nil, c) }

// fill lifts members under their floor (a light member can fall short of
// its share by the binomial spread): each takes the partitions where it
// scores best among those whose owner stays at or above its own floor.
// One pass, after balance, so it touches only the members short of it.
func fill(pl *placement, cols [][]point, caps, floors []int) {
	cnt := make([]int, len(caps))
	for _, o := range pl.owner {
		cnt[o]++
	}
	var want []point // (score, column) of short members' draws, packed
	var wantM []uint16
	for c, col := range cols {
		for _, p := range col {
			if m := p.member(); cnt[m] < floors[m] && pl.owner[c] != m {
				want = append(want, point(p.score()<<24|uint64(c)))
				wantM = append(wantM, m)
			}
		}
	}
	if len(want) == 0 {
		return
	}
	order := make([]int, len(want))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Or(cmp.Compare(want[a], want[b]), cmp.Compare(wantM[a], wantM[b])) })
	for _, i := range order {
		m, c := wantM[i], int(want[i]&(1<<24-1))
		if o := pl.owner[c]; cnt[m] < floors[m] && cnt[o] > floors[o] && cnt[m] < caps[m] {
			pl.owner[c] = m
			cnt[m]++
			cnt[o]--
		}
	}
}

// nextCandidate returns the first point after rank in col whose member is
// not from (a member can draw twice into a column), or r = -1.
func nextCandidate(col []point, rank int, from uint16) (m uint16, s uint64, r int) {
	for r = rank + 1; r < len(col); r++ {
		if col[r].member() != from {
			return col[r].member(), col[r].score(), r
		}
	}
	return 0, 0, -1
}

// fallback picks, for a partition whose candidates are all spent, the
// member with room that hashes best with it. It is rare (caps leave room
// and columns hold several candidates), so it may scan all members.
func fallback(seeds []uint64, cnt, caps []int, c uint32) uint16 {
	bestM, bestH := -1, uint64(0)
	hc := mix(uint64(c) + 0x632be59bd9b4e019)
	for m, seed := range seeds {
		if cnt != nil && cnt[m] >= caps[m] {
			continue
		}
		if h := mix(seed ^ hc); bestM < 0 || h < bestH {
			bestM, bestH = m, h
		}
	}
	return uint16(bestM)
}
