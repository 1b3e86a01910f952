package coordinator

import (
	"testing"

	"github.com/hashicorp/raft"
)

// After close, the guard lets a late write succeed without reaching the
// store (Raft would panic on its error); before, writes go through.
func TestShutStable(t *testing.T) {
	store := raft.NewInmemStore()
	s := &shutStable{StableStore: store}
	if err := s.SetUint64([]byte("CurrentTerm"), 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 4); err != nil {
		t.Fatalf("a write after close: %v, want nil", err)
	}
	if err := s.Set([]byte("k"), []byte("late")); err != nil {
		t.Fatalf("a write after close: %v, want nil", err)
	}
	if v, _ := store.GetUint64([]byte("CurrentTerm")); v != 3 {
		t.Fatalf("the term in the store is %d, want 3 (the late write must not reach it)", v)
	}
	if v, _ := s.Get([]byte("k")); string(v) != "v" {
		t.Fatalf("k = %q, want v", v)
	}
}
