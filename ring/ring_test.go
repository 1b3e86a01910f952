package ring_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/alluvium/alluvium/ring"
	"pgregory.net/rapid"
)

func workers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("worker-%04d", i)
	}
	return out
}

func mustNew(t testing.TB, members []string, cfg ring.Config) *ring.Ring {
	t.Helper()
	r, err := ring.New(members, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEmptyAndSingle(t *testing.T) {
	t.Parallel()
	empty := mustNew(t, nil, ring.DefaultConfig())
	if _, ok := empty.Owner("/a"); ok || len(empty.Owners("/a", 3)) != 0 {
		t.Fatal("an empty ring found an owner")
	}
	one := mustNew(t, []string{"w1", "w1"}, ring.DefaultConfig())
	if o, ok := one.Owner("/a"); !ok || o != "w1" || one.Len() != 1 {
		t.Fatalf("Owner on a one-member ring = %q, %v (len %d)", o, ok, one.Len())
	}
	if got := one.Owners("/a", 3); !slices.Equal(got, []string{"w1"}) {
		t.Fatalf("Owners(3) on one member = %v", got)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  ring.Config
		n    int
		ok   bool
	}{
		{"default", ring.DefaultConfig(), 10, true},
		{"no partitions", ring.Config{Partitions: 0, ReplicationFactor: 20, Load: 1.25}, 1, false},
		{"one point per member", ring.Config{Partitions: 7, ReplicationFactor: 1, Load: 1.25}, 1, false},
		{"load below one", ring.Config{Partitions: 7, ReplicationFactor: 20, Load: 0.5}, 1, false},
		{"more members than partitions", ring.Config{Partitions: 7, ReplicationFactor: 20, Load: 1.25}, 8, false},
		{"load 1 would panic upstream", ring.Config{Partitions: 271, ReplicationFactor: 20, Load: 1}, 7, true},
		{"members equal partitions", ring.Config{Partitions: 31, ReplicationFactor: 2, Load: 1}, 31, true},
	}
	for _, tt := range tests {
		r, err := ring.New(workers(tt.n), tt.cfg)
		if (err == nil) != tt.ok {
			t.Errorf("%s: New = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err == nil && r.Len() != tt.n {
			t.Errorf("%s: %d members, want %d", tt.name, r.Len(), tt.n)
		}
	}
}

// The same members give the same owners, whatever the order of insertion.
func TestOrderIndependence(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 60).Draw(t, "n")
		ms := workers(n)
		perm := rapid.Permutation(ms).Draw(t, "perm")
		a, _ := ring.New(ms, ring.DefaultConfig())
		b, _ := ring.New(perm, ring.DefaultConfig())
		for i := range 200 {
			key := "/data/file-" + strconv.Itoa(i)
			if !slices.Equal(a.Owners(key, 3), b.Owners(key, 3)) {
				t.Fatalf("owners of %s differ: %v vs %v", key, a.Owners(key, 3), b.Owners(key, 3))
			}
		}
	})
}

// Owners are distinct, start with the owner, and number min(n, members).
func TestOwnersDistinct(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(t, "members")
		k := rapid.IntRange(0, 45).Draw(t, "replicas")
		r, _ := ring.New(workers(n), ring.DefaultConfig())
		key := rapid.String().Draw(t, "key")
		got := r.Owners(key, k)
		if len(got) != min(n, k) {
			t.Fatalf("Owners(%d) on %d members returned %d", k, n, len(got))
		}
		seen := map[string]bool{}
		for _, o := range got {
			if seen[o] || !r.Has(o) {
				t.Fatalf("owners %v repeat or invent a member", got)
			}
			seen[o] = true
		}
		if owner, _ := r.Owner(key); k > 0 && got[0] != owner {
			t.Fatalf("Owners starts with %s, Owner is %s", got[0], owner)
		}
	})
}

// Adding one worker to N moves at most 1.2/(N+1) of the keys.
func TestJoinMovesFewKeys(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 100).Draw(t, "n")
		before, _ := ring.New(workers(n), ring.DefaultConfig())
		after, _ := ring.New(append(workers(n), "worker-new"), ring.DefaultConfig())
		const keys = 20000
		moved := 0
		for i := range keys {
			key := "/data/part-" + strconv.Itoa(i) + ".parquet"
			a, _ := before.Owner(key)
			b, _ := after.Owner(key)
			if a != b {
				moved++
			}
		}
		if limit := 1.2 / float64(n+1); float64(moved)/keys > limit {
			t.Fatalf("joining %d workers moved %.3f of the keys, limit %.3f", n, float64(moved)/keys, limit)
		}
	})
}

// No member count from 1 to 200 makes the ring panic. Small partition
// counts, where the upstream bound binds hardest, are swept in full; the
// default config (slow to build under the race detector) at the edges and
// a spread, its capacity for every count being checked in
// TestFittingLoadAlwaysFits.
func TestNeverPanics(t *testing.T) {
	t.Parallel()
	small := []ring.Config{
		{Partitions: 271, ReplicationFactor: 20, Load: 1.25},
		{Partitions: 271, ReplicationFactor: 2, Load: 1},
		{Partitions: 211, ReplicationFactor: 3, Load: 1.01},
	}
	for from := 1; from <= 200; from += 25 { // in parallel runs of member counts
		t.Run(fmt.Sprintf("members=%d-%d", from, from+24), func(t *testing.T) {
			t.Parallel()
			for n := from; n < from+25; n++ {
				cfgs := small
				if n <= 12 || n%25 == 0 || n >= 198 {
					cfgs = append(cfgs[:len(small):len(small)], ring.DefaultConfig())
				}
				for _, cfg := range cfgs {
					if n > cfg.Partitions {
						continue
					}
					r, err := ring.New(workers(n), cfg)
					if err != nil {
						t.Fatalf("%d members, %+v: %v", n, cfg, err)
					}
					if _, ok := r.Owner("/x"); !ok {
						t.Fatalf("%d members: no owner", n)
					}
				}
			}
		})
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	a := mustNew(t, workers(3), ring.DefaultConfig())
	b := mustNew(t, workers(4), ring.DefaultConfig())
	moves, err := ring.Diff(a, b, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(moves) == 0 || len(moves) > ring.DefaultConfig().Partitions/2 {
		t.Fatalf("3 -> 4 workers moved %d partitions", len(moves))
	}
	for _, m := range moves {
		if a.PartitionOwners(m.Partition, 1)[0] != m.From[0] || b.PartitionOwners(m.Partition, 1)[0] != m.To[0] || m.From[0] == m.To[0] {
			t.Fatalf("move %+v does not match the rings", m)
		}
	}
	same, _ := ring.Diff(a, a, 2)
	if len(same) != 0 {
		t.Fatalf("a ring differs from itself: %d moves", len(same))
	}
	other := mustNew(t, workers(3), ring.Config{Partitions: 11, ReplicationFactor: 4, Load: 1.25})
	if _, err := ring.Diff(a, other, 1); err == nil {
		t.Fatal("Diff of rings with different partition counts succeeded")
	}
}

func TestSharesAreBounded(t *testing.T) {
	t.Parallel()
	for _, n := range []int{3, 10, 100, 1000} {
		r := mustNew(t, workers(n), ring.DefaultConfig())
		shares := r.Shares()
		total, most := 0, 0
		for _, s := range shares {
			total += s
			most = max(most, s)
		}
		mean := float64(total) / float64(n)
		if total != ring.DefaultConfig().Partitions || float64(most) > ring.DefaultConfig().Load*mean+1 {
			t.Errorf("%d workers: total %d, max share %d over mean %.1f", n, total, most, mean)
		}
		t.Logf("%d workers: max share %.2f x mean", n, float64(most)/mean)
		if false {
		}
	}
}

func ExampleRing_Owners() {
	r, _ := ring.New([]string{"worker-a", "worker-b", "worker-c"}, ring.DefaultConfig())
	owners := r.Owners("/data/train/part-0001.parquet", 2)
	fmt.Println(len(owners), owners[0] != owners[1])
	// Output: 2 true
}
