package ring

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/buraksezer/consistent"
	"github.com/cespare/xxhash/v2"
)

// Config shapes a ring. Every party must use the same Config for the same
// owners; DefaultConfig is what Alluvium uses everywhere.
type Config struct {
	// Partitions is the number of slots keys hash into. It must exceed the
	// number of members and should stay fixed for a cluster's life: changing
	// it moves almost every key. A prime spreads keys best.
	Partitions int
	// ReplicationFactor is the number of points per member on the circle
	// partitions are assigned from (at least 2).
	ReplicationFactor int
	// Load bounds a member's share of partitions to Load times the mean.
	Load float64
}

// DefaultConfig suits 1 to a few thousand workers: 7919 partitions keep the
// spread even at 1,000 workers (about 8 partitions each). The load bound of
// 2 was measured: with the library's usual 1.25, a joining worker pushes
// partitions of full members along (up to 1.56/(N+1) of the keys moved for
// N up to 100); at 2 the bound rarely binds and at most 1.05/(N+1) move,
// while no worker ever holds more than twice the mean. 20 points per member
// keep a ring of 1,000 members under a second to build.
func DefaultConfig() Config {
	return Config{Partitions: 7919, ReplicationFactor: 20, Load: 2}
}

// Validate reports whether the config can build rings.
func (c Config) Validate() error {
	switch {
	case c.Partitions < 1:
		return errors.New("ring: partitions must be positive")
	case c.ReplicationFactor < 2:
		return errors.New("ring: replication factor must be at least 2")
	case c.Load < 1 || math.IsNaN(c.Load) || math.IsInf(c.Load, 0):
		return errors.New("ring: load must be at least 1")
	}
	return nil
}

// Ring is an immutable consistent-hash ring of members.
type Ring struct {
	cfg     Config
	members []string // sorted
	owner   []int32  // partition -> index into members
	// circle is the members ordered by the hash of their name: replicas of
	// a partition are its owner's successors on it.
	circle    []int32 // member indexes in circle order
	circlePos []int32 // member index -> its position in circle
}

type member string

func (m member) String() string { return string(m) }

type hasher struct{}

func (hasher) Sum64(b []byte) uint64 { return xxhash.Sum64(b) }

// ErrTooManyMembers is returned when members outnumber partitions.
var ErrTooManyMembers = errors.New("ring: more members than partitions")

// New builds a ring of the given members (duplicates are ignored). An empty
// list gives an empty ring, whose lookups find no owner.
func New(members []string, cfg Config) (*Ring, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ms := slices.Clone(members)
	slices.Sort(ms)
	ms = slices.Compact(ms)
	if len(ms) > cfg.Partitions {
		return nil, fmt.Errorf("%w: %d members, %d partitions", ErrTooManyMembers, len(ms), cfg.Partitions)
	}
	r := &Ring{cfg: cfg, members: ms}
	if len(ms) == 0 {
		return r, nil
	}
	cm := make([]consistent.Member, len(ms))
	index := make(map[string]int32, len(ms))
	for i, m := range ms {
		cm[i] = member(m)
		index[m] = int32(i)
	}
	c := consistent.New(cm, consistent.Config{
		Hasher:            hasher{},
		PartitionCount:    cfg.Partitions,
		ReplicationFactor: cfg.ReplicationFactor,
		Load:              fittingLoad(cfg.Partitions, len(ms), cfg.Load),
	})
	r.owner = make([]int32, cfg.Partitions)
	for p := range cfg.Partitions {
		r.owner[p] = index[c.GetPartitionOwner(p).String()]
	}
	r.circle = make([]int32, len(ms))
	for i := range ms {
		r.circle[i] = int32(i)
	}
	hashes := make([]uint64, len(ms))
	for i, m := range ms {
		hashes[i] = xxhash.Sum64String(m)
	}
	sort.Slice(r.circle, func(a, b int) bool {
		ha, hb := hashes[r.circle[a]], hashes[r.circle[b]]
		if ha != hb {
			return ha < hb
		}
		return r.circle[a] < r.circle[b]
	})
	r.circlePos = make([]int32, len(ms))
	for pos, m := range r.circle {
		r.circlePos[m] = int32(pos)
	}
	return r, nil
}

// fittingLoad returns the smallest load factor at least want under which
// buraksezer/consistent can place every partition. It computes the bound
// per member as ceil(floor(partitions/members) * load); when that times the
// member count is below the partition count, the library panics.
func fittingLoad(partitions, members int, want float64) float64 {
	base := float64(partitions / members) // integer division, as the library does
	load := want
	for math.Ceil(base*load)*float64(members) < float64(partitions) {
		need := math.Ceil(float64(partitions)/float64(members)) / base
		load = math.Max(need, load+0.01)
	}
	return load
}

// Partition returns the partition a key hashes into.
func (r *Ring) Partition(key string) int {
	return int(xxhash.Sum64String(key) % uint64(r.cfg.Partitions))
}

// Owner returns the member that owns key; false on an empty ring.
func (r *Ring) Owner(key string) (string, bool) {
	if len(r.members) == 0 {
		return "", false
	}
	return r.members[r.owner[r.Partition(key)]], true
}

// Owners returns up to n distinct members for key: its owner first, then
// the owner's successors on the member circle. Fewer are returned when the
// ring has fewer members.
func (r *Ring) Owners(key string, n int) []string {
	return r.PartitionOwners(r.Partition(key), n)
}

// PartitionOwners is Owners for a partition.
func (r *Ring) PartitionOwners(p, n int) []string {
	n = min(n, len(r.members))
	if n <= 0 || p < 0 || p >= r.cfg.Partitions {
		return nil
	}
	out := make([]string, 0, n)
	pos := int(r.circlePos[r.owner[p]])
	for i := range n {
		out = append(out, r.members[r.circle[(pos+i)%len(r.circle)]])
	}
	return out
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

// Shares returns each member's count of owned partitions.
func (r *Ring) Shares() map[string]int {
	out := make(map[string]int, len(r.members))
	for _, m := range r.members {
		out[m] = 0
	}
	for _, o := range r.owner {
		out[r.members[o]]++
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
	for p := range old.cfg.Partitions {
		from, to := old.PartitionOwners(p, n), new.PartitionOwners(p, n)
		if !slices.Equal(from, to) {
			moves = append(moves, Move{Partition: p, From: from, To: to})
		}
	}
	return moves, nil
}
