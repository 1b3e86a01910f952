package cache

// SetStoreLimits makes packs and logs small, so that tests see packs fill,
// compact and logs roll.
func SetStoreLimits(cfg *Config, pack, roll int64) { cfg.packLimit, cfg.minRoll = pack, roll }

// Compacting reports whether the compactor has work queued or under way.
func (c *Cache) Compacting() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.compactorRunning
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.cfg.Dir }
