package cache_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluvium/alluvium/cache"
	"github.com/alluvium/alluvium/policy"
)

const page = 4096

// fileOrigin serves a real local file and counts the reads that reach it.
type fileOrigin struct {
	name  string
	reads *atomic.Int64
}

func (o fileOrigin) Stat(context.Context) (cache.Meta, error) {
	st, err := os.Stat(o.name)
	if err != nil {
		return cache.Meta{}, err
	}
	return cache.Meta{Size: st.Size(), ModTime: st.ModTime()}, nil
}

func (o fileOrigin) ReadAt(_ context.Context, p []byte, off int64) (int, error) {
	o.reads.Add(1)
	f, err := os.Open(o.name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.ReadAt(p, off)
}

// ufsDir is a folder of files standing in for a UFS.
type ufsDir struct {
	t     *testing.T
	dir   string
	reads atomic.Int64
	puts  atomic.Int64
}

func newUFS(t *testing.T) *ufsDir { return &ufsDir{t: t, dir: t.TempDir()} }

// put writes a file of n random bytes and returns them. Every put gets a
// modification time of its own, one second after the previous put's, so a
// rewrite is a new version however fast it follows the last one.
func (u *ufsDir) put(name string, n int) []byte {
	u.t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	full := filepath.Join(u.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		u.t.Fatal(err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		u.t.Fatal(err)
	}
	mtime := time.Unix(1_700_000_000+u.puts.Add(1), 0)
	if err := os.Chtimes(full, mtime, mtime); err != nil {
		u.t.Fatal(err)
	}
	return data
}

func (u *ufsDir) origin(name string) cache.Origin {
	return fileOrigin{name: filepath.Join(u.dir, filepath.FromSlash(name)), reads: &u.reads}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func open(t *testing.T, dir string, capacity int64, clk *clock) *cache.Cache {
	t.Helper()
	cfg := cache.DefaultConfig()
	cfg.Dir, cfg.PageSize, cfg.CapacityBytes, cfg.MemoryBytes = dir, page, capacity, 0
	if clk != nil {
		cfg.Now = clk.Now
	}
	c, err := cache.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// read reads a whole file through the cache.
func read(t *testing.T, c *cache.Cache, u *ufsDir, name string) []byte {
	t.Helper()
	meta, err := c.Size(context.Background(), "/"+name, u.origin(name))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, meta.Size)
	if n, err := c.ReadAt(context.Background(), "/"+name, u.origin(name), buf, 0); err != nil || int64(n) != meta.Size {
		t.Fatalf("read %s: %d bytes, %v", name, n, err)
	}
	return buf
}

func TestReadThroughThenHit(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	want := u.put("a/f", 3*page+100)
	c := open(t, t.TempDir(), 100*page, nil)
	if got := read(t, c, u, "a/f"); !bytes.Equal(got, want) {
		t.Fatal("first read differs from the file")
	}
	before := u.reads.Load()
	if got := read(t, c, u, "a/f"); !bytes.Equal(got, want) {
		t.Fatal("second read differs from the file")
	}
	if u.reads.Load() != before {
		t.Fatalf("a cached read reached the origin (%d more reads)", u.reads.Load()-before)
	}
	st, _ := c.Stat("/a/f")
	if !st.Complete() || st.TotalPages != 4 || st.Bytes != int64(len(want)) {
		t.Fatalf("state %+v", st)
	}
	// Ranged reads across a page boundary.
	buf := make([]byte, 200)
	n, err := c.ReadAt(context.Background(), "/a/f", u.origin("a/f"), buf, page-100)
	if err != nil || n != 200 || !bytes.Equal(buf, want[page-100:page+100]) {
		t.Fatalf("ranged read: %d %v", n, err)
	}
	n, err = c.ReadAt(context.Background(), "/a/f", u.origin("a/f"), buf, int64(len(want))-50)
	if !errors.Is(err, io.EOF) || n != 50 || !bytes.Equal(buf[:50], want[len(want)-50:]) {
		t.Fatalf("read at the end: %d %v", n, err)
	}
}

func TestConcurrentMissesFetchOnce(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	want := u.put("f", page)
	c := open(t, t.TempDir(), 100*page, nil)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, page)
			if _, err := c.ReadAt(context.Background(), "/f", u.origin("f"), buf, 0); err != nil || !bytes.Equal(buf, want) {
				t.Errorf("concurrent read: %v", err)
			}
		}()
	}
	wg.Wait()
	// singleflight shares a fetch among the readers that overlap it; a
	// reader arriving after the page was admitted hits it. Either way the
	// origin sees far fewer reads than readers.
	if r := u.reads.Load(); r > 4 {
		t.Fatalf("16 concurrent readers caused %d origin reads", r)
	}
}

func TestEvictionByPriorityThenRecency(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	for _, n := range []string{"low/1", "low/2", "med/1", "med/2", "high/1", "new/1", "low/3"} {
		u.put(n, page)
	}
	c := open(t, t.TempDir(), 5*page, nil)
	c.SetPolicy(cache.Policy{Priorities: map[string]policy.Priority{"/low": policy.PriorityLow, "/high": policy.PriorityHigh}})
	for _, n := range []string{"low/1", "low/2", "med/1", "med/2", "high/1"} {
		read(t, c, u, n)
	}
	read(t, c, u, "low/1") // low/1 is now more recent than low/2

	cached := func(n string) bool { _, ok := c.Stat("/" + n); return ok }
	read(t, c, u, "new/1") // MEDIUM: evicts the LRU LOW page, low/2
	if cached("low/2") || !cached("low/1") {
		t.Fatalf("first eviction: low/2 cached=%v low/1 cached=%v", cached("low/2"), cached("low/1"))
	}
	read(t, c, u, "low/3") // LOW: evicts low/1, the only LOW page left
	if cached("low/1") || !cached("low/3") {
		t.Fatal("a LOW page did not evict the other LOW page")
	}
	// A LOW page evicts LOW only: with no other LOW page it is refused.
	c.Free("/low")
	read(t, c, u, "med/1")
	u.put("low/4", page)
	read(t, c, u, "low/2") // fills the free slot
	read(t, c, u, "low/4") // evicts low/2 (LOW, LRU)
	if cached("low/2") || !cached("low/4") || !cached("high/1") || !cached("med/2") {
		t.Fatal("a LOW page displaced a higher one")
	}
	c.Free("/low")
	for _, n := range []string{"med/1", "med/2", "high/1", "new/1"} {
		read(t, c, u, n)
	}
	u.put("low/5", page)
	u.put("low/6", page)
	read(t, c, u, "low/5") // 5th slot
	read(t, c, u, "low/6") // evicts low/5 only
	if !cached("med/1") || !cached("med/2") || !cached("high/1") || !cached("new/1") {
		t.Fatal("a LOW page evicted a MEDIUM or HIGH page")
	}
	// With every cached page HIGH and the cache full, a LOW page is served
	// but not admitted.
	c.SetPolicy(cache.Policy{Priorities: map[string]policy.Priority{"/low": policy.PriorityLow, "/": policy.PriorityHigh}})
	c.Free("/low")
	u.put("high/2", page)
	read(t, c, u, "high/2")
	u.put("low/7", page)
	got := read(t, c, u, "low/7")
	if len(got) != page || cached("low/7") {
		t.Fatalf("a LOW page was admitted into a cache full of HIGH data (cached=%v)", cached("low/7"))
	}
	if s := c.Stats(); s.UsedBytes != 5*page {
		t.Fatalf("the full cache holds %d bytes, want %d", s.UsedBytes, 5*page)
	}
}

func TestQuotaIsHardUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	const files = 40
	for i := range files {
		u.put(fmt.Sprintf("q/f%02d", i), 2*page+10)
	}
	c := open(t, t.TempDir(), 1000*page, nil)
	const budget = 10 * page
	c.SetPolicy(cache.Policy{Budgets: map[string]int64{"/q": budget}})
	var wg sync.WaitGroup
	var maxSeen atomic.Int64
	stop := make(chan struct{})
	go func() { // watch usage while the writers run
		for {
			select {
			case <-stop:
				return
			default:
			}
			if used := c.UsedBytesUnder("/q"); used > maxSeen.Load() {
				maxSeen.Store(used)
			}
		}
	}()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < files; i += 8 {
				name := fmt.Sprintf("q/f%02d", i)
				got := read(t, c, u, name)
				if len(got) != 2*page+10 {
					t.Errorf("%s: %d bytes", name, len(got))
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if maxSeen.Load() > budget || c.UsedBytesUnder("/q") > budget {
		t.Fatalf("usage under the quota reached %d, budget %d", maxSeen.Load(), budget)
	}
	if c.UsedBytesUnder("/q") == 0 {
		t.Fatal("nothing was cached under the quota")
	}
	// Shrinking the budget evicts down to it.
	c.SetPolicy(cache.Policy{Budgets: map[string]int64{"/q": 3 * page}})
	if used := c.UsedBytesUnder("/q"); used > 3*page {
		t.Fatalf("after shrinking the budget: %d bytes", used)
	}
}

func TestTTLNeverServesExpiredData(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	old := u.put("t/f", page)
	clk := &clock{now: time.Unix(1_000_000, 0)}
	c := open(t, t.TempDir(), 100*page, clk)
	c.SetPolicy(cache.Policy{TTLs: map[string]time.Duration{"/t": time.Hour}})
	read(t, c, u, "t/f")
	// The UFS changes; the cache keeps serving its copy within the TTL
	// (immutable by default) ...
	fresh := u.put("t/f", page)
	clk.Add(30 * time.Minute)
	if got := read(t, c, u, "t/f"); !bytes.Equal(got, old) {
		t.Fatal("within the TTL the cached copy should be served")
	}
	// ... and never once it has expired.
	clk.Add(31 * time.Minute)
	if got := read(t, c, u, "t/f"); !bytes.Equal(got, fresh) {
		t.Fatal("expired data was served")
	}
	clk.Add(2 * time.Hour)
	if n := c.Sweep(); n != 1 {
		t.Fatalf("sweep removed %d files, want 1", n)
	}
	if _, ok := c.Stat("/t/f"); ok {
		t.Fatal("an expired file survived the sweep")
	}
}

func TestCacheFilterRules(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	u.put("skip/f.tmp", page)
	oldLive := u.put("live/f", page)
	oldImm := u.put("imm/f", page)
	clk := &clock{now: time.Unix(1_000_000, 0)}
	c := open(t, t.TempDir(), 100*page, clk)
	c.SetPolicy(cache.Policy{
		Rules: []policy.FilterRule{
			{Rule: policy.RuleSkipCache, Pattern: `\.tmp$`},
			{Rule: policy.RuleMaxAge, Pattern: `^/live/`, Time: 10 * time.Minute},
		},
		Default: policy.FilterRule{Rule: policy.RuleImmutable},
	})
	read(t, c, u, "skip/f.tmp")
	read(t, c, u, "skip/f.tmp")
	if _, ok := c.Stat("/skip/f.tmp"); ok {
		t.Fatal("a skipCache file was cached")
	}
	if _, err := c.Load(context.Background(), "/skip/f.tmp", u.origin("skip/f.tmp")); !errors.Is(err, cache.ErrNotAdmitted) {
		t.Fatalf("loading a skipCache file: %v", err)
	}
	read(t, c, u, "live/f")
	read(t, c, u, "imm/f")
	newLive := u.put("live/f", page)
	u.put("imm/f", page)
	clk.Add(5 * time.Minute)
	if got := read(t, c, u, "live/f"); !bytes.Equal(got, oldLive) {
		t.Fatal("maxAge: a copy younger than the age was re-validated")
	}
	clk.Add(6 * time.Minute)
	if got := read(t, c, u, "live/f"); !bytes.Equal(got, newLive) {
		t.Fatal("maxAge: a changed file was served stale past the age")
	}
	if got := read(t, c, u, "imm/f"); !bytes.Equal(got, oldImm) {
		t.Fatal("immutable: the UFS was re-checked")
	}
	// Unchanged data past maxAge is re-validated, not refetched.
	clk.Add(11 * time.Minute)
	before := u.reads.Load()
	read(t, c, u, "live/f")
	if u.reads.Load() != before {
		t.Fatal("maxAge: unchanged data was fetched again")
	}
}

func TestFreeDropUnownedAndUsage(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	for _, n := range []string{"d/a/1", "d/a/2", "d/b/1", "e/1"} {
		u.put(n, page+1)
	}
	c := open(t, t.TempDir(), 100*page, nil)
	for _, n := range []string{"d/a/1", "d/a/2", "d/b/1", "e/1"} {
		read(t, c, u, n)
	}
	if got := c.UsedBytesUnder("/d"); got != 3*(page+1) {
		t.Fatalf("usage under /d = %d", got)
	}
	files, bytes := c.Free("/d/a")
	if files != 2 || bytes != 2*(page+1) || c.UsedBytesUnder("/d/a") != 0 {
		t.Fatalf("free /d/a: %d files, %d bytes", files, bytes)
	}
	files, _ = c.DropUnowned(func(p string) bool { return strings.HasPrefix(p, "/e/") })
	if files != 1 || c.UsedBytesUnder("/") != page+1 {
		t.Fatalf("drop unowned: %d files, %d left", files, c.UsedBytesUnder("/"))
	}
}

func TestLoadCountsAndSkips(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	u.put("l/f", 5*page+3)
	c := open(t, t.TempDir(), 100*page, nil)
	res, err := c.Load(context.Background(), "/l/f", u.origin("l/f"))
	if err != nil || res.LoadedPages != 6 || res.LoadedBytes != 5*page+3 {
		t.Fatalf("load: %+v %v", res, err)
	}
	res, err = c.Load(context.Background(), "/l/f", u.origin("l/f"))
	if err != nil || res.CachedPages != 6 || res.LoadedPages != 0 {
		t.Fatalf("second load: %+v %v", res, err)
	}
	c.SetPolicy(cache.Policy{Budgets: map[string]int64{"/m": 2 * page}})
	u.put("m/f", 4*page)
	res, err = c.Load(context.Background(), "/m/f", u.origin("m/f"))
	if !errors.Is(err, cache.ErrNotAdmitted) || res.LoadedPages != 2 || res.RejectedPages != 2 {
		t.Fatalf("load over a quota: %+v %v", res, err)
	}
}

func TestCapacityBound(t *testing.T) {
	t.Parallel()
	u := newUFS(t)
	c := open(t, t.TempDir(), 8*page, nil)
	for i := range 30 {
		u.put(fmt.Sprintf("x/%d", i), page+page/2)
		read(t, c, u, fmt.Sprintf("x/%d", i))
		if s := c.Stats(); s.UsedBytes > 8*page {
			t.Fatalf("usage %d over capacity %d", s.UsedBytes, 8*page)
		}
	}
}

// TestWriteToWritesTheRange checks WriteTo from page starts, inside pages
// and to the end, with and without the memory tier, and that writing
// cached pages needs no origin read.
func TestWriteToWritesTheRange(t *testing.T) {
	t.Parallel()
	for _, memory := range []int64{0, 1 << 20} {
		t.Run(fmt.Sprintf("memory=%d", memory), func(t *testing.T) {
			u := newUFS(t)
			content := u.put("f", 2*page+100) // 3 pages, the last one short
			cfg := cache.DefaultConfig()
			cfg.Dir, cfg.PageSize, cfg.CapacityBytes, cfg.MemoryBytes = t.TempDir(), page, 1<<20, memory
			c, err := cache.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			ctx := context.Background()
			size := int64(len(content))
			for pass := range 2 {
				for _, off := range []int64{0, 1, page - 1, page, page + 17, 2 * page, 2*page + 99, size, size + 5} {
					for _, n := range []int64{1, 100, page, 3 * page} {
						var buf bytes.Buffer
						got, err := c.WriteTo(ctx, "/f", u.origin("f"), &buf, off, n)
						want := content[min(off, size):min(off+n, size)]
						if err != nil || got != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
							t.Fatalf("pass %d, %d bytes at %d: wrote %d (%v), want %d", pass, n, off, got, err, len(want))
						}
					}
				}
				if pass == 0 {
					u.reads.Store(0)
				}
			}
			if n := u.reads.Load(); n != 0 {
				t.Fatalf("writes of cached pages read the origin %d times", n)
			}
			if _, err := c.WriteTo(ctx, "/f", u.origin("f"), io.Discard, -1, 1); err == nil {
				t.Fatal("negative offset accepted")
			}
		})
	}
}
