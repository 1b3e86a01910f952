package cache_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/alluvium/alluvium/cache"
	"github.com/alluvium/alluvium/internal/tmpfs"
)

// TestFullDiskEvictsInsteadOfFailing: a cache configured far larger than
// its disk (8 MiB) loads four times the disk, small files and large: every
// load succeeds, the capacity comes down to what the disk holds, and what
// is cached reads back right.
func TestFullDiskEvictsInsteadOfFailing(t *testing.T) {
	t.Parallel()
	disk := tmpfs.Mount(t, "8m")
	u := newUFS(t)
	cfg := cache.DefaultConfig()
	cfg.Dir, cfg.PageSize, cfg.CapacityBytes, cfg.MemoryBytes = disk, 64<<10, 1<<30, 0
	c, err := cache.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if got := c.Capacity(); got >= 8<<20 {
		t.Fatalf("capacity %d on an 8 MiB disk", got)
	}
	ctx := context.Background()
	want := map[string][]byte{}
	for i := range 160 { // 32 MiB: 128 small files, 32 of 900 KiB
		name := fmt.Sprintf("full/%03d", i)
		size := 3000 + i
		if i%5 == 0 {
			size = 900 << 10
		}
		want[name] = u.put(name, size)
		if _, err := c.Load(ctx, "/"+name, u.origin(name)); err != nil {
			t.Fatalf("load %s (%d bytes) on a full disk: %v", name, size, err)
		}
	}
	s := c.Stats()
	if s.UsedBytes > c.Capacity() || s.Evictions["capacity"] == 0 || s.Evictions["io"] != 0 {
		t.Fatalf("used %d of %d; evictions %v", s.UsedBytes, c.Capacity(), s.Evictions)
	}
	var held []string
	c.Files("/", func(fs cache.FileState) bool {
		if fs.Complete() {
			held = append(held, fs.Path[1:])
		}
		return true
	})
	u.reads.Store(0)
	for _, name := range held {
		if got := read(t, c, u, name); !bytes.Equal(got, want[name]) {
			t.Errorf("%s: wrong bytes", name)
		}
	}
	if len(held) == 0 || u.reads.Load() != 0 {
		t.Fatalf("%d files held; reading them went %d times to the UFS", len(held), u.reads.Load())
	}
}
