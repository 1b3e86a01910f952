package coordinator

import (
	"context"
	"errors"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/fsm"
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
	for ctx.Err() == nil {
		if c.fsm.FileIndexStatus().Limit == want {
			return
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
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
