package api

// The internal API between workers and coordinators (/api/v1/internal/...).
// Calls carry the cluster token as a bearer token when one is configured.

// Internal routes.
const (
	// Worker -> coordinator (any coordinator; forwarded to the leader where
	// the leader's memory is needed).
	PathWorkerRegister  = "/api/v1/internal/workers/register"
	PathWorkerHeartbeat = "/api/v1/internal/workers/heartbeat"
	PathWorkerPolicies  = "/api/v1/internal/workers/policies"

	// Coordinator -> worker.
	PathTaskLoad       = "/api/v1/internal/tasks/load"
	PathTaskFree       = "/api/v1/internal/tasks/free"
	PathTaskPrune      = "/api/v1/internal/tasks/prune" // body FreeTask: drop copies a rebalance moved
	PathClearStale     = "/api/v1/internal/cache/clear-stale"
	PathCachedFiles    = "/api/v1/internal/cache/files"
	PathWorkerDataRoot = "/api/v1/data"
)

// WorkerRegistration is the body of POST PathWorkerRegister: a worker (new,
// or restarted with its persistent id) joins the cluster.
type WorkerRegistration struct {
	ID            string `json:"id"`      // worker-<uuid>, kept in the worker's data dir
	Address       string `json:"address"` // host:port of its data and task API
	CapacityBytes int64  `json:"capacityBytes"`
	StartTime     string `json:"startTime"` // RFC 3339
	Version       string `json:"version,omitempty"`
	// RingWeight scales the worker's weight on the ring (its capacity): the
	// worker's --ring-weight, from 0 (unset: 1) to MaxRingWeight.
	RingWeight float64 `json:"ringWeight,omitempty"`
}

// MaxRingWeight bounds WorkerRegistration.RingWeight (as the state
// machine does).
const MaxRingWeight = 1e6

// Heartbeat is the body of POST PathWorkerHeartbeat, sent every second.
type Heartbeat struct {
	ID        string `json:"id"`
	UsedBytes int64  `json:"usedBytes"`
	Pages     int64  `json:"pages"`
	// CapacityBytes is the bytes the worker's cache holds at most now: less
	// than it registered with when its disk turned out smaller. The leader
	// commits a change to the membership (and so the ring). 0: not sent.
	CapacityBytes int64 `json:"capacityBytes,omitempty"`
	// QuotaUsage is the bytes cached under each quota directory.
	QuotaUsage map[string]int64 `json:"quotaUsage,omitempty"`
	// PolicyVersion is the policy version the worker enforces.
	PolicyVersion uint64            `json:"policyVersion"`
	ClearStale    *ClearStaleStatus `json:"clearStale,omitempty"`
	// Holdings reports, in order, the changes of what the worker's cache
	// holds whole that the file index has not acknowledged yet.
	Holdings *HoldingReport `json:"holdings,omitempty"`
}

// HoldingReport is a run of a worker's numbered holding changes within one
// epoch (see fsm/holdings.go).
type HoldingReport struct {
	Epoch  uint64         `json:"epoch"`
	Events []HoldingEvent `json:"events"`
}

// HoldingEvent is one holding change: Path became held whole (Held, with
// its Size) or stopped being so; Reset starts an epoch.
type HoldingEvent struct {
	Seq   uint64 `json:"seq"`
	Path  string `json:"path,omitempty"`
	Size  int64  `json:"size,omitempty"`
	Held  bool   `json:"held,omitempty"`
	Reset bool   `json:"reset,omitempty"`
}

// HoldingAck is how far the file index has applied a worker's reports.
type HoldingAck struct {
	Epoch uint64 `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

// HeartbeatAnswer tells a worker its committed state and the current policy
// version (when newer than its own, it pulls the policies).
type HeartbeatAnswer struct {
	State         string `json:"state"` // LIVE, LOST (being restored), DECOMMISSIONED
	PolicyVersion uint64 `json:"policyVersion"`
	// Holdings is how far the file index has applied this worker's
	// reports, after the heartbeat's own.
	Holdings HoldingAck `json:"holdings"`
}

// WorkerPolicies is the answer of GET PathWorkerPolicies?since=N&worker=ID:
// everything a worker enforces, at one version of the replicated state. The
// call waits (long poll, up to ?wait=) until the version is newer than since.
type WorkerPolicies struct {
	Version uint64 `json:"version"`
	// Mounts carry their options unmasked: workers need the credentials.
	Mounts  []Mount `json:"mounts"`
	Workers []Node  `json:"workers"` // membership, for the ring
	// Budgets are this worker's shares of the quotas (quota directory ->
	// bytes): hard caps it enforces locally.
	Budgets    map[string]int64 `json:"budgets,omitempty"`
	TTLs       []TTL            `json:"ttls,omitempty"`
	Priorities []Priority       `json:"priorities,omitempty"`
	Filter     CacheFilter      `json:"filter"`
	// RingMode is "dynamic" (LIVE workers only) or "static" (all but
	// decommissioned).
	RingMode string `json:"ringMode"`
}

// LoadTask is the body of POST PathTaskLoad: load these files into the
// worker's cache.
type LoadTask struct {
	JobID            string   `json:"jobId"`
	Paths            []string `json:"paths"` // Alluxio paths
	SkipIfExists     bool     `json:"skipIfExists,omitempty"`
	IfChanged        bool     `json:"ifChanged,omitempty"`
	LoadMetadataOnly bool     `json:"loadMetadataOnly,omitempty"`
	// BandwidthBytes bounds this task's UFS reads per second (0: none).
	BandwidthBytes int64 `json:"bandwidthBytes,omitempty"`
	// Peers lists, for some paths, the addresses of workers that hold them:
	// the worker reads a path from one of those peers (when its copy is the
	// UFS's current version) before it reads the UFS. A rebalance moves
	// data between workers this way.
	Peers map[string][]string `json:"peers,omitempty"`
}

// A peer's data answer carries DataVersionHeader, the cache.Meta version
// of the copy it serves; QueryCachedOnly=true makes a worker answer 404
// unless the file is wholly in its cache (it never reads the UFS for it).
const (
	DataVersionHeader = "X-Alluvium-Version"
	QueryCachedOnly   = "cachedOnly"
)

// FileResult is what a task did to one file.
type FileResult struct {
	Path    string `json:"path"`
	Bytes   int64  `json:"bytes"`             // loaded or freed
	Size    int64  `json:"size"`              // the file's size
	Skipped bool   `json:"skipped,omitempty"` // already cached (load) or absent (free)
	Error   string `json:"error,omitempty"`
	// QuotaExceeded marks a file not (fully) admitted for lack of quota.
	QuotaExceeded bool `json:"quotaExceeded,omitempty"`
	// Held says whether the worker holds the file whole once the task is
	// done with it, as of its holding change number HoldSeq of epoch
	// HoldEpoch (0: not known): the file index takes it only if it has
	// not applied a later change of the worker (see fsm/holdings.go).
	Held      bool   `json:"held,omitempty"`
	HoldEpoch uint64 `json:"holdEpoch,omitempty"`
	HoldSeq   uint64 `json:"holdSeq,omitempty"`
}

// TaskResult is the answer of a task.
type TaskResult struct {
	Results []FileResult `json:"results"`
}

// FreeTask is the body of POST PathTaskFree.
type FreeTask struct {
	JobID string   `json:"jobId"`
	Paths []string `json:"paths"`
}

// ClearStaleRequest is the body of POST PathClearStale.
type ClearStaleRequest struct {
	Start bool `json:"start"` // false stops a running clear
}

// CachedFile is one file a worker holds.
type CachedFile struct {
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	CachedBytes int64  `json:"cachedBytes"`
	Complete    bool   `json:"complete"`
}

// CachedFiles is the answer of GET PathCachedFiles?prefix=&lastKey=&count=.
type CachedFiles struct {
	Results []CachedFile `json:"results"`
	NextKey string       `json:"nextKey,omitempty"`
}

// PathList is the route prefix of a worker's listing API: GET
// /api/v1/list/<alluxio path>?cursor=&count= lists the UFS files at or
// under the path (recursively, in byte order), a page at a time.
const PathList = "/api/v1/list"

// ListedFile is one file of a listing, with whether the answering worker
// caches all of it.
type ListedFile struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	ModTime string `json:"mtime,omitempty"`
	Cached  bool   `json:"cached,omitempty"`
}

// Listing is a page of a listing; Cursor, when set, asks for the next.
type Listing struct {
	Results []ListedFile `json:"results"`
	Cursor  string       `json:"cursor,omitempty"`
}
