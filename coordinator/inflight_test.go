package coordinator

import (
	"testing"
	"time"
)

func TestInflightWaitIdle(t *testing.T) {
	var f inflight
	f.waitIdle(time.Hour) // nothing in flight: at once
	f.add()
	f.add()
	released := make(chan struct{})
	go func() {
		f.waitIdle(time.Hour)
		close(released)
	}()
	f.done()
	select {
	case <-released:
		t.Fatal("waitIdle returned with one still in flight")
	case <-time.After(50 * time.Millisecond):
	}
	f.done()
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("waitIdle did not return once none was in flight")
	}
	f.add()
	start := time.Now()
	f.waitIdle(20 * time.Millisecond) // bounded
	if time.Since(start) > 5*time.Second {
		t.Fatal("waitIdle ignored its bound")
	}
	f.done()
}
