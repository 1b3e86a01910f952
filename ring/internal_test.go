package ring

import (
	"math"
	"testing"
)

// The load New passes upstream always leaves room for every partition, for
// every member count the partitions allow, so distributePartitions cannot
// panic (with at least two points per member, its walk meets every member).
func TestFittingLoadAlwaysFits(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{DefaultConfig(), {Partitions: 271, ReplicationFactor: 20, Load: 1}, {Partitions: 211, ReplicationFactor: 3, Load: 1.01}} {
		for n := 1; n <= cfg.Partitions; n++ {
			load := fittingLoad(cfg.Partitions, n, cfg.Load)
			perMember := math.Ceil(float64(cfg.Partitions/n) * load)
			if perMember*float64(n) < float64(cfg.Partitions) || load < cfg.Load {
				t.Fatalf("%+v with %d members: load %.3f leaves room for %.0f of %d partitions", cfg, n, load, perMember*float64(n), cfg.Partitions)
			}
		}
	}
}
