package ring_test

import (
	"fmt"

	"github.com/alluvium/alluvium/ring"
)

// Each worker's share of the ring: partitions are spread with bounded
// loads, so no worker owns more than twice the mean. The placement is a
// pure function of the member list, so these numbers are the same on every
// coordinator, worker and client.
func ExampleRing_Shares() {
	r, err := ring.New([]string{"worker-a", "worker-b", "worker-c"}, ring.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	shares := r.Shares()
	for _, m := range r.Members() {
		fmt.Printf("%s owns %d of %d partitions\n", m, shares[m], r.Config().Partitions)
	}
	// Output:
	// worker-a owns 2654 of 7919 partitions
	// worker-b owns 2930 of 7919 partitions
	// worker-c owns 2335 of 7919 partitions
}

// What a rebalance moves when a fourth worker joins: only partitions that
// the newcomer takes (about a quarter), none between the old workers.
func ExampleDiff() {
	cfg := ring.DefaultConfig()
	before, _ := ring.New([]string{"worker-a", "worker-b", "worker-c"}, cfg)
	after, _ := ring.New([]string{"worker-a", "worker-b", "worker-c", "worker-d"}, cfg)
	moves, err := ring.Diff(before, after, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	toNew := 0
	for _, m := range moves {
		if m.To[0] == "worker-d" {
			toNew++
		}
	}
	fmt.Printf("%d of %d partitions move, %d of them to worker-d\n", len(moves), cfg.Partitions, toNew)
	fmt.Printf("worker-d now owns %d\n", after.Shares()["worker-d"])
	// Output:
	// 1778 of 7919 partitions move, 1778 of them to worker-d
	// worker-d now owns 1778
}
