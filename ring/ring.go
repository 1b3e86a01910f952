package ring

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// Config shapes a ring. Every party must use the same Config for the same
// owners; DefaultConfig is what Alluvium uses everywhere.
type Config struct {
	// Partitions is the number of slots keys hash into: a power of two, so
	// that every partition is exactly the same fraction of the key space.
	// It must not be below the number of members and should stay fixed for
	// a cluster's life: changing it moves almost every key.
	Partitions int
	// Load caps a member's partitions at Load times its fair share (its
	// weight's fraction of the partitions), rounded down but never below
	// the fair share rounded up, and lifts a member short of (2 - Load)
	// times it, rounded up, to that floor where it can.
	Load float64
}

// DefaultConfig was measured (docs/performance.md, "Ring"): 2^20
// partitions give 1,048 per member at 1,000 members, whose rendezvous
// counts spread by about 2.2% (sd), so the band of 0.955 to 1.045 x the
// fair share binds on few members and a join or leave moves at most about
// 1.08x the minimum at any size to 1,000, while the largest share stays
// under 1.045x the mean (usable capacity >= 0.957). The table takes 6 MiB
// (owner and two rendezvous candidates per partition).
func DefaultConfig() Config {
	return Config{Partitions: 1 << 20, Load: 1.045}
}

// Validate reports whether the config can build rings.
func (c Config) Validate() error {
	switch {
	case c.Partitions < 1 || c.Partitions > 1<<24 || c.Partitions&(c.Partitions-1) != 0:
		return fmt.Errorf("%w: partitions must be a power of two from 1 to 2^24", ErrInvalid)
	case !(c.Load >= 1) || math.IsInf(c.Load, 0):
		return fmt.Errorf("%w: load must be at least 1", ErrInvalid)
	}
	return nil
}

// Ring is an immutable, capacity-weighted placement of partitions on
// members.
type Ring struct {
	cfg     Config
	shift   uint     // 64 - log2(partitions): a key's partition is its hash >> shift
	members []string // sorted
	weights []float64
	seeds   []uint64 // xxhash of each member's id
	pl      placement
}

// ErrTooManyMembers is returned when members outnumber partitions (or the
// 65,535 a table of 16-bit member indexes holds).
var ErrTooManyMembers = errors.New("ring: too many members")

// ErrInvalid is returned for a weight that is not a positive finite number
// or a config that Validate refuses.
var ErrInvalid = errors.New("ring: invalid")

// New builds a ring of members of equal weight (duplicates are ignored).
// An empty list gives an empty ring, whose lookups find no owner.
func New(members []string, cfg Config) (*Ring, error) {
	w := make(map[string]float64, len(members))
	for _, m := range members {
		w[m] = 1
	}
	return NewWeighted(w, cfg)
}

// NewWeighted builds a ring where each member owns a share of the keys in
// proportion to its weight (e.g. its cache capacity), within the config's
// Load. Weights must be positive and finite.
func NewWeighted(weights map[string]float64, cfg Config) (*Ring, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ms := make([]string, 0, len(weights))
	var most float64
	for m, w := range weights {
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("%w: weight %v of member %q", ErrInvalid, w, m)
		}
		ms = append(ms, m)
		most = max(most, w)
	}
	slices.Sort(ms)
	if len(ms) > cfg.Partitions || len(ms) >= math.MaxUint16 {
		return nil, fmt.Errorf("%w: %d members, %d partitions", ErrTooManyMembers, len(ms), cfg.Partitions)
	}
	r := &Ring{cfg: cfg, shift: uint(64 - bits.TrailingZeros(uint(cfg.Partitions))), members: ms}
	if len(ms) == 0 {
		return r, nil
	}
	r.weights = make([]float64, len(ms))
	r.seeds = make([]uint64, len(ms))
	units := make([]uint64, len(ms))
	for i, m := range ms {
		r.weights[i] = weights[m]
		r.seeds[i] = xxhash.Sum64String(m)
		units[i] = weightUnits(weights[m], most)
	}
	hi, lo := bounds(units, cfg)
	r.pl = place(r.seeds, units, hi, lo, uint(bits.TrailingZeros(uint(cfg.Partitions))))
	return r, nil
}

// Next returns the ring of a new membership. The placement is a pure
// function of the membership, so Next is NewWeighted with the receiver's
// config: it moves the fewest keys the placement allows because the
// placement itself is built to (see place.go), and every party computes
// the same ring whatever rings it saw before.
func (r *Ring) Next(weights map[string]float64) (*Ring, error) {
	return NewWeighted(weights, r.cfg)
}

// weightUnits turns a weight into an integer from 1 to 65,536 relative to
// the largest, so that placement is integer arithmetic (the same on every
// architecture). One float division and multiplication, correctly rounded
// by IEEE 754, give the same integer everywhere.
func weightUnits(w, most float64) uint64 {
	return uint64(max(1, math.Round(w/most*(1<<16))))
}

// bounds is each member's partition cap, floor(Load x fair share) but at
// least ceil(fair share) so that the caps hold every partition, and floor,
// ceil((2 - Load) x fair share) but at most floor(fair share), under which
// lift lifts it.
func bounds(units []uint64, cfg Config) (caps, floors []int) {
	var total uint64
	for _, u := range units {
		total += u
	}
	caps, floors = make([]int, len(units)), make([]int, len(units))
	for i, u := range units {
		hi, lo := bits.Mul64(u, uint64(cfg.Partitions))
		q, rem := bits.Div64(hi, lo, total)
		fair := float64(q) + float64(rem)/float64(total)
		caps[i] = max(int(q)+min(1, int(rem)), int(math.Floor(fair*cfg.Load)))
		floors[i] = min(int(q), int(math.Ceil(fair*max(0, 2-cfg.Load))))
	}
	return caps, floors
}

// Partition returns the partition a key hashes into.
func (r *Ring) Partition(key string) int {
	return int(xxhash.Sum64String(key) >> r.shift)
}

// Owner returns the member that owns key; false on an empty ring.
func (r *Ring) Owner(key string) (string, bool) {
	if len(r.members) == 0 {
		return "", false
	}
	return r.members[r.pl.owner[xxhash.Sum64String(key)>>r.shift]], true
}

// Owners returns up to n distinct members for key: its owner first, then
// its partition's rendezvous first and second (the owner is usually the
// first; it differs where the load band moved the partition), then the
// owners of the following partitions in table order; fewer when the ring
// has fewer members. Only the result is allocated.
func (r *Ring) Owners(key string, n int) []string {
	return r.AppendOwners(nil, key, n)
}

// AppendOwners appends key's Owners to dst and returns it: with a dst of
// enough capacity (e.g. a stack array's slice) it does not allocate, for
// callers that look owners up on every read.
func (r *Ring) AppendOwners(dst []string, key string, n int) []string {
	if len(r.members) == 0 {
		return dst
	}
	return r.appendPartitionOwners(dst, int(xxhash.Sum64String(key)>>r.shift), n)
}

// PartitionOwners is Owners for a partition.
func (r *Ring) PartitionOwners(p, n int) []string {
	return r.appendPartitionOwners(nil, p, n)
}

func (r *Ring) appendPartitionOwners(dst []string, p, n int) []string {
	n = min(n, len(r.members))
	if n <= 0 || p < 0 || p >= r.cfg.Partitions {
		return dst
	}
	base := len(dst)
	dst = slices.Grow(dst, n)
	owner := r.pl.owner[p]
	dst = append(dst, r.members[owner])
	for _, m := range r.pl.hrw[p] {
		if len(dst)-base == n {
			return dst
		}
		if m != owner && m != none && (len(dst)-base < 2 || dst[base+1] != r.members[m]) {
			dst = append(dst, r.members[m])
		}
	}
	if len(dst)-base < n {
		dst = r.moreOwners(dst, base, p, n)
	}
	return dst
}

// moreOwners completes dst[base:] to n distinct members when a partition's
// candidates run out: the owners of partitions p+1, p+2, ... (wrapping) not
// yet chosen, then, should a member own no partition at all, the remaining
// members in sorted order. The walk is deterministic, typically a few
// steps for a few replicas, and spreads replicas as the table spreads
// owners; a member's duplicate is found by a scan of the few chosen so far
// (a bitmap for many).
func (r *Ring) moreOwners(dst []string, base, p, n int) []string {
	var chosen []bool
	if n > 8 {
		chosen = make([]bool, len(r.members))
		for _, m := range dst[base:] {
			i, _ := slices.BinarySearch(r.members, m)
			chosen[i] = true
		}
	}
	has := func(m uint16) bool {
		if chosen != nil {
			return chosen[m]
		}
		return slices.Contains(dst[base:], r.members[m])
	}
	add := func(m uint16) {
		if chosen != nil {
			chosen[m] = true
		}
		dst = append(dst, r.members[m])
	}
	mask := r.cfg.Partitions - 1
	for step := 1; step < r.cfg.Partitions && len(dst)-base < n; step++ {
		if m := r.pl.owner[(p+step)&mask]; !has(m) {
			add(m)
		}
	}
	for m := 0; m < len(r.members) && len(dst)-base < n; m++ {
		if !has(uint16(m)) {
			add(uint16(m))
		}
	}
	return dst
}

// Members returns the members, sorted.
func (r *Ring) Members() []string { return slices.Clone(r.members) }

// Len is the number of members.
func (r *Ring) Len() int { return len(r.members) }

// Config returns the ring's configuration.
func (r *Ring) Config() Config { return r.cfg }

// Has reports whether id is a member.
func (r *Ring) Has(id string) bool {
	_, found := slices.BinarySearch(r.members, id)
	return found
}

// Weight returns a member's weight (0 for a non-member).
func (r *Ring) Weight(id string) float64 {
	i, found := slices.BinarySearch(r.members, id)
	if !found {
		return 0
	}
	return r.weights[i]
}

// Counts returns how many partitions each member owns.
func (r *Ring) Counts() map[string]int {
	out := make(map[string]int, len(r.members))
	for _, m := range r.members {
		out[m] = 0
	}
	for _, o := range r.pl.owner {
		out[r.members[o]]++
	}
	return out
}

// Shares returns each member's exact fraction of the key space: its
// partitions over all (every partition is the same 1/Partitions of the
// 64-bit hash space).
func (r *Ring) Shares() map[string]float64 {
	out := make(map[string]float64, len(r.members))
	for m, c := range r.Counts() {
		out[m] = float64(c) / float64(r.cfg.Partitions)
	}
	return out
}

// Move is a partition whose owners differ between two rings.
type Move struct {
	Partition int
	From, To  []string // owners in the old and the new ring
}

// Diff lists the partitions whose first n owners differ between old and
// new, in partition order: what a rebalance must move. Both rings must share
// a partition count.
func Diff(old, new *Ring, n int) ([]Move, error) {
	if old.cfg.Partitions != new.cfg.Partitions {
		return nil, errors.New("ring: cannot diff rings of different partition counts")
	}
	var moves []Move
	var from, to []string // reused: most partitions do not move
	for p := range old.cfg.Partitions {
		from, to = old.appendPartitionOwners(from[:0], p, n), new.appendPartitionOwners(to[:0], p, n)
		if !slices.Equal(from, to) {
			moves = append(moves, Move{Partition: p, From: slices.Clone(from), To: slices.Clone(to)})
		}
	}
	return moves, nil
}
