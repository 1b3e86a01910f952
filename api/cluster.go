package api

// Coordinator is one coordinator as GET /api/v1/coordinators answers it.
type Coordinator struct {
	ID           string `json:"id"`
	RaftAddress  string `json:"raftAddress"`
	HTTPAddress  string `json:"httpAddress,omitempty"`
	Leader       bool   `json:"leader"`
	Voter        bool   `json:"voter"`
	CommitIndex  uint64 `json:"commitIndex,omitempty"`
	AppliedIndex uint64 `json:"appliedIndex,omitempty"`
}

// Coordinators is the answer of GET /api/v1/coordinators: the Raft
// configuration as the answering coordinator knows it.
type Coordinators struct {
	Leader   string        `json:"leader,omitempty"` // omitted when no leader is known
	Term     uint64        `json:"term"`
	ServedBy string        `json:"servedBy"`
	Results  []Coordinator `json:"results"`
}

// JoinRequest is the body of POST /api/v1/coordinators: a coordinator asks
// to be made a voter, or tells the leader its addresses.
type JoinRequest struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raftAddress"`
	HTTPAddress string `json:"httpAddress"`
}

// Health is the answer of GET /api/v1/health.
type Health struct {
	Status       string `json:"status"` // "ok", or why not
	ID           string `json:"id"`
	Leader       string `json:"leader,omitempty"`
	State        string `json:"state"`
	CommitIndex  uint64 `json:"commitIndex"`
	AppliedIndex uint64 `json:"appliedIndex"`
	// CommandLevel is the newest set of replicated commands this node's
	// build applies (fsm.CommandLevel; absent from older builds: 0).
	CommandLevel int `json:"commandLevel,omitempty"`
}
