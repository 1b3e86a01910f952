package fusefs_test

import (
	"fmt"
	"log"
	"time"

	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/fusefs"
)

// Mount a cluster's namespace read-only at /mnt/alluvium, with names and
// sizes trusted for 30 s and up to 32 MiB read ahead, until Unmount.
func Example() {
	cl, err := client.New([]string{"http://127.0.0.1:19999"}, client.WithRingCache(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	cfg := fusefs.DefaultConfig()
	cfg.Client, cfg.MetadataTTL, cfg.Readahead = cl, 30*time.Second, 32<<20
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ready to mount with", cfg.MetadataTTL, "metadata TTL")
	// m, err := fusefs.New("/mnt/alluvium", cfg)
	// ... m.Unmount() on SIGTERM; m.Wait() returns when it is unmounted.
	// Output: ready to mount with 30s metadata TTL
}
