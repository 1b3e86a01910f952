package fsm

import "time"

// TTL expires data cached under a directory once it has been cached for
// longer than TTL. Expiry is decided by workers against their own clocks,
// never inside Apply.
type TTL struct {
	Path string        `json:"path" msgpack:"Path"`
	TTL  time.Duration `json:"ttl" msgpack:"TTL"`
}

// SetTTL adds or updates a TTL.
type SetTTL struct {
	Path string        `msgpack:"Path"`
	TTL  time.Duration `msgpack:"TTL"`
}

// DeleteTTL removes a TTL.
type DeleteTTL struct {
	Path string `msgpack:"Path"`
}

func (*SetTTL) Type() CommandType    { return CmdSetTTL }
func (*DeleteTTL) Type() CommandType { return CmdDeleteTTL }

func (f *FSM) applySetTTL(_ uint64, c *SetTTL) any {
	if err := f.s.checkUnderMount(c.Path); err != nil {
		return err
	}
	if c.TTL <= 0 {
		return invalidf("ttl must be a positive duration, not %s", c.TTL)
	}
	f.s.ttls[c.Path] = TTL(*c)
	return nil
}

func (f *FSM) applyDeleteTTL(_ uint64, c *DeleteTTL) any {
	if _, ok := f.s.ttls[c.Path]; !ok {
		return notFoundf("ttl not found for %s", c.Path)
	}
	delete(f.s.ttls, c.Path)
	return nil
}

// TTLs lists all TTLs, ordered by path.
func (f *FSM) TTLs() []TTL {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return sortedValues(f.s.ttls)
}

// TTL returns the TTL set at exactly path p.
func (f *FSM) TTL(p string) (TTL, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	t, ok := f.s.ttls[p]
	return t, ok
}
