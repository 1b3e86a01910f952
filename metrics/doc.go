// Package metrics exposes Prometheus metrics of coordinators and workers at
// GET /metrics.
//
// # One registry per node
//
// Each coordinator and each worker gets its own registry (NewRegistry),
// never Prometheus's global one: several nodes live in one process under
// `alluvium dev` and in tests, and each must report its own numbers. A
// registry also carries the Go runtime and process collectors, so under
// `alluvium dev` every endpoint reports the same process figures.
//
// # Read at scrape time
//
// Most series are not counted where things happen but read when Prometheus
// scrapes, by custom collectors: raft's indexes and state, jobs by type
// and state, workers by state (from this coordinator's replica of the
// state machine), the cache's counters (cache.Stats, worker.Stats). The
// components already keep these numbers for their own APIs; reading them
// on a scrape (every 15 s or so) costs nothing on the hot paths and can
// never drift from what the API reports. Only what nothing else counts is
// instrumented where it happens: HTTP requests (by route), requests a
// follower passes to the leader, Raft apply latency, UFS operation latency
// and bytes served are observed by small hooks (httpapi.Options.Metrics,
// Coordinator.ObserveApply, Worker.WrapUFS, Worker.Stats().BytesServed).
//
// # Names
//
// Names follow Prometheus conventions: an alluvium_ prefix, base units
// (_seconds, _bytes), _total on counters only, and labels of bounded
// cardinality: an HTTP route is the router's pattern ("/api/v1/mount",
// "/api/v1/data/"), never the raw URL; a quota directory is a label
// because quotas are few; a file path never is.
//
// The alluvium_job_* series sum the counters of the jobs the state machine
// retains. Retention prunes old jobs, so these can go down: they are
// gauges, named without _total. Use them for progress and for sums over
// recent jobs, and jobs by state (alluvium_jobs) for alerts.
//
// Coordinators report their own replica: a follower's job and worker
// gauges trail the leader's by its replication lag. Select the leader's
// series with alluvium_raft_state{state="Leader"} == 1 when that matters.
package metrics
