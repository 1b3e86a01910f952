package cache

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// A cache directory may have less room than Config.CapacityBytes says (a
// shared disk, a wrong value). The cache then holds what the disk can:
// its capacity is the smaller of the configured one and what the disk
// allows, worked out at Open and again whenever a write finds the disk
// full, and it evicts to fit as for any full cache, instead of failing the
// writes.

// diskAllowance is how many bytes of pages the disk under the cache can
// hold: those cached now plus the free space, less a margin (a twentieth
// of the disk, at most 1 GiB) for the journal, the packs' dead space and
// the others on the disk. ok is false when the file system cannot say.
func (c *Cache) diskAllowance() (n int64, ok bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(c.cfg.Dir, &st); err != nil {
		return 0, false
	}
	total := int64(st.Blocks) * st.Bsize
	avail := int64(st.Bavail) * st.Bsize
	margin := min(total/20, 1<<30)
	return c.used + avail - margin, true
}

// fitDisk lowers the capacity to what the disk allows, evicting to fit,
// and reports whether it changed. The caller holds mu.
func (c *Cache) fitDisk(full bool) bool {
	allow, ok := c.diskAllowance()
	if !ok {
		return false
	}
	if full { // the disk is full now, whatever statfs said: make room
		allow = min(allow, c.used-c.used/16)
	}
	allow = max(allow, c.cfg.PageSize)
	if allow >= c.capacity {
		return false
	}
	if !c.shrunk {
		c.log.Warn("cache: the disk has less room than the configured capacity; caching what fits",
			"dir", c.cfg.Dir, "configured", c.cfg.CapacityBytes, "capacity", allow)
		c.shrunk = true
	}
	c.capacity = allow
	c.enforceBudgets()
	return true
}

func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// Capacity returns the bytes the cache holds at most: the configured
// capacity, or less when the disk has less room (see fitDisk).
func (c *Cache) Capacity() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.capacity
}
