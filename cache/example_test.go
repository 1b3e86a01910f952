package cache_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/alluvium/alluvium/cache"
	"github.com/alluvium/alluvium/policy"
)

// A read-through cache over a local file, with a priority policy.
func Example() {
	dir, _ := os.MkdirTemp("", "cache-example")
	defer os.RemoveAll(dir)
	ufsFile := filepath.Join(dir, "data.bin")
	os.WriteFile(ufsFile, []byte("hello, alluvium"), 0o644)

	cfg := cache.DefaultConfig()
	cfg.Dir = filepath.Join(dir, "cache")
	c, _ := cache.Open(cfg)
	defer c.Close()
	c.SetPolicy(cache.Policy{Priorities: map[string]policy.Priority{"/data": policy.PriorityHigh}})

	origin := fileOrigin{name: ufsFile, reads: new(atomic.Int64)}
	buf := make([]byte, 5)
	c.ReadAt(context.Background(), "/data/data.bin", origin, buf, 7)
	fmt.Println(string(buf))
	st, _ := c.Stat("/data/data.bin")
	fmt.Println("cached pages:", st.CachedPages, "of", st.TotalPages)
	// Output:
	// alluv
	// cached pages: 1 of 1
}
