package kernelpath

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

var (
	fileMiB = flag.Int("kernelpath.mib", 256, "size of the benchmarks' data file in MiB")
	conns   = flag.Int("kernelpath.conns", 16, "concurrent clients (and keep-alive connections) in the Serve benchmarks")
)

var (
	benchOnce sync.Once
	benchFx   *Fixture
	benchErr  error
)

// benchFixture returns the shared data file, written (and so in the page
// cache) on first use and removed by TestMain.
func benchFixture(b *testing.B) *Fixture {
	b.Helper()
	benchOnce.Do(func() { benchFx, benchErr = NewFixture("", int64(*fileMiB)<<20, 1) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFx
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFx != nil {
		if err := benchFx.Remove(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

type pathCase struct {
	name string
	path Path
	g    int64
}

func allPaths() []pathCase {
	cs := []pathCase{{"sendfile", Sendfile, 0}, {"pread", Pread, 0}, {"open-pread-close", OpenPread, 0}}
	for _, p := range []Path{PreadCRC, MmapCRC} {
		for _, g := range granularities {
			cs = append(cs, pathCase{fmt.Sprintf("%s-%dKiB", p, g>>10), p, g})
		}
	}
	return cs
}

func checked(p Path) bool { return p == PreadCRC || p == MmapCRC }

// TestPathsServeSameBytesAndCatchFlips checks that every path serves the
// file's bytes for ranges at and across block edges and at the end of the
// file, and that after a byte of the file is flipped the CRC paths refuse
// exactly the ranges whose blocks hold it while the unchecked paths
// (sendfile, pread) serve the flipped byte.
func TestPathsServeSameBytesAndCatchFlips(t *testing.T) {
	fx, err := NewFixture(t.TempDir(), 4<<20+1234, 7)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(fx.Path)
	if err != nil {
		t.Fatal(err)
	}
	type rng struct{ off, n int64 }
	ranges := []rng{
		{0, 4096}, {1, 4096}, {4095, 2}, {65530, 10000}, {1<<20 - 100, 1 << 20},
		{1 << 20, 1 << 20}, {fx.Size - 5000, 5000}, {fx.Size - 1, 1}, {fx.Size - 1234, 1234},
		{2<<20 + 700, 100}, {2<<20 + 4096, 4096}, {2 << 20, 64 << 10},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		n := 1 + r.Int64N(MaxLen)
		ranges = append(ranges, rng{r.Int64N(fx.Size - n + 1), n})
	}

	c := NewClient(4)
	defer c.Close()
	servers := map[string]*Server{}
	for _, pc := range allPaths() {
		s, err := NewServer(fx, pc.path, pc.g)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		servers[pc.name] = s
	}

	fetch := func(name string, rg rng) ([]byte, error) {
		var buf bytes.Buffer
		_, err := c.Fetch(servers[name].Addr, rg.off, rg.n, &buf)
		return buf.Bytes(), err
	}
	for _, pc := range allPaths() {
		for _, rg := range ranges {
			got, err := fetch(pc.name, rg)
			if err != nil {
				t.Fatalf("%s [%d,+%d): %v", pc.name, rg.off, rg.n, err)
			}
			if !bytes.Equal(got, want[rg.off:rg.off+rg.n]) {
				t.Fatalf("%s [%d,+%d): wrong bytes", pc.name, rg.off, rg.n)
			}
		}
	}

	// Flip one byte on disk behind the stored sums' back (the mapping is
	// MAP_SHARED, so it sees the flip too).
	const flip = 2<<20 + 777
	f, err := os.OpenFile(fx.Path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{want[flip] ^ 0x10}, flip); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(want)
	flipped[flip] ^= 0x10

	caught := 0
	for _, pc := range allPaths() {
		for _, rg := range ranges {
			got, err := fetch(pc.name, rg)
			if !checked(pc.path) {
				if err != nil || !bytes.Equal(got, flipped[rg.off:rg.off+rg.n]) {
					t.Fatalf("%s [%d,+%d): want the flipped file served unchecked, err %v", pc.name, rg.off, rg.n, err)
				}
				continue
			}
			start, end := blockSpan(rg.off, rg.n, pc.g, fx.Size)
			if flip >= start && flip < end {
				if err == nil {
					t.Fatalf("%s [%d,+%d): block with a flipped byte served", pc.name, rg.off, rg.n)
				}
				caught++
				continue
			}
			if err != nil || !bytes.Equal(got, want[rg.off:rg.off+rg.n]) {
				t.Fatalf("%s [%d,+%d): untouched blocks not served right: %v", pc.name, rg.off, rg.n, err)
			}
		}
	}
	if caught == 0 {
		t.Fatal("no range touched the flipped byte")
	}
	// And the check itself names the error.
	data, _ := os.ReadFile(fx.Path)
	if err := fx.check(data[2<<20:3<<20], 2<<20, 64<<10); !errors.Is(err, ErrChecksum) {
		t.Fatalf("check of a flipped block: %v", err)
	}
}

// BenchmarkServe serves ranges of the data file over loopback HTTP with
// -kernelpath.conns concurrent keep-alive clients (client and server in this
// process, sharing the CPUs), page cache warm. "4KiB-random" reads 4 KiB at
// uniformly random byte offsets; "1MiB-aligned" reads whole 1 MiB-aligned
// MiBs at random.
func BenchmarkServe(b *testing.B) {
	for _, sz := range []struct {
		name    string
		n       int64
		aligned bool
	}{{"4KiB-random", 4 << 10, false}, {"1MiB-aligned", 1 << 20, true}} {
		b.Run(sz.name, func(b *testing.B) {
			for _, pc := range allPaths() {
				b.Run(pc.name, func(b *testing.B) {
					fx := benchFixture(b)
					s, err := NewServer(fx, pc.path, pc.g)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					c := NewClient(*conns)
					defer c.Close()
					procs := runtime.GOMAXPROCS(0)
					b.SetParallelism((*conns + procs - 1) / procs)
					b.SetBytes(sz.n)
					var seed atomic.Uint64
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						r := rand.New(rand.NewPCG(seed.Add(1), 99))
						for pb.Next() {
							var off int64
							if sz.aligned {
								off = r.Int64N(fx.Size/sz.n) * sz.n
							} else {
								off = r.Int64N(fx.Size - sz.n + 1)
							}
							if _, err := c.Fetch(s.Addr, off, sz.n, io.Discard); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		})
	}
}

var sizes = []struct {
	name string
	n    int
}{{"4KiB", 4 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}

var sink uint32

// BenchmarkCRC32C is hash/crc32 Castagnoli throughput on this CPU.
func BenchmarkCRC32C(b *testing.B) {
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			buf := make([]byte, sz.n)
			for i := range buf {
				buf[i] = byte(i * 7)
			}
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				sink = crc32.Checksum(buf, castagnoli)
			}
		})
	}
}

// BenchmarkPread is one ReadAt of an aligned range at a random offset of the
// warm data file, on one goroutine.
func BenchmarkPread(b *testing.B) {
	fx := benchFixture(b)
	f, err := os.Open(fx.Path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			buf := make([]byte, sz.n)
			r := rand.New(rand.NewPCG(3, 4))
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				if _, err := f.ReadAt(buf, r.Int64N(fx.Size/int64(sz.n))*int64(sz.n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMmapCopy copies an aligned range at a random offset out of a
// read-only mapping of the warm data file (after the first touch, no
// syscall: what mmap saves over pread is the syscall and not the copy).
func BenchmarkMmapCopy(b *testing.B) {
	fx := benchFixture(b)
	f, err := os.Open(fx.Path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	mem, err := syscall.Mmap(int(f.Fd()), 0, int(fx.Size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		b.Fatal(err)
	}
	defer syscall.Munmap(mem)
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			buf := make([]byte, sz.n)
			r := rand.New(rand.NewPCG(3, 4))
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				off := r.Int64N(fx.Size/int64(sz.n)) * int64(sz.n)
				copy(buf, mem[off:off+int64(sz.n)])
			}
		})
	}
}

// BenchmarkOpen compares a 4 KiB pread on a kept fd with opening the file,
// reading and closing it per request, and with open+close alone.
func BenchmarkOpen(b *testing.B) {
	fx := benchFixture(b)
	buf := make([]byte, 4<<10)
	b.Run("kept-fd-pread-4KiB", func(b *testing.B) {
		f, err := os.Open(fx.Path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		r := rand.New(rand.NewPCG(5, 6))
		for b.Loop() {
			if _, err := f.ReadAt(buf, r.Int64N(fx.Size/4096)*4096); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open-pread-4KiB-close", func(b *testing.B) {
		r := rand.New(rand.NewPCG(5, 6))
		for b.Loop() {
			f, err := os.Open(fx.Path)
			if err != nil {
				b.Fatal(err)
			}
			_, err = f.ReadAt(buf, r.Int64N(fx.Size/4096)*4096)
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open-close", func(b *testing.B) {
		for b.Loop() {
			f, err := os.Open(fx.Path)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}
