package coordinator

import (
	"context"
	"errors"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/internal/tlsconfig"
	"github.com/hashicorp/raft"
)

// FileIndexStatus answers the size, ceiling and partiality of the file
// index (GET /api/v1/file_index carries them).
func (c *Coordinator) FileIndexStatus() api.FileIndexStatus {
	st := c.fsm.FileIndexStatus()
	return api.FileIndexStatus{Entries: st.Entries, Limit: st.Limit, Partial: st.Partial}
}

// fileIndexLimit is the ceiling this coordinator's config asks for, and
// whether it asks for one (see Config.FileIndexMaxEntries).
func (c *Config) fileIndexLimit() (int, bool) {
	switch {
	case c.FileIndexMaxEntries > 0:
		return c.FileIndexMaxEntries, true
	case c.FileIndexMaxEntries < 0:
		return 0, true
	}
	return 0, false
}

// enforceFileIndexLimit makes the replicated ceiling of the file index the
// configured one, once per term: the ceiling must be the same on every
// replica, so it is a command, proposed by the leader from its own config
// (never computed inside Apply from a machine's memory).
func (c *Coordinator) enforceFileIndexLimit(ctx context.Context) {
	want, ok := c.cfg.fileIndexLimit()
	if !ok {
		return
	}
	logged, wait := false, 200*time.Millisecond
	for ctx.Err() == nil {
		if c.fsm.FileIndexStatus().Limit == want {
			return
		}
		if ok, levels := c.votersApply(ctx, 1); !ok {
			if !logged {
				c.log.Info("the file index ceiling waits until every coordinator runs a version that applies it", "levels", levels)
				logged = true
			}
			_ = sleepCtx(ctx, wait) // an older voter (a rolling upgrade), or one not published yet
			wait = min(2*wait, levelRetry)
			continue
		}
		_, err := c.Apply(ctx, &fsm.SetFileIndexLimit{Limit: want})
		if err == nil {
			c.log.Info("set the ceiling of the file index", "entries", want)
			return
		}
		if errors.Is(err, fsm.ErrInvalid) {
			c.log.Error("the ceiling of the file index is invalid", "err", err)
			return
		}
		_ = sleepCtx(ctx, time.Second)
	}
}

// levelRetry is the longest a leader waits before asking the voters'
// command levels again.
const levelRetry = 10 * time.Second

// votersApply reports whether every voter of the Raft configuration applies
// commands of level (see fsm.CommandLevel), asking each other voter at its
// published HTTP address, and the levels it learnt. A voter that cannot be
// asked counts as older: a command it cannot apply would stop it when it
// comes back.
func (c *Coordinator) votersApply(ctx context.Context, level int) (bool, map[string]int) {
	cf := c.raft.GetConfiguration()
	if cf.Error() != nil {
		return false, nil
	}
	levels := map[string]int{c.cfg.ID: fsm.CommandLevel}
	var voters []string
	for _, s := range cf.Configuration().Servers {
		id := string(s.ID)
		if s.Suffrage != raft.Voter {
			continue
		}
		voters = append(voters, id)
		if _, known := levels[id]; known {
			continue
		}
		if info, ok := c.fsm.Coordinator(id); ok {
			scheme := tlsconfig.Scheme(c.cfg.HTTPClientTLS)
			if n, err := c.http.commandLevel(ctx, scheme+"://"+info.HTTPAddress); err == nil {
				levels[id] = n
			} else {
				c.log.Debug("command level of a voter", "voter", id, "err", err)
			}
		}
	}
	return allAtLevel(voters, levels, level), levels
}

// allAtLevel reports whether every voter's known level is level or more (an
// unknown one is not).
func allAtLevel(voters []string, levels map[string]int, level int) bool {
	for _, v := range voters {
		if n, known := levels[v]; !known || n < level {
			return false
		}
	}
	return true
}
