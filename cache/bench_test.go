package cache_test

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/alluvium/alluvium/cache"
)

func benchCache(b *testing.B, pageSize, memory int64) *cache.Cache {
	b.Helper()
	cfg := cache.DefaultConfig()
	cfg.Dir, cfg.PageSize, cfg.CapacityBytes, cfg.MemoryBytes = b.TempDir(), pageSize, 4<<30, memory
	c, err := cache.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

func benchFile(b *testing.B, size int) (string, cache.Origin) {
	b.Helper()
	data := make([]byte, size)
	rand.Read(data)
	name := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return name, fileOrigin{name: name, reads: new(atomic.Int64)}
}

// BenchmarkHitRead measures cached reads: from the memory tier, and from
// disk pages (memory tier off), for 4 KiB and 1 MiB reads.
func BenchmarkHitRead(b *testing.B) {
	for _, tier := range []struct {
		name   string
		memory int64
	}{{"memory", 512 << 20}, {"disk", 0}} {
		for _, size := range []int{4 << 10, 1 << 20} {
			b.Run(tier.name+"/"+strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
				c := benchCache(b, 1<<20, tier.memory)
				const fileSize = 64 << 20
				_, o := benchFile(b, fileSize)
				ctx := context.Background()
				if _, err := c.Load(ctx, "/bench/f", o); err != nil {
					b.Fatal(err)
				}
				buf := make([]byte, size)
				for i := range fileSize / (1 << 20) { // warm the memory tier
					c.ReadAt(ctx, "/bench/f", o, buf, int64(i)<<20)
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				off := int64(0)
				for range b.N {
					if _, err := c.ReadAt(ctx, "/bench/f", o, buf, off); err != nil && err != io.EOF {
						b.Fatal(err)
					}
					off = (off + int64(size)*7919) % (fileSize - int64(size))
				}
			})
		}
	}
}

// BenchmarkPageIn loads a 256 MiB file from a file:// origin into the cache;
// BenchmarkPlainCopy copies the same file, the physical limit.
func BenchmarkPageIn(b *testing.B) {
	const size = 256 << 20
	_, o := benchFile(b, size)
	b.SetBytes(size)
	b.ResetTimer()
	for i := range b.N {
		c := benchCache(b, 1<<20, 0)
		if _, err := c.Load(context.Background(), "/bench/"+strconv.Itoa(i), o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlainCopy(b *testing.B) {
	const size = 256 << 20
	name, _ := benchFile(b, size)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		src, _ := os.Open(name)
		dst, _ := os.Create(filepath.Join(b.TempDir(), "copy"))
		if _, err := io.Copy(dst, src); err != nil {
			b.Fatal(err)
		}
		src.Close()
		dst.Close()
	}
}

// BenchmarkIndexMemory reports the heap the index takes per cached page.
func BenchmarkIndexMemory(b *testing.B) {
	const pages = 100000
	for range b.N {
		c := benchCache(b, 4096, 0)
		_, o := benchFile(b, 4096)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ctx := context.Background()
		for i := range pages {
			if _, err := c.Load(ctx, "/bench/dir/file-"+strconv.Itoa(i), o); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/pages, "heap-bytes/page")
	}
}

// BenchmarkLoadSmall loads one-page files (4 KiB), one file an op: the
// per-file cost of a small-file load job on a worker (directory, meta and
// page file), from a file:// origin.
func BenchmarkLoadSmall(b *testing.B) {
	_, o := benchFile(b, 4<<10)
	c := benchCache(b, 1<<20, 0)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := c.Load(ctx, "/bench/small/"+strconv.Itoa(i), o); err != nil {
			b.Fatal(err)
		}
	}
}
