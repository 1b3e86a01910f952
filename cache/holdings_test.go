package cache_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alluvium/alluvium/cache"
	"github.com/alluvium/alluvium/policy"
)

// changeLog collects a cache's holding changes, as a worker's reporter does.
type changeLog struct {
	mu      sync.Mutex
	changes []cache.HoldingChange
}

func (l *changeLog) add(ch cache.HoldingChange) {
	l.mu.Lock()
	l.changes = append(l.changes, ch)
	l.mu.Unlock()
}

// replay applies the changes from the last reset on, as the file index
// does, checking that they are numbered without a gap.
func (l *changeLog) replay(t *testing.T) map[string]int64 {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	start := -1
	for i, ch := range l.changes {
		if ch.Reset {
			start = i
		}
	}
	if start < 0 {
		t.Fatal("no reset")
	}
	held := map[string]int64{}
	for i, ch := range l.changes[start:] {
		if i > 0 && ch.Seq != l.changes[start+i-1].Seq+1 {
			t.Fatalf("change %d follows %d", ch.Seq, l.changes[start+i-1].Seq)
		}
		if ch.Epoch != l.changes[start].Epoch {
			t.Fatalf("change %d has epoch %d in epoch %d", ch.Seq, ch.Epoch, l.changes[start].Epoch)
		}
		switch {
		case ch.Reset:
		case ch.Held:
			held[ch.Path] = ch.Size
		default:
			delete(held, ch.Path)
		}
	}
	return held
}

// wholeFiles lists what the cache holds whole.
func wholeFiles(c *cache.Cache) map[string]int64 {
	out := map[string]int64{}
	c.Files("/", func(fs cache.FileState) bool {
		if fs.Complete() {
			out[fs.Path] = fs.Meta.Size
		}
		return true
	})
	return out
}

// TestHoldingChangesReplay: whatever happens to a cache (loads, reads,
// evictions for capacity and quota, TTL, frees, corrupt and changed files,
// a restart), its changes since the last reset, applied in order, give
// exactly the files it holds whole.
func TestHoldingChangesReplay(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 7))
			u := newUFS(t)
			sizes := []int{0, 1, page, 3*page + 7, 10 * page}
			var names []string
			for i := range 30 {
				name := fmt.Sprintf("/d%d/f%02d", i%3, i)
				u.put(name, sizes[i%len(sizes)])
				names = append(names, name)
			}
			var log changeLog
			clk := &clock{now: time.Unix(1000, 0)}
			dir := t.TempDir()
			open := func() *cache.Cache {
				c, err := cache.Open(cache.Config{Dir: dir, PageSize: page, CapacityBytes: 40 * page, MemoryBytes: 0,
					Now: clk.Now, OnHolding: log.add})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			c := open()
			epoch := uint64(1)
			c.Announce(c.ResetHoldings(epoch))
			ctx := context.Background()
			for step := range 400 {
				name := names[r.IntN(len(names))]
				switch op := r.IntN(10); op {
				case 0, 1, 2:
					_, _ = c.Load(ctx, name, u.origin(name))
				case 3, 4:
					buf := make([]byte, 100)
					_, _ = c.ReadAt(ctx, name, u.origin(name), buf, int64(r.IntN(3*page)))
				case 5:
					c.Free(fmt.Sprintf("/d%d", r.IntN(3)))
				case 6:
					p := cache.Policy{TTLs: map[string]time.Duration{"/d1": time.Minute}}
					if r.IntN(2) == 0 {
						p.Budgets = map[string]int64{"/d2": int64(r.IntN(8)) * page}
					}
					c.SetPolicy(p)
				case 7:
					clk.Add(30 * time.Second)
					c.Sweep()
				case 8:
					if r.IntN(3) == 0 { // the UFS changes under the cache
						u.put(name, sizes[r.IntN(len(sizes))])
						c.SetPolicy(cache.Policy{Default: policy.FilterRule{Rule: policy.RuleMaxAge, Time: time.Second}})
					}
				default:
					if r.IntN(8) == 0 { // restart: a new epoch
						c.Close()
						c = open()
						epoch++
						paths := c.ResetHoldings(epoch)
						// Announced in two halves, with changes between.
						c.Announce(paths[:len(paths)/2])
						_, _ = c.Load(ctx, name, u.origin(name))
						c.Free(names[r.IntN(len(names))])
						c.Announce(paths[len(paths)/2:])
					}
				}
				if got, want := log.replay(t), wholeFiles(c); !mapsEqual(got, want) {
					t.Fatalf("step %d: replayed %v, cache holds %v", step, keys(got), keys(want))
				}
			}
			if len(wholeFiles(c)) == 0 {
				t.Error("the run ended with nothing held; the test exercised too little")
			}
		})
	}
}

func TestHoldingOf(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	u.put("/a", 2*page)
	u.put("/empty", 0)
	var log changeLog
	c, err := cache.Open(cache.Config{Dir: t.TempDir(), PageSize: page, CapacityBytes: 10 * page, OnHolding: log.add})
	if err != nil {
		t.Fatal(err)
	}
	c.ResetHoldings(9)
	ctx := context.Background()
	if h := c.HoldingOf("/a"); h.Held || h.Epoch != 9 || h.Seq != 1 {
		t.Fatalf("before a load: %+v", h)
	}
	for _, p := range []string{"/a", "/empty"} {
		if _, err := c.Load(ctx, p, u.origin(p)); err != nil {
			t.Fatal(err)
		}
	}
	if h := c.HoldingOf("/a"); !h.Held || h.Size != 2*page || h.Seq != 3 {
		t.Fatalf("after the loads: %+v", h)
	}
	if h := c.HoldingOf("/empty"); !h.Held || h.Size != 0 {
		t.Fatalf("an empty file is held once loaded: %+v", h)
	}
	if files, _ := c.Free("/empty"); files != 1 {
		t.Fatalf("freeing the empty file freed %d files", files)
	}
	if h := c.HoldingOf("/empty"); h.Held || h.Seq != 4 {
		t.Fatalf("after the free: %+v", h)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
