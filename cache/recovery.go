package cache

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alluvium/alluvium/apath"
	"github.com/dgraph-io/ristretto/v2"
)

// storeDir holds the cache's files under Config.Dir: packs/, extents/ and
// journal/. The first format's pages/ is removed at Open.
const storeDir = "store"

// Open opens (or creates) a cache in cfg.Dir and rebuilds its index from
// the journal, dropping what it no longer finds on disk.
func Open(cfg Config) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.packLimit == 0 {
		cfg.packLimit = packLimit
	}
	if cfg.minRoll == 0 {
		cfg.minRoll = minRoll
	}
	c := &Cache{
		cfg: cfg, block: blockLen(cfg.PageSize), now: cfg.Now, opened: time.Now(), log: cfg.Logger,
		pol:        compile(Policy{}),
		files:      map[string]*fileEntry{},
		buckets:    []*bucket{newBucket("")},
		bucketOf:   map[string]uint16{"": 0},
		evictions:  map[string]int64{},
		packs:      map[uint32]*pack{},
		nextID:     1,
		nextPack:   1,
		compacting: map[uint32]bool{},
		done:       make(chan struct{}),
		extents:    extentFiles{open: map[uint64]*os.File{}, limit: 512},
		capacity:   cfg.CapacityBytes,
	}
	if cfg.MemoryBytes > 0 {
		mem, err := ristretto.NewCache(&ristretto.Config[uint64, []byte]{
			NumCounters: max(cfg.MemoryBytes/cfg.PageSize*10, 1000),
			MaxCost:     cfg.MemoryBytes,
			BufferItems: 64,
			KeyToHash:   memKeyHash,
		})
		if err != nil {
			return nil, fmt.Errorf("cache: memory tier: %w", err)
		}
		c.mem = mem
	}
	if err := c.prepareDirs(); err != nil {
		return nil, err
	}
	if err := c.rebuild(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// prepareDirs makes the store's directories, and removes a cache of the
// first format (a directory per file under pages/): its pages are not
// served, they are read again from the UFS.
func (c *Cache) prepareDirs() error {
	old := filepath.Join(c.cfg.Dir, "pages")
	if _, err := os.Stat(old); err == nil {
		c.log.Info("cache: removing a cache of the first format (pages/); its files are read again from the UFS", "dir", old)
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("cache: removing the old format: %w", err)
		}
	}
	for _, d := range []string{"packs", "extents", "journal"} {
		if err := os.MkdirAll(filepath.Join(c.cfg.Dir, storeDir, d), 0o750); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
	}
	return nil
}

// journalFiles lists the snapshots and logs by generation.
func (c *Cache) journalFiles() (snaps, logs []uint64, err error) {
	entries, err := os.ReadDir(filepath.Join(c.cfg.Dir, storeDir, "journal"))
	if err != nil {
		return nil, nil, fmt.Errorf("cache: %w", err)
	}
	for _, e := range entries {
		kind, hex, _ := strings.Cut(e.Name(), "-")
		gen, err := strconv.ParseUint(hex, 16, 64)
		switch {
		case err != nil:
			c.removeFile(filepath.Join(c.cfg.Dir, storeDir, "journal", e.Name())) // a snapshot's temporary
		case kind == "snap":
			snaps = append(snaps, gen)
		case kind == "log":
			logs = append(logs, gen)
		}
	}
	slices.Sort(snaps)
	slices.Sort(logs)
	return snaps, logs, nil
}

func (c *Cache) journalName(kind string, gen uint64) string {
	return filepath.Join(c.cfg.Dir, storeDir, "journal", fmt.Sprintf("%s-%016x", kind, gen))
}

// replay is the index being read back from the journal.
type replay struct {
	c     *Cache
	files map[string]*fileEntry
	byID  map[uint64]*fileEntry
}

func (r *replay) apply(rec record) {
	c := r.c
	switch rec.kind {
	case recPutPacked, recPutExtent:
		fr := rec.file
		if apath.Validate(fr.path) != nil || (rec.kind == recPutPacked) != (c.pageCount(fr.size) == 1) {
			return
		}
		if old := r.files[fr.path]; old != nil {
			delete(r.byID, old.id())
		}
		f := &fileEntry{path: fr.path, size: fr.size, mtime: fr.mtime, cachedAt: fr.cachedAt, flags: flagJournaled}
		f.page.f = f
		if fr.etag != "" {
			f.extra().etag = fr.etag
		}
		if rec.kind == recPutExtent {
			f.flags |= flagExtent
			f.extra().id, f.x.pages = fr.id, map[uint32]*page{}
			c.nextID = max(c.nextID, fr.id+1)
		} else {
			f.pack, f.off = splitPackedID(fr.id)
			c.nextPack = max(c.nextPack, f.pack+1)
		}
		r.files[fr.path], r.byID[fr.id] = f, f
	case recPage, recDropPage:
		f := r.byID[rec.id]
		if f == nil || !f.has(flagExtent) || int64(rec.idx) >= c.pageCount(f.size) {
			return
		}
		if rec.kind == recPage {
			f.x.pages[rec.idx] = &page{f: f, idx: rec.idx}
		} else {
			delete(f.x.pages, rec.idx)
		}
	case recDrop:
		if f := r.byID[rec.id]; f != nil {
			delete(r.byID, rec.id)
			delete(r.files, f.path)
		}
	}
}

// rebuild reads the index back: the newest snapshot, then the logs after
// it, then checks what they name against the files on disk, writes a new
// snapshot and starts a new log.
func (c *Cache) rebuild() error {
	snaps, logs, err := c.journalFiles()
	if err != nil {
		return err
	}
	from, last := uint64(0), uint64(0)
	if len(snaps) > 0 {
		from = snaps[len(snaps)-1]
	}
	// Maps sized for the records at once: growing them is most of the
	// cost of a rebuild.
	n := c.journalBytes(from, logs) / 64
	r := &replay{c: c, files: make(map[string]*fileEntry, n), byID: make(map[uint64]*fileEntry, n)}
	if len(snaps) > 0 {
		last = from
		if err := readRecords(c.journalName("snap", from), r.apply); err != nil {
			c.log.Warn("cache: journal snapshot ends early", "err", err)
		}
	}
	for _, g := range logs {
		if g < from {
			continue
		}
		last = max(last, g)
		if err := readRecords(c.journalName("log", g), r.apply); err != nil {
			c.log.Warn("cache: journal log ends early", "gen", g, "err", err)
		}
	}
	if err := c.openPacks(); err != nil {
		return err
	}
	onDisk, err := c.listExtents()
	if err != nil {
		return err
	}
	c.files = r.files
	for p, f := range c.files {
		if !c.adopt(f, onDisk) {
			delete(c.files, p)
		}
	}
	for id := range onDisk { // extents of no cached file
		c.removeFile(c.extentName(id))
	}
	for num, p := range c.packs {
		p.sealed = true
		if p.live == 0 {
			p.f.Close()
			delete(c.packs, num)
			c.removeFile(c.packName(num))
		}
	}
	c.fitDisk(false) // evicts what a smaller disk cannot hold
	// Packs small enough that evicting a sixteenth of the cache empties
	// whole packs: on a full disk, space comes back only with a pack.
	c.cfg.packLimit = min(c.cfg.packLimit, max(c.capacity/16, 4*c.cfg.PageSize))
	c.enforceBudgets()
	c.jnl = &journal{gen: last, fsync: c.cfg.Fsync}
	if err := c.roll(); err != nil {
		return fmt.Errorf("cache: journal: %w", err)
	}
	c.mu.Lock() // the compactor may start at once
	defer c.mu.Unlock()
	for num, p := range c.packs {
		c.maybeCompact(num, p)
	}
	return nil
}

// adopt keeps a file read back from the journal in the index if its bytes
// are still on disk (its pack entry, or its extent, taken out of onDisk),
// and reports whether it did.
func (c *Cache) adopt(f *fileEntry, onDisk map[uint64]bool) bool {
	qdir, _, _ := c.pol.quota(f.path)
	f.prio, f.bucket = c.pol.priority(f.path), c.bucketFor(qdir)
	if f.has(flagExtent) {
		if f.size > 0 && (len(f.x.pages) == 0 || !onDisk[f.x.id]) {
			return false
		}
		delete(onDisk, f.x.id)
		for _, p := range f.x.pages {
			c.account(f, c.pageLen(f.size, int64(p.idx)))
			c.link(p)
			f.x.ready++
		}
	} else {
		p := c.packs[f.pack]
		n := c.packEntryLen(f.size)
		if p == nil || int64(f.off)+n > p.size {
			return false
		}
		p.live += n
		c.account(f, f.size)
		c.link(&f.page)
	}
	// Held whole or not, as it is found: the epoch that the owner starts
	// after Open announces it.
	if f.readyPages() == c.pageCount(f.size) {
		f.flags |= flagComplete
	}
	return true
}

// journalBytes is the size of the snapshot from and the logs after it.
func (c *Cache) journalBytes(from uint64, logs []uint64) int64 {
	var n int64
	if st, err := os.Stat(c.journalName("snap", from)); err == nil {
		n += st.Size()
	}
	for _, g := range logs {
		if st, err := os.Stat(c.journalName("log", g)); err == nil && g >= from {
			n += st.Size()
		}
	}
	return n
}

// openPacks opens the packs on disk, all sealed: new entries go to a new
// pack.
func (c *Cache) openPacks() error {
	dir := filepath.Join(c.cfg.Dir, storeDir, "packs")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	for _, e := range entries {
		num, err := strconv.ParseUint(e.Name(), 16, 32)
		if err != nil || num == 0 || num >= 1<<30 {
			c.removeFile(filepath.Join(dir, e.Name()))
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, e.Name()), os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("cache: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("cache: %w", err)
		}
		c.packs[uint32(num)] = &pack{f: f, size: st.Size(), sealed: true}
		c.nextPack = max(c.nextPack, uint32(num)+1)
	}
	return nil
}

// listExtents returns the ids of the extents on disk.
func (c *Cache) listExtents() (map[uint64]bool, error) {
	root := filepath.Join(c.cfg.Dir, storeDir, "extents")
	shards, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	ids := map[uint64]bool{}
	for _, s := range shards {
		names, err := os.ReadDir(filepath.Join(root, s.Name()))
		if err != nil {
			c.removeFile(filepath.Join(root, s.Name()))
			continue
		}
		for _, n := range names {
			id, err := strconv.ParseUint(n.Name(), 16, 64)
			if err != nil || id >= 1<<62 || fmt.Sprintf("%02x", id&0xff) != s.Name() {
				c.removeFile(filepath.Join(root, s.Name(), n.Name()))
				continue
			}
			ids[id] = true
			c.nextID = max(c.nextID, id+1)
		}
	}
	return ids, nil
}
