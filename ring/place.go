package ring

import (
	"cmp"
	"math/bits"
	"runtime"
	"slices"
	"sync"
)

// This file computes a placement: which member owns each partition, and
// each partition's two best rendezvous candidates (for replicas). It is a
// pure function of the sorted members, their integer weights and the
// config, in integer arithmetic only, so that every party on every
// architecture computes the same table.
//
// Two steps:
//
//  1. Weighted rendezvous (HRW) ranking per partition, computed sparsely.
//     Member m draws points (column, score) from its own fixed sequence:
//     point i lands in a pseudo-random column and scores about
//     (i + frac)/w_m, so a member of weight w has w points per unit of
//     score spread over all columns. A column's first two candidates are
//     the two distinct members with the lowest points in it; the first is
//     the member rendezvous hashing with weights would choose. Only points
//     under a cutoff (about `candidates` per column) are drawn, in one pass
//     that keeps the best two per column, so a build is O(P) and not
//     O(P x N). A column no point reached takes the candidates of the next
//     column that has some. A new member only adds points, so it takes
//     exactly the columns where one of its points comes first: the
//     minimal move.
//  2. A fix-up relative to that rendezvous table, so that it changes only
//     where the rendezvous table or a member's count changes. Rendezvous
//     counts spread like a binomial (sd about sqrt(fair/2) with these
//     evenly spaced scores), so a member over its cap (Load x fair share)
//     sheds its excess: the partitions where its second candidate came
//     closest (the smallest score difference), each to that candidate
//     when it has room. A member under its floor then takes the partitions
//     where it is second and came closest, from owners above their floors.
//     Members inside the band [floor, cap] keep exactly their rendezvous
//     partitions, so a join or a leave moves the newcomer's (leaver's)
//     partitions plus about one partition per member it touches that sits
//     outside the band: with 2^20 partitions, few at any size to 1,000.

// candidates is the mean number of points drawn per column.
const candidates = 4

// none marks a missing candidate.
const none = ^uint16(0)

// placement is a computed table.
type placement struct {
	owner []uint16    // partition -> member index
	hrw   [][2]uint16 // partition -> its two best rendezvous candidates (none when missing)
}

// A point is one draw of a member into a column, packed as score<<16 |
// member so that comparing the integers compares by score, then member.
// Scores stay under 2^42 (the cut, see place).
type point uint64

const noPoint = ^point(0)

func (p point) member() uint16 { return uint16(p) }
func (p point) score() uint64  { return uint64(p) >> 16 }

// mix is splitmix64's finalizer: a fast bijective scrambler.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// place computes the table for members with seeds and weights (both by
// member index; weights from 1 to 2^16) over 1<<bits partitions, keeping
// each member between floors[m] and caps[m] partitions where it can
// (sum(caps) >= partitions).
func place(seeds []uint64, weights []uint64, caps, floors []int, bits uint) placement {
	parts := 1 << bits
	best := draw(seeds, weights, bits)
	inherit(best, seeds)
	pl := placement{owner: make([]uint16, parts), hrw: make([][2]uint16, parts)}
	for c := range parts {
		b := best[c]
		pl.owner[c] = b[0].member()
		pl.hrw[c] = [2]uint16{b[0].member(), none}
		if b[1] != noPoint {
			pl.hrw[c][1] = b[1].member()
		}
	}
	margins := make([]uint64, parts) // second's score - first's: how close the second came
	for c, b := range best {
		margins[c] = ^uint64(0)
		if b[1] != noPoint {
			margins[c] = b[1].score() - b[0].score()
		}
	}
	cnt := make([]int, len(seeds))
	for _, o := range pl.owner {
		cnt[o]++
	}
	shed(&pl, margins, cnt, caps)
	lift(&pl, margins, cnt, caps, floors)
	return pl
}

// draw returns, for each column, its two best points of distinct members
// (noPoint when missing), in one pass over every member's points under the
// cut. The work is split among a few goroutines by member and then by
// column, laid out so that the result is the same whatever their number.
func draw(seeds, weights []uint64, nbits uint) [][2]point {
	return drawWith(seeds, weights, nbits, runtime.GOMAXPROCS(0))
}

// drawWith is draw split among up to workers goroutines (at most 4).
func drawWith(seeds, weights []uint64, nbits uint, workers int) [][2]point {
	parts := uint64(1) << nbits
	var total uint64
	for _, w := range weights {
		total += w
	}
	// cut is the score under which about `candidates` points fall into
	// each column (total/2^32 points per unit of score over all columns).
	// total >= 2^16 (the heaviest member has 2^16 units) and parts <=
	// 2^24, so cut < 2^42 and 2*cut*w < 2^59.
	d := drawing{seeds: seeds, weights: weights, cut: candidates * parts << 32 / total, shift: 64 - nbits,
		recips: make([]uint64, len(weights)), workers: max(1, min(workers, 4, len(seeds)))}
	for m, w := range weights {
		d.recips[m] = ^uint64(0) / w // score = num*recip >> 64, about num / w
	}
	best := make([][2]point, parts)
	d.columns(best, nbits)
	d.extend(best)
	return best
}

// drawing is the state of one draw.
type drawing struct {
	seeds, weights, recips []uint64
	cut                    uint64
	shift                  uint
	workers                int
}

// members is the share of the members worker g draws: a contiguous span,
// so that its points follow the preceding workers' in member order.
func (d *drawing) members(g int) (lo, hi int) {
	return g * len(d.seeds) / d.workers, (g + 1) * len(d.seeds) / d.workers
}

// parallel runs f(0) ... f(workers-1) at once.
func (d *drawing) parallel(f func(g int)) {
	var wg sync.WaitGroup
	for g := 1; g < d.workers; g++ {
		wg.Go(func() { f(g) })
	}
	f(0)
	wg.Wait()
}

// columns fills best from the points under the cut. Points land in random
// columns, and a table of 2^20 columns is far bigger than a CPU cache:
// rather than update each column where its point lands, the points are
// first bucketed by their column's top bits (counted, then written as
// member and index only, in member order within a bucket; few buckets, so
// that the writes stream), and each bucket's 4,096 columns are then worked
// out in a cache-sized array.
func (d *drawing) columns(best [][2]point, nbits uint) {
	low := min(nbits, 12)
	bshift := d.shift + low
	if nbits == 0 {
		bshift = 64
	}
	nb := len(best) >> low
	next := make([][]uint32, d.workers) // worker -> bucket -> where its next entry goes
	d.parallel(func(g int) {
		next[g] = make([]uint32, nb)
		d.countPoints(next[g], g, bshift)
	})
	start := make([]uint32, nb+1)
	var n uint32
	for b := range nb {
		start[b] = n
		for g := range d.workers {
			next[g][b], n = n, n+next[g][b]
		}
	}
	start[nb] = n
	entries := make([]uint64, n) // i<<16 | m, by bucket, then member
	d.parallel(func(g int) { d.bucketPoints(entries, next[g], g, bshift) })
	d.parallel(func(g int) { d.bestOfBuckets(best, entries, start, g, low) })
}

// The loops of a draw run without the race detector's instrumentation
// (//go:norace), which makes their tens of millions of memory accesses
// take seconds per build under -race and starved the clusters of the
// tests around them. Each goroutine reads shared inputs and writes only
// its own counts, its own slots of entries or its own buckets' columns,
// and TestDrawIndependentOfWorkers checks that any number of them draws
// the table one does.

// countPoints counts worker g's points per bucket.
//
//go:norace
func (d *drawing) countPoints(counts []uint32, g int, bshift uint) {
	lo, hi := d.members(g)
	for m := lo; m < hi; m++ {
		for i := range d.cut*d.weights[m]>>32 + 1 {
			counts[mix(d.seeds[m]+(i+1)*0x9e3779b97f4a7c15)>>bshift]++
		}
	}
}

// bucketPoints writes worker g's points, as i<<16 | m, where next says.
//
//go:norace
func (d *drawing) bucketPoints(entries []uint64, next []uint32, g int, bshift uint) {
	lo, hi := d.members(g)
	for m := lo; m < hi; m++ {
		for i := range d.cut*d.weights[m]>>32 + 1 {
			b := mix(d.seeds[m]+(i+1)*0x9e3779b97f4a7c15) >> bshift
			entries[next[b]] = i<<16 | uint64(m)
			next[b]++
		}
	}
}

// bestOfBuckets works out the columns of buckets g, g+workers, ...
//
//go:norace
func (d *drawing) bestOfBuckets(best [][2]point, entries []uint64, start []uint32, g int, low uint) {
	lowMask := uint64(1)<<low - 1
	for b := g; b < len(start)-1; b += d.workers {
		local := best[b<<low : (b+1)<<low]
		for c := range local {
			local[c] = [2]point{noPoint, noPoint}
		}
		for _, e := range entries[start[b]:start[b+1]] {
			m, i := e&0xffff, e>>16
			h := mix(d.seeds[m] + (i+1)*0x9e3779b97f4a7c15)
			if s, _ := bits.Mul64(i<<32|h&0xffffffff, d.recips[m]); s < d.cut {
				keep(&local[h>>d.shift&lowMask], point(s<<16|m))
			}
		}
	}
}

// keep records p in a column's best two of distinct members. A member's
// points come in increasing score, so a later point of the member already
// first or second never displaces it.
func keep(b *[2]point, p point) {
	switch m := p.member(); {
	case p < b[0]:
		if b[0].member() != m {
			b[1] = b[0]
		}
		b[0] = p
	case p < b[1] && b[0].member() != m:
		b[1] = p
	}
}

// extend draws the points scoring from cut to 2 x cut into the columns
// where points under the cut found fewer than two members (about
// (1+candidates)e^-candidates of them): a pass that only hashes and tests
// a bitmap, so that such a column's owner and second are its true
// rendezvous first and second whatever the cut (but for about
// e^-2candidates of them). The cut moves with the total weight; without
// this, a column whose only points sat just under it would change owner
// when a member joins elsewhere.
func (d *drawing) extend(best [][2]point) {
	// The short columns, as a bitmap with a rank per word, so that their
	// best two sit in a dense array (a few hundred KiB, cached) while the
	// points are drawn, instead of all over the table.
	short := make([]uint64, (len(best)+63)/64)
	rank := make([]uint32, len(short))
	var dense [][2]point
	for c := range best {
		if c%64 == 0 {
			rank[c/64] = uint32(len(dense))
		}
		if best[c][1] == noPoint {
			short[c/64] |= 1 << (c % 64)
			dense = append(dense, best[c])
		}
	}
	if len(dense) == 0 {
		return
	}
	// Each worker keeps the best two of its own members' points; the
	// members of different workers differ, so merging them gives what one
	// pass over all would.
	found := make([][][2]point, d.workers)
	d.parallel(func(g int) {
		own := dense
		if g > 0 {
			own = make([][2]point, len(dense))
			for j := range own {
				own[j] = [2]point{noPoint, noPoint}
			}
		}
		d.extendOwn(own, short, rank, g)
		found[g] = own
	})
	j := 0
	for c := range best {
		if short[c/64]&(1<<(c%64)) != 0 {
			for _, own := range found[1:] {
				dense[j] = merge(dense[j], own[j])
			}
			best[c] = dense[j]
			j++
		}
	}
}

// extendOwn keeps, in own, the best two of worker g's points from cut to
// 2 x cut in the short columns (see the //go:norace note above).
//
//go:norace
func (d *drawing) extendOwn(own [][2]point, short []uint64, rank []uint32, g int) {
	lo, hi := d.members(g)
	for m := lo; m < hi; m++ {
		w := d.weights[m]
		for i := d.cut * w >> 32; i <= 2*d.cut*w>>32; i++ {
			h := mix(d.seeds[m] + (i+1)*0x9e3779b97f4a7c15)
			c := h >> d.shift
			if word := short[c/64]; word&(1<<(c%64)) != 0 {
				num := i<<32 | h&0xffffffff
				if s, _ := bits.Mul64(num, d.recips[m]); s >= d.cut && s < 2*d.cut {
					j := rank[c/64] + uint32(bits.OnesCount64(word&(1<<(c%64)-1)))
					keep(&own[j], point(s<<16|uint64(m)))
				}
			}
		}
	}
}

// merge returns the best two points of distinct members among two
// columns' best twos: in score order, the first point and the next of
// another member (a member's best point comes before its others).
func merge(a, b [2]point) [2]point {
	all := [4]point{a[0], a[1], b[0], b[1]}
	sortPoints(all[:])
	out := [2]point{all[0], noPoint}
	for _, p := range all[1:] {
		if p != noPoint && p.member() != out[0].member() {
			out[1] = p
			break
		}
	}
	return out
}

// sortPoints sorts a few points (an insertion sort).
func sortPoints(ps []point) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j] < ps[j-1]; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// inherit gives a column that no point reached (about e^-candidates of
// them) the candidates of the next column that has some, wrapping; when
// none has any (a tiny table), every column gets the members that a
// fallback hash of it prefers.
func inherit(best [][2]point, seeds []uint64) {
	last := -1
	for c := len(best) - 1; c >= 0 && last < 0; c-- {
		if best[c][0] != noPoint {
			last = c
		}
	}
	if last < 0 {
		for c := range best {
			best[c] = fallback(seeds, uint32(c))
		}
		return
	}
	next := best[last]
	for c := len(best) - 1; c >= 0; c-- {
		if best[c][0] == noPoint {
			best[c] = next
		} else {
			next = best[c]
		}
	}
}

// fallback ranks members by a hash of them with column c: the best two
// (the second missing for one member), for columns no point reached in a
// table too small to inherit from. Scores are the top bits of the hash.
func fallback(seeds []uint64, c uint32) [2]point {
	out := [2]point{noPoint, noPoint}
	hc := mix(uint64(c) + 0x632be59bd9b4e019)
	for m, seed := range seeds {
		p := point(mix(seed^hc)>>24<<16 | uint64(m))
		if p < out[0] {
			out[1], out[0] = out[0], p
		} else if p < out[1] {
			out[1] = p
		}
	}
	return out
}

// shed brings every member down to its cap. A member over it gives up its
// excess: the partitions whose second candidate came closest and is not
// itself over its cap, each to that candidate, in order of margin over
// all members while the candidate has room; what is left goes to the
// owner of the following partitions with room (table order).
func shed(pl *placement, margins []uint64, cnt, caps []int) {
	over := make([][]uint32, len(cnt))
	any := false
	for c, o := range pl.owner {
		if cnt[o] > caps[o] {
			any = true
			if s := pl.hrw[c][1]; s != none && cnt[s] < caps[s] {
				over[o] = append(over[o], uint32(c))
			}
		}
	}
	if !any {
		return
	}
	byMargin := func(a, b uint32) int { return cmp.Or(cmp.Compare(margins[a], margins[b]), cmp.Compare(a, b)) }
	var out []uint32 // partitions to give up
	excess := make([]int, len(cnt))
	for m, cs := range over {
		excess[m] = max(0, cnt[m]-caps[m])
		slices.SortFunc(cs, byMargin)
		out = append(out, cs[:min(excess[m], len(cs))]...)
	}
	slices.SortFunc(out, byMargin)
	for _, c := range out {
		o, s := pl.owner[c], pl.hrw[c][1]
		if cnt[s] >= caps[s] {
			continue
		}
		pl.owner[c] = s
		cnt[o]--
		cnt[s]++
		excess[o]--
	}
	// A member whose excess is still positive (its seconds had no room)
	// gives partitions to the following partitions' owners with room.
	mask := len(pl.owner) - 1
	for c, o := range pl.owner {
		for step := 1; excess[o] > 0 && step < len(pl.owner); step++ {
			if to := pl.owner[(c+step)&mask]; cnt[to] < caps[to] {
				pl.owner[c] = to
				cnt[o]--
				cnt[to]++
				excess[o]--
				break
			}
		}
	}
}

// lift brings members under their floor (a light member can fall short of
// its share by the binomial spread) up to it where it can: each takes the
// partitions where it is the second candidate and came closest, from
// owners above their own floors, in order of margin over all members.
func lift(pl *placement, margins []uint64, cnt, caps, floors []int) {
	var want []uint32
	for c, o := range pl.owner {
		if s := pl.hrw[c][1]; s != none && s != o && cnt[s] < floors[s] && cnt[o] > floors[o] {
			want = append(want, uint32(c))
		}
	}
	slices.SortFunc(want, func(a, b uint32) int { return cmp.Or(cmp.Compare(margins[a], margins[b]), cmp.Compare(a, b)) })
	short := 0
	for _, c := range want {
		o, s := pl.owner[c], pl.hrw[c][1]
		if cnt[s] < floors[s] && cnt[s] < caps[s] && cnt[o] > floors[o] {
			pl.owner[c] = s
			cnt[o]--
			cnt[s]++
		}
	}
	for m := range cnt {
		if cnt[m] < floors[m] {
			short++
		}
	}
	// A member still short (it is second in too few partitions) takes the
	// partition after one of its own, in table order, from an owner above
	// its floor; a few passes, as each step takes one.
	mask := len(pl.owner) - 1
	for pass := 0; short > 0 && pass < 16; pass++ {
		for c := range pl.owner {
			m, n := pl.owner[c], (c+1)&mask
			if o := pl.owner[n]; o != m && cnt[m] < floors[m] && cnt[o] > floors[o] {
				pl.owner[n] = m
				cnt[o]--
				if cnt[m]++; cnt[m] == floors[m] {
					short--
				}
			}
		}
	}
}
