package coordinator

import (
	"context"
	"sync"
	"time"
)

// leadership turns Raft's leadership notifications into a term context:
// created when this node gains leadership and has applied every earlier
// entry (a barrier), cancelled the moment it loses leadership. Leader-only
// loops run under that context, so at most one node runs them at a time, up
// to the lease timeout of a deposed leader.
type leadership struct {
	c      *Coordinator
	notify <-chan bool

	mu      sync.Mutex
	isReady bool
	ctx     context.Context // the current term's; nil while following
	cancel  context.CancelFunc
	term    sync.WaitGroup
	loops   []leaderLoop
}

type leaderLoop struct {
	name string
	fn   func(ctx context.Context)
}

func newLeadership(c *Coordinator, notify <-chan bool) *leadership {
	return &leadership{c: c, notify: notify}
}

// OnLeader registers fn to run while this node leads: it is called with the
// term's context each time leadership is gained (at once if the node leads
// now) and must return soon after that context is done.
func (c *Coordinator) OnLeader(name string, fn func(ctx context.Context)) {
	l := c.leadership
	l.mu.Lock()
	defer l.mu.Unlock()
	loop := leaderLoop{name, fn}
	l.loops = append(l.loops, loop)
	if l.isReady {
		l.start(loop)
	}
}

func (l *leadership) ready() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.isReady
}

func (l *leadership) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			l.stepDown()
			return
		case leader := <-l.notify:
			if leader {
				l.stepUp()
			} else {
				l.stepDown()
			}
		}
	}
}

// stepUp starts a term: a barrier first, so that this node's state holds
// every entry committed by earlier leaders, then the loops.
func (l *leadership) stepUp() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.ctx, l.cancel = ctx, cancel
	l.term.Add(1)
	go func() {
		defer l.term.Done()
		for ctx.Err() == nil {
			err := l.c.raft.Barrier(l.c.cfg.ApplyTimeout).Error()
			if err == nil {
				break
			}
			l.c.log.Warn("barrier at the start of a term failed", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		l.isReady = true
		l.c.log.Info("leading", "term", l.c.raft.CurrentTerm())
		for _, loop := range l.loops {
			l.start(loop)
		}
	}()
}

// start runs one loop in the current term. The caller holds l.mu.
func (l *leadership) start(loop leaderLoop) {
	ctx := l.ctx
	l.term.Add(1)
	go func() {
		defer l.term.Done()
		loop.fn(ctx)
	}()
}

// stepDown ends the term and waits for its loops to return.
func (l *leadership) stepDown() {
	l.mu.Lock()
	wasLeading := l.ctx != nil
	l.isReady = false
	if l.cancel != nil {
		l.cancel()
	}
	l.ctx, l.cancel = nil, nil
	l.mu.Unlock()
	l.term.Wait()
	if wasLeading {
		l.c.log.Info("stepped down")
	}
}
