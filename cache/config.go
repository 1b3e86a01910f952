package cache

import (
	"errors"
	"log/slog"
	"time"
)

// Config configures a Cache.
type Config struct {
	// Dir holds the pages; it is created if missing.
	Dir string
	// PageSize is the size of a page (the last page of a file is shorter).
	// It must not change for an existing Dir.
	PageSize int64
	// CapacityBytes bounds the bytes of pages on disk.
	CapacityBytes int64
	// MemoryBytes sizes the memory tier; 0 disables it.
	MemoryBytes int64
	// Fsync makes page writes durable before they are acknowledged. Without
	// it a crash may lose recent pages, which are then fetched again: the
	// checksum keeps a torn page from being served either way.
	Fsync bool
	// Now is the clock for TTLs and maxAge; time.Now when nil.
	Now func() time.Time
	// Logger receives warnings (dropped corrupt pages, I/O errors).
	Logger *slog.Logger
	// OnHolding, when set, is told every change of the set of files held
	// whole, numbered (see HoldingChange). It is called with the cache's
	// lock held: it must be quick and must not call the cache.
	OnHolding func(HoldingChange)

	// Set by Open unless a test set them (export_test.go).
	packLimit int64 // see packs.go
	minRoll   int64 // see write.go
}

// DefaultConfig returns 1 MiB pages, 1 GiB on disk and 256 MiB in memory.
func DefaultConfig() Config {
	return Config{PageSize: 1 << 20, CapacityBytes: 1 << 30, MemoryBytes: 256 << 20, Logger: slog.Default()}
}

// Validate reports the first problem of the config.
func (c *Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("cache: dir is empty")
	case c.PageSize < 4096 || c.PageSize > 64<<20:
		return errors.New("cache: page size must be 4 KiB to 64 MiB")
	case c.CapacityBytes < c.PageSize:
		return errors.New("cache: capacity must hold at least one page")
	case c.MemoryBytes < 0:
		return errors.New("cache: memory tier size is negative")
	}
	return nil
}
