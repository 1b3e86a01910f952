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

// Cache-filter rules decide what is kept: a file matching a skipCache rule
// is read through from the UFS every time, others reach the UFS once.
func ExampleCache_SetPolicy() {
	dir, err := os.MkdirTemp("", "cache-filter-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	cfg := cache.DefaultConfig()
	cfg.Dir = filepath.Join(dir, "cache")
	c, err := cache.Open(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.SetPolicy(cache.Policy{Rules: []policy.FilterRule{{Rule: policy.RuleSkipCache, Pattern: `\.tmp$`}}})

	for _, name := range []string{"model.bin", "scratch.tmp"} {
		file := filepath.Join(dir, name)
		os.WriteFile(file, []byte("some bytes of "+name), 0o644)
		origin := fileOrigin{name: file, reads: new(atomic.Int64)}
		buf := make([]byte, 4)
		for range 3 {
			c.ReadAt(context.Background(), "/data/"+name, origin, buf, 0)
		}
		_, cached := c.Stat("/data/" + name)
		fmt.Printf("%s: cached %t, UFS reads %d\n", name, cached, origin.reads.Load())
	}
	// Output:
	// model.bin: cached true, UFS reads 1
	// scratch.tmp: cached false, UFS reads 3
}
