package fusefs

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/alluvium/alluvium/client"
)

// Defaults of a Config.
const (
	DefaultMetadataTTL     = time.Minute
	DefaultReadahead       = 64 << 20
	DefaultReadaheadMemory = 512 << 20
	DefaultListPage        = 1000
	// chunkSize is the unit of readahead: one ranged request to a worker.
	chunkSize = 1 << 20
	// maxRequest is the largest FUSE request (max_read, max_pages).
	maxRequest = 1 << 20
)

// Config configures a mount.
type Config struct {
	// Client reads the mount table, lists directories and reads files. Give
	// it client.WithRingCache, or every read asks a coordinator for the
	// workers first.
	Client *client.Client
	// MetadataTTL is how long a file's size and mtime, a name's existence
	// and the mount table are trusted, by this process and by the kernel
	// (entry and attribute timeouts): a file changed in the UFS is seen
	// at most this long after.
	MetadataTTL time.Duration
	// Readahead is the largest readahead window of a sequential reader, in
	// bytes; the window starts at two chunks (2 MiB) and doubles with every
	// sequential read. 0 turns readahead off.
	Readahead int64
	// ReadaheadMemory bounds the bytes read ahead over all open files.
	ReadaheadMemory int64
	// ListPage is how many files one listing request asks for at first.
	ListPage int
	// MaxMetadataEntries bounds the metadata cache.
	MaxMetadataEntries int
	// AllowOther lets users other than the one who mounted read the mount
	// (needs user_allow_other in /etc/fuse.conf when not root).
	AllowOther bool
	// Debug logs every FUSE request.
	Debug bool
	// Logger receives what the mount has to say.
	Logger *slog.Logger
}

// DefaultConfig is a config with every default; set Client.
func DefaultConfig() Config {
	return Config{
		MetadataTTL:        DefaultMetadataTTL,
		Readahead:          DefaultReadahead,
		ReadaheadMemory:    DefaultReadaheadMemory,
		ListPage:           DefaultListPage,
		MaxMetadataEntries: 1 << 20,
		Logger:             slog.New(slog.DiscardHandler),
	}
}

// Validate reports the first problem of the config.
func (c *Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("fusefs: Client is nil")
	case c.MetadataTTL < 0:
		return fmt.Errorf("fusefs: negative MetadataTTL %v", c.MetadataTTL)
	case c.Readahead < 0 || c.Readahead > 1<<30:
		return fmt.Errorf("fusefs: Readahead %d: want 0 to 1 GiB", c.Readahead)
	case c.ReadaheadMemory < 0:
		return fmt.Errorf("fusefs: negative ReadaheadMemory %d", c.ReadaheadMemory)
	case c.ListPage < 1 || c.ListPage > 10000:
		return fmt.Errorf("fusefs: ListPage %d: want 1 to 10000", c.ListPage)
	case c.MaxMetadataEntries < 1:
		return fmt.Errorf("fusefs: MaxMetadataEntries %d: want at least 1", c.MaxMetadataEntries)
	case c.Logger == nil:
		return errors.New("fusefs: Logger is nil")
	}
	return nil
}
