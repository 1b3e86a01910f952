package api

import "time"

// SnapshotInfo is the header of a snapshot file of the coordinators'
// replicated state: one line of JSON before the body (see package
// coordinator for the format), shared by the server that writes and checks
// it and the client that verifies a download.
type SnapshotInfo struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Index is the last Raft log index applied to the state; Term is the
	// Raft term in which the snapshot was taken.
	Index uint64 `json:"index"`
	Term  uint64 `json:"term"`
	// Size is the body's length in bytes and SHA256 its checksum (hex).
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Coordinator took the snapshot at CreatedAt.
	Coordinator string    `json:"coordinator"`
	CreatedAt   time.Time `json:"createdAt"`
}
