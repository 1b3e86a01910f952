package api

// Mount is a mount point: the body of POST /api/v1/mount and one result of
// GET. Secret options are answered as "***".
type Mount struct {
	Path    string            `json:"path"`
	UFS     string            `json:"ufs"`
	Options map[string]string `json:"options,omitempty"`
}

// Mounts is the answer of GET /api/v1/mount.
type Mounts struct {
	Results []Mount `json:"results"`
}

// PathRequest is the body of the DELETE routes keyed by a path.
type PathRequest struct {
	Path string `json:"path"`
}

// Empty is the answer of a change that has nothing to report.
type Empty struct{}
