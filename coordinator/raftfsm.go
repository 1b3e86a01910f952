package coordinator

import (
	"io"

	"github.com/alluvium/alluvium/fsm"
	"github.com/hashicorp/raft"
)

// raftFSM adapts *fsm.FSM, which knows nothing of Raft, to raft.FSM.
type raftFSM struct{ f *fsm.FSM }

func (r raftFSM) Apply(l *raft.Log) any { return r.f.Apply(l.Index, l.Data) }

func (r raftFSM) Snapshot() (raft.FSMSnapshot, error) {
	return raftSnapshot{r.f.Snapshot()}, nil
}

func (r raftFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return r.f.Restore(rc)
}

type raftSnapshot struct{ s *fsm.Snapshot }

func (s raftSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.s.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (raftSnapshot) Release() {}
