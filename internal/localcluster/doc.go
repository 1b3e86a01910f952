// Package localcluster starts a whole Alluvium cluster on loopback: N
// coordinators (in this process through internal/node, or as `alluvium
// coordinator` processes), M workers (internal/workernode), the mounts they
// need, and the waits that make it usable (a leader that every coordinator
// knows, published API addresses, LIVE workers that hold the mounts). It
// stops it again in order: workers, then coordinators.
//
// It is the one place that knows how a local cluster comes up: `alluvium
// dev`, the benchmarks (bench/loadbench, bench/apibench, bench/readbench)
// and internal/testcluster (the tests' cluster, a thin testing.TB wrapper)
// all start theirs here, and differ only in Config:
//
//	cfg := localcluster.DefaultConfig()
//	cfg.Dir, cfg.Workers = dir, 3
//	cfg.Mounts = []api.Mount{{Path: "/data", UFS: "file:///srv/data"}}
//	c, err := localcluster.Start(ctx, cfg)
//	if err != nil { ... }
//	defer c.Close()
//	fmt.Println(c.URLs(), c.Workers[0].URL)
//
// Start runs the steps in order (Set.Start for the coordinators, WaitReady,
// StartWorkers, Mount, WaitWorkers); callers that need to act between them
// call them one by one on the Cluster that New returns. The coordinator
// half lives in the coordinators subpackage, which internal/testcluster
// builds on (it must not import the worker: the worker's own tests use it).
package localcluster
