package ring

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Cache keeps the last ring FromCapacities built: a build takes tens of
// milliseconds (a 2^18-partition table) while memberships change rarely,
// so a party that looks owners up per request (a client's reads, the
// scheduler's pages) reuses it until the members or their capacities
// change. The zero value is ready; it is safe for concurrent use.
type Cache struct {
	mu  sync.Mutex
	key string
	rg  *Ring
}

// FromCapacities returns the ring of the members (id -> capacity bytes)
// with DefaultConfig, built once per membership.
func (c *Cache) FromCapacities(capacity map[string]int64) (*Ring, error) {
	members := make(map[string]Capacity, len(capacity))
	for id, b := range capacity {
		members[id] = Capacity{Bytes: b}
	}
	return c.FromMembers(members)
}

// FromMembers returns the ring of the members (id -> capacity and scale)
// with DefaultConfig, built once per membership.
func (c *Cache) FromMembers(members map[string]Capacity) (*Ring, error) {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(members)) {
		b.WriteString(id)
		b.WriteByte('=')
		b.WriteString(strconv.FormatInt(members[id].Bytes, 10))
		b.WriteByte('x')
		b.WriteString(strconv.FormatFloat(members[id].Scale, 'g', -1, 64))
		b.WriteByte(0)
	}
	key := b.String()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rg != nil && c.key == key {
		return c.rg, nil
	}
	rg, err := shared.get(key, members)
	if err != nil {
		return nil, err
	}
	c.key, c.rg = key, rg
	return rg, nil
}

// shared keeps the last rings any Cache of the process built: parties in
// one process (`alluvium dev`: coordinators, workers and clients; tests)
// then build each membership's ring once between them, not once each. A
// ring is a pure function of its key, so sharing it changes no answer.
var shared sharedRings

type sharedRings struct {
	mu    sync.Mutex // held while building: one build at a time, the others wait and reuse it
	keys  [2]string
	rings [2]*Ring
}

func (s *sharedRings) get(key string, members map[string]Capacity) (*Ring, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range s.keys {
		if s.rings[i] != nil && k == key {
			return s.rings[i], nil
		}
	}
	rg, err := FromMembers(members, DefaultConfig())
	if err != nil {
		return nil, err
	}
	s.keys[1], s.rings[1] = s.keys[0], s.rings[0]
	s.keys[0], s.rings[0] = key, rg
	return rg, nil
}
