package cache_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/alluvium/alluvium/cache"
)

// storeFiles are the sizes the store tests cache, around the page and
// block edges of a page of pageSize bytes.
func storeFiles(pageSize int) map[string]int {
	return map[string]int{
		"empty": 0, "one": 1, "small": 100, "page-1": pageSize - 1, "page": pageSize, "page+1": pageSize + 1,
		"three": 3*pageSize + 5, "ten": 10 * pageSize, "deep/a/b/c": 2*pageSize - 1,
	}
}

// storeCache opens a cache of pages of pageSize bytes (blocks of up to 64
// KiB), with small packs and logs.
func storeCache(t *testing.T, dir string, pageSize, memory int64) *cache.Cache {
	t.Helper()
	cfg := cache.DefaultConfig()
	cfg.Dir, cfg.PageSize, cfg.CapacityBytes, cfg.MemoryBytes = dir, pageSize, 1<<30, memory
	cache.SetStoreLimits(&cfg, 4*pageSize, 512)
	c, err := cache.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// storeFilesOnDisk lists the packs and extents.
func storeFilesOnDisk(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	for _, sub := range []string{"packs", "extents"} {
		filepath.WalkDir(filepath.Join(dir, "store", sub), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				names = append(names, p)
			}
			return nil
		})
	}
	return names
}

// checkAll reads every file whole and in random ranges, through ReadAt and
// WriteTo, and fails on any byte that differs from the UFS.
func checkAll(t *testing.T, c *cache.Cache, u *ufsDir, want map[string][]byte, rng *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	for name, content := range want {
		if got := read(t, c, u, name); !bytes.Equal(got, content) {
			t.Fatalf("%s: a whole read served wrong bytes", name)
		}
		for range 4 {
			if len(content) == 0 {
				break
			}
			off := rng.IntN(len(content))
			n := 1 + rng.IntN(len(content)-off)
			buf := make([]byte, n)
			if m, err := c.ReadAt(ctx, "/"+name, u.origin(name), buf, int64(off)); (err != nil && err != io.EOF) || m != n || !bytes.Equal(buf, content[off:off+n]) {
				t.Fatalf("%s: ReadAt(%d bytes at %d) = %d, %v, or wrong bytes", name, n, off, m, err)
			}
			var w bytes.Buffer
			if m, err := c.WriteTo(ctx, "/"+name, u.origin(name), &w, int64(off), int64(n)); err != nil || m != int64(n) || !bytes.Equal(w.Bytes(), content[off:off+n]) {
				t.Fatalf("%s: WriteTo(%d bytes at %d) = %d, %v, or wrong bytes", name, n, off, m, err)
			}
		}
	}
}

// TestFlippedBytesAreNeverServed flips bytes at random offsets of every
// pack and extent, again and again, and reads everything back, whole and
// in ranges: every byte served is the UFS's, whatever was hit (a file's
// bytes, its checksums, its ident, an extent's header).
func TestFlippedBytesAreNeverServed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name             string
		pageSize, memory int64
	}{
		{"4KiB pages", 4 << 10, 0}, {"256KiB pages of 4 blocks", 256 << 10, 0}, {"memory tier", 256 << 10, 8 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(tc.pageSize), 1))
			u := newUFS(t)
			want := map[string][]byte{}
			for name, size := range storeFiles(int(tc.pageSize)) {
				want[name] = u.put(name, size)
			}
			c := storeCache(t, t.TempDir(), tc.pageSize, tc.memory)
			checkAll(t, c, u, want, rng) // caches everything
			for round := range 20 {
				for _, name := range storeFilesOnDisk(t, c.Dir()) {
					flipByte(t, name, rng)
				}
				checkAll(t, c, u, want, rng)
				if round == 0 && c.Stats().Evictions["corrupt"] == 0 && tc.memory == 0 {
					t.Fatal("flipped bytes everywhere and nothing was found corrupt")
				}
			}
		})
	}
}

// flipByte flips one bit of a random byte of a file.
func flipByte(t *testing.T, name string, rng *rand.Rand) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return // removed meanwhile
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return
	}
	off := rng.Int64N(st.Size())
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1 << rng.IntN(8)
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestRestartServesWhatWasCached: after a restart every file is served
// from disk without a read of the UFS, through several generations of the
// journal; a torn pack, a torn journal tail and stray files only lose what
// they hold.
func TestRestartServesWhatWasCached(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	want := map[string][]byte{}
	for i := range 200 { // enough records to roll the journal a few times
		name := fmt.Sprintf("r/%03d", i)
		want[name] = u.put(name, 1+i*97%(3*page))
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	c := storeCache(t, dir, page, 0)
	checkAll(t, c, u, want, rng)
	c.Free("/r/01") // some drops in the journal too
	for i := 10; i < 20; i++ {
		delete(want, fmt.Sprintf("r/%03d", i))
	}
	before := c.Stats()
	c.Close()

	c2 := storeCache(t, dir, page, 0)
	if s := c2.Stats(); s.Files != before.Files || s.Pages != before.Pages || s.UsedBytes != before.UsedBytes {
		t.Fatalf("after restart: %d files, %d pages, %d bytes; before: %d, %d, %d", s.Files, s.Pages, s.UsedBytes, before.Files, before.Pages, before.UsedBytes)
	}
	u.reads.Store(0)
	checkAll(t, c2, u, want, rng)
	if n := u.reads.Load(); n != 0 {
		t.Fatalf("after a clean restart %d reads went to the UFS", n)
	}
	c2.Close()

	// A crash: the newest pack torn, garbage after the log, a snapshot's
	// temporary and a stray extent left behind.
	packs, _ := filepath.Glob(filepath.Join(dir, "store", "packs", "*"))
	newest := packs[len(packs)-1]
	st, _ := os.Stat(newest)
	os.Truncate(newest, st.Size()/2)
	logs, _ := filepath.Glob(filepath.Join(dir, "store", "journal", "log-*"))
	lf, _ := os.OpenFile(logs[len(logs)-1], os.O_WRONLY|os.O_APPEND, 0)
	lf.Write([]byte{9, 0, 0, 0, 1, 2, 3})
	lf.Close()
	os.WriteFile(filepath.Join(dir, "store", "journal", "snap-00000000000000ff.tmp"), []byte("x"), 0o600)
	os.MkdirAll(filepath.Join(dir, "store", "extents", "ff"), 0o750)
	os.WriteFile(filepath.Join(dir, "store", "extents", "ff", "3ff"), []byte("stray"), 0o600)

	c3 := storeCache(t, dir, page, 0)
	if s := c3.Stats(); s.Files >= before.Files || s.Files < before.Files/2 {
		t.Fatalf("after a torn pack: %d files of %d", s.Files, before.Files)
	}
	checkAll(t, c3, u, want, rng)
	for _, stray := range []string{"journal/snap-00000000000000ff.tmp", "extents/ff/3ff"} {
		if _, err := os.Stat(filepath.Join(dir, "store", stray)); err == nil {
			t.Fatalf("%s survived the restart", stray)
		}
	}
}

// TestOldFormatIsDropped: a cache directory of the first format (a
// directory per file under pages/) is removed at Open, never served.
func TestOldFormatIsDropped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := filepath.Join(dir, "pages", "ab", "abcdef")
	os.MkdirAll(old, 0o750)
	os.WriteFile(filepath.Join(old, "meta"), []byte(`{"path":"/o/f","size":3}`), 0o600)
	os.WriteFile(filepath.Join(old, "0"), []byte("ALVP...old page"), 0o600)
	c := storeCache(t, dir, page, 0)
	if s := c.Stats(); s.Files != 0 {
		t.Fatalf("%d files adopted from the old format", s.Files)
	}
	if _, err := os.Stat(filepath.Join(dir, "pages")); err == nil {
		t.Fatal("the old format's pages/ is still there")
	}
	u := newUFS(t)
	want := u.put("o/f", 3)
	if got := read(t, c, u, "o/f"); !bytes.Equal(got, want) {
		t.Fatal("wrong bytes")
	}
}

// TestCompactionKeepsLiveFiles: dropping most files of full packs has
// them compacted away, while readers read on, and the files left are
// served from disk before and after a restart.
func TestCompactionKeepsLiveFiles(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	dir := t.TempDir()
	c := storeCache(t, dir, page, 0) // packs of 4 pages
	want := map[string][]byte{}
	for i := range 120 {
		name := fmt.Sprintf("k/%d/%03d", i%5, i)
		want[name] = u.put(name, 1000+i)
		read(t, c, u, name)
	}
	packsBefore := c.Stats().Packs
	var wg sync.WaitGroup
	stop := make(chan struct{})
	keep := map[string][]byte{}
	for name, content := range want {
		if name[2] == '0' {
			keep[name] = content
		}
	}
	wg.Go(func() { // readers during compaction
		rng := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			default:
				checkAll(t, c, u, keep, rng)
			}
		}
	})
	for d := 1; d < 5; d++ {
		c.Free(fmt.Sprintf("/k/%d", d))
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Compacting() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	s := c.Stats()
	var live int64
	for _, content := range keep {
		live += int64(len(content))
	}
	if s.Packs >= packsBefore/2 || s.PackBytes > 2*live+4*page {
		t.Fatalf("after freeing 4/5 of the files: %d packs of %d bytes (before: %d packs), %d bytes live", s.Packs, s.PackBytes, packsBefore, live)
	}
	u.reads.Store(0)
	rng := rand.New(rand.NewPCG(3, 4))
	checkAll(t, c, u, keep, rng)
	c.Close()
	c2 := storeCache(t, dir, page, 0)
	checkAll(t, c2, u, keep, rng)
	if n := u.reads.Load(); n != 0 || c2.Stats().Files != len(keep) {
		t.Fatalf("after compaction and a restart: %d UFS reads, %d files of %d", n, c2.Stats().Files, len(keep))
	}
}

// TestConcurrentReadsUnderEviction: readers of ranges of many files, in a
// cache a quarter their size, always get the UFS's bytes.
func TestConcurrentReadsUnderEviction(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	want := map[string][]byte{}
	var total int
	for i := range 40 {
		name := fmt.Sprintf("e/%d", i)
		want[name] = u.put(name, 1+i*911%(5*page))
		total += len(want[name])
	}
	cfg := cache.DefaultConfig()
	cfg.Dir, cfg.PageSize, cfg.CapacityBytes, cfg.MemoryBytes = t.TempDir(), page, int64(total/4), 64<<10
	cache.SetStoreLimits(&cfg, 8*page, 16<<10)
	c, err := cache.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range 2 {
				checkAll(t, c, u, want, rng)
			}
		})
	}
	wg.Wait()
	s := c.Stats()
	if s.UsedBytes > cfg.CapacityBytes || s.Evictions["capacity"] == 0 {
		t.Fatalf("used %d of %d, %d evictions", s.UsedBytes, cfg.CapacityBytes, s.Evictions["capacity"])
	}
	var pages, bytes int64 // the counters agree with the files, once quiet
	c.Files("/", func(fs cache.FileState) bool {
		pages += fs.CachedPages
		bytes += fs.Bytes
		return true
	})
	if pages != s.Pages || bytes != s.UsedBytes {
		t.Fatalf("stats say %d pages, %d bytes; the files %d and %d", s.Pages, s.UsedBytes, pages, bytes)
	}
}

// TestPartialReadsPromoteOnTheSecondRead: with a memory tier, a read of a
// whole page brings it into memory, a read of part of a page does not the
// first time (a page read once would cost a whole page for a few bytes),
// and does the second.
func TestPartialReadsPromoteOnTheSecondRead(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	const pageSize = 64 << 10
	want := u.put("p/f", 4*pageSize)
	c := storeCache(t, t.TempDir(), pageSize, 16<<20)
	ctx := context.Background()
	if _, err := c.Load(ctx, "/p/f", u.origin("p/f")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	readPart := func() {
		t.Helper()
		if _, err := c.ReadAt(ctx, "/p/f", u.origin("p/f"), buf, pageSize+10); err != nil || !bytes.Equal(buf, want[pageSize+10:pageSize+110]) {
			t.Fatalf("read: %v", err)
		}
	}
	readPart()
	time.Sleep(20 * time.Millisecond) // the memory tier applies sets asynchronously
	readPart()
	if s := c.Stats(); s.MemoryHits != 0 || s.DiskHits != 2 {
		t.Fatalf("after two partial reads: %d memory hits, %d disk hits; want 0 and 2", s.MemoryHits, s.DiskHits)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().MemoryHits == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		readPart()
	}
	if c.Stats().MemoryHits == 0 {
		t.Fatal("a page read in part twice never entered the memory tier")
	}
}
