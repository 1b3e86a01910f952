package coordinator

import (
	"sync"

	"github.com/hashicorp/raft"
)

// shutStable guards Raft's stable store across Shutdown. hashicorp/raft
// handles heartbeats on its transport's goroutines, which Raft.Shutdown
// does not wait for: one still running when the store is closed saves the
// term into a closed store, and Raft panics on the error ("failed to save
// current term: closed"). Once closed, the guard lets such late writes
// succeed without writing: they come only from heartbeats, which carry no
// entries and cast no vote, so a term not saved then is one this node never
// voted in. A write in progress finishes before the store closes.
type shutStable struct {
	raft.StableStore
	mu     sync.RWMutex
	closed bool
}

func (s *shutStable) Set(key, val []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil
	}
	return s.StableStore.Set(key, val)
}

func (s *shutStable) SetUint64(key []byte, val uint64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil
	}
	return s.StableStore.SetUint64(key, val)
}

// close makes later writes no-ops, once the writes in progress are done.
// The caller closes the store after it.
func (s *shutStable) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
