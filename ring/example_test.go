package ring_test

import (
	"fmt"

	"github.com/alluvium/alluvium/ring"
)

// Workers of 1, 2 and 4 TiB own a seventh, two sevenths and four sevenths
// of the keys. The placement is a pure function of the members and their
// weights, so these numbers are the same on every coordinator, worker and
// client.
func ExampleNewWeighted() {
	r, err := ring.NewWeighted(map[string]float64{"worker-a": 1, "worker-b": 2, "worker-c": 4}, ring.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	shares := r.Shares()
	for _, m := range r.Members() {
		fmt.Printf("%s owns %.3f (weight share %.3f)\n", m, shares[m], r.Weight(m)/7)
	}
	// Output:
	// worker-a owns 0.143 (weight share 0.143)
	// worker-b owns 0.285 (weight share 0.286)
	// worker-c owns 0.572 (weight share 0.571)
}

// What a rebalance moves when a fourth worker joins: about a quarter of
// the partitions, all to the newcomer.
func ExampleDiff() {
	before, _ := ring.New([]string{"worker-a", "worker-b", "worker-c"}, ring.DefaultConfig())
	after, _ := before.Next(map[string]float64{"worker-a": 1, "worker-b": 1, "worker-c": 1, "worker-d": 1})
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
	fmt.Printf("%.3f of the keys move, %.3f to worker-d\n",
		float64(len(moves))/float64(before.Config().Partitions), float64(toNew)/float64(before.Config().Partitions))
	// Output:
	// 0.250 of the keys move, 0.250 to worker-d
}

func ExampleRing_Owners() {
	r, _ := ring.New([]string{"worker-a", "worker-b", "worker-c"}, ring.DefaultConfig())
	owners := r.Owners("/data/train/part-0001.parquet", 2)
	fmt.Println(len(owners), owners[0] != owners[1])
	// Output: 2 true
}
