// Package worker is the worker service of an Alluvium cluster: it caches
// pages of UFS files (package cache) for the paths it owns on the
// consistent-hash ring (package ring) and serves them over HTTP.
//
// A Worker keeps a persistent id (worker-<uuid>) in its data dir, so that a
// restart comes back as the same ring member with the same cached pages. It
// registers with the coordinators, heartbeats every second with its usage,
// and pulls the policies it enforces (mounts, quota budgets, TTLs,
// priorities, cache-filter rules and the membership that makes the ring)
// with a versioned long poll: the coordinators never push to workers, so a
// worker behind a slow or lost link only ever lags, never diverges.
//
// Handler serves two APIs:
//
//   - the public data API, GET and HEAD /api/v1/data/<alluxio path> with
//     Range support. A worker that does not own the path answers 307 to the
//     owner, so that `curl -L` works without ring logic; ?local=true (or the
//     header X-Alluvium-Local: true) makes it serve anyway, which a client
//     falling back to a replica needs. A Range header with several ranges is
//     answered as multipart/byteranges by net/http's ServeContent.
//   - the internal task API (/api/v1/internal/...) that the coordinators'
//     job scheduler calls: load and free files, clear stale data, list
//     cached files. When a cluster token is configured these routes require
//     it as a bearer token; the data API stays open, like the coordinators'
//     read paths of data.
//
// GET /api/v1/health and GET /api/v1/stats (the cache's counters, JSON) are
// open too. Files past their TTL are swept in the background; reads never
// see them either way.
//
// Worker does not listen itself: the caller serves Handler on the address
// it advertises in Config.HTTPAddress, which keeps ports and TLS choices in
// the binary.
package worker
