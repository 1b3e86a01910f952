package api

// Node is a worker as GET /api/v1/nodes answers it.
type Node struct {
	ID            string `json:"id"`
	Address       string `json:"address"`
	State         string `json:"state"`
	CapacityBytes int64  `json:"capacityBytes"`
	UsedBytes     int64  `json:"usedBytes"`
	Pages         int64  `json:"pages"`
	StartTime     string `json:"startTime,omitempty"`
	LastHeartbeat string `json:"lastHeartbeat,omitempty"`
	Version       string `json:"version,omitempty"`
	// RingWeight is the worker's --ring-weight (0: unset, 1): its weight on
	// the ring is its capacity times it.
	RingWeight float64 `json:"ringWeight,omitempty"`
}

// The states of a worker, as Node.State and HeartbeatAnswer.State carry them.
const (
	WorkerLive           = "LIVE"
	WorkerLost           = "LOST" // missed its heartbeats; being restored
	WorkerDecommissioned = "DECOMMISSIONED"
)

// Nodes is the answer of GET /api/v1/nodes.
type Nodes struct {
	Results []Node `json:"results"`
}

// FileEntry is one entry of the global file index.
type FileEntry struct {
	Path    string   `json:"path"`
	Size    int64    `json:"size"`
	Workers []string `json:"workers,omitempty"`
	// Replicas is how many copies the file's last load asked for.
	Replicas int `json:"replicas,omitempty"`
}

// FileIndex is the answer of GET /api/v1/file_index.
type FileIndex struct {
	Results []FileEntry `json:"results"`
	NextKey string      `json:"nextKey,omitempty"`
	// Partial: the index's ceiling (a coordinator's
	// --file-index-max-entries) refused some worker's files, so the index
	// lists only part of what is cached; it clears when those workers
	// announce their holding anew within the ceiling.
	Partial bool `json:"partial"`
	// Entries is the size of the whole index, Limit its ceiling (0: none).
	Entries int `json:"entries"`
	Limit   int `json:"limit,omitempty"`
}

// FileIndexStatus is the size of the file index against its ceiling.
type FileIndexStatus struct {
	Entries int
	Limit   int
	Partial bool
}

// FileIndexRequest is the body of POST and DELETE /api/v1/file_index:
// paths, or (POST only) entries with sizes.
type FileIndexRequest struct {
	Paths   []string    `json:"paths,omitempty"`
	Entries []FileEntry `json:"entries,omitempty"`
}

// FileIndexAdded and FileIndexRemoved count what a change did.
type FileIndexAdded struct {
	Added int `json:"added"`
}

// FileIndexRemoved is the answer of DELETE /api/v1/file_index.
type FileIndexRemoved struct {
	Removed int `json:"removed"`
}

// CacheOp is the body of POST and DELETE /api/v1/cache.
type CacheOp struct {
	Op string `json:"op"`
}

// CacheOpResult lists the workers that did not accept a cache operation,
// with the reason; it is empty when every worker did.
type CacheOpResult struct {
	Errors map[string]string `json:"errors"`
}

// ClearStaleStatus is one worker's clear-stale progress.
type ClearStaleStatus struct {
	Worker       string `json:"worker"`
	Running      bool   `json:"running"`
	ScannedFiles int64  `json:"scannedFiles"`
	RemovedBytes int64  `json:"removedBytes"`
	Error        string `json:"error,omitempty"`
}

// CacheStatus is the answer of GET /api/v1/cache.
type CacheStatus struct {
	Results []ClearStaleStatus `json:"results"`
}
