package coordinator

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"
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
	// running counts the term's goroutines by name (the barrier, each
	// loop), so that one that does not return can be named.
	running map[string]int
}

type leaderLoop struct {
	name string
	fn   func(ctx context.Context)
}

func newLeadership(c *Coordinator, notify <-chan bool) *leadership {
	return &leadership{c: c, notify: notify, running: map[string]int{}}
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
		case <-stop: // before any notification: no term starts once stopping
			l.stepDown()
			return
		default:
		}
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
//
// The barrier may never be answered while Raft runs (a leader that keeps
// its lease but cannot commit, a Raft stuck on its disk), so it is waited
// for under the term's context: stepDown (and so Shutdown) never waits for
// it. The goroutine left waiting on the future is counted in c.futures and
// ends when Raft answers, at the latest when Shutdown stops Raft.
func (l *leadership) stepUp() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.ctx, l.cancel = ctx, cancel
	l.goTerm("term-barrier", func() {
		for ctx.Err() == nil {
			_, err := await(l.c, ctx, func() raft.Future { return l.c.raft.Barrier(l.c.cfg.ApplyTimeout) })
			if err == nil || ctx.Err() != nil {
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
	})
}

// start runs one loop in the current term. The caller holds l.mu.
func (l *leadership) start(loop leaderLoop) {
	ctx := l.ctx
	l.goTerm(loop.name, func() { loop.fn(ctx) })
}

// goTerm runs fn as one of the term's goroutines. The caller holds l.mu.
func (l *leadership) goTerm(name string, fn func()) {
	l.term.Add(1)
	l.running[name]++
	go func() {
		defer func() {
			l.mu.Lock()
			if l.running[name]--; l.running[name] == 0 {
				delete(l.running, name)
			}
			l.mu.Unlock()
			l.term.Done()
		}()
		fn()
	}()
}

// stillRunning names the term goroutines that have not returned.
func (l *leadership) stillRunning() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.running))
}

// stepDown ends the term and waits for its goroutines to return: every
// loop must return soon after its context is done. One that does not is
// named in the logs every stuckWarning; Shutdown does not wait for it past
// its bound (see Config.ShutdownTimeout).
func (l *leadership) stepDown() {
	l.mu.Lock()
	wasLeading := l.ctx != nil
	l.isReady = false
	if l.cancel != nil {
		l.cancel()
	}
	l.ctx, l.cancel = nil, nil
	l.mu.Unlock()
	done := make(chan struct{})
	go func() {
		l.term.Wait()
		close(done)
	}()
	t := time.NewTicker(stuckWarning)
	defer t.Stop()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-t.C:
			l.c.log.Warn("stepping down: leader loops have not returned", "loops", l.stillRunning())
		}
	}
	if wasLeading {
		l.c.log.Info("stepped down")
	}
}

// stuckWarning is how often stepDown names the loops it still waits for.
const stuckWarning = 5 * time.Second
