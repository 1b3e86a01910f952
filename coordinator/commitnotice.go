package coordinator

// The commit notice: event-driven commit propagation for an idle cluster.
//
// hashicorp/raft tells followers the commit index only in an AppendEntries
// RPC: with the next entries, or, when no write follows, from replicate's
// CommitTimeout timer, which sends an empty append to every follower every
// CommitTimeout..2x CommitTimeout, whether or not anything was committed.
// A short CommitTimeout keeps followers fresh and costs an idle cluster two
// round trips per timer tick (at 5 ms, most of its CPU); a long one is
// cheap at rest but leaves a follower's ?stale=true reads and its workers'
// policy long polls behind by up to 2x CommitTimeout after the last write.
//
// So the leader sends the news itself, only when there is news: after a
// write it proposed is answered, once its log has been quiet for
// Config.CommitNotice, it appends a barrier (an entry the state machine
// never sees). Replicating it carries the commit index to every follower
// at once, one disk write per node and one round trip later. Under load
// the log is never quiet, every next write carries the index, and no
// barrier is added. CommitTimeout is then only the fallback, for entries
// not proposed through Apply (elections' no-ops, membership changes).

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
)

// ringBell wakes the loop waiting on bell (a channel of capacity 1) without
// ever blocking: a bell already rung stays rung until the loop looks.
func ringBell(bell chan struct{}) {
	select {
	case bell <- struct{}{}:
	default:
	}
}

// commitNoticeLoop runs on the leader: after every burst of writes, once
// the log has been quiet for CommitNotice, it appends a barrier so that
// followers learn the commit index now rather than at the next
// CommitTimeout tick. The term's start counts as a write: the barrier that
// opened it committed the earlier terms' entries.
func (c *Coordinator) commitNoticeLoop(ctx context.Context) {
	quiet := c.cfg.CommitNotice
	t := time.NewTimer(quiet)
	defer t.Stop()
	ringBell(c.commitBell)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.commitBell:
		}
		if !c.waitQuietLog(ctx, t, quiet) {
			return
		}
		// Every write answered until now is covered by this barrier: the
		// commit index it carries includes them. A ring from them would
		// only add a second barrier.
		select {
		case <-c.commitBell:
		default:
		}
		_, err := await(c, ctx, func() raft.Future { return c.raft.Barrier(c.cfg.ApplyTimeout) })
		if err != nil && ctx.Err() == nil {
			c.log.Debug("commit notice barrier failed", "err", err)
		}
	}
}

// waitQuietLog waits until no entry was appended to the log for d, with
// timer t (stopped or fired), and reports false when ctx ended first.
func (c *Coordinator) waitQuietLog(ctx context.Context, t *time.Timer, d time.Duration) bool {
	for {
		last := c.raft.LastIndex()
		t.Reset(d)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		if c.raft.LastIndex() == last {
			return true
		}
	}
}
