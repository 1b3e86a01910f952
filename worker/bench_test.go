package worker

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// discardWriter is a ResponseWriter that drops the body, so that the
// benchmark measures the worker, not a recorder's buffer.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkDataRead reads a cached 4 MiB file (1 MiB pages, all in the
// memory tier) whole and as a 64 KiB range.
func BenchmarkDataRead(b *testing.B) {
	dir := b.TempDir()
	content := make([]byte, 4<<20)
	writeBench(b, filepath.Join(dir, "f"), content)
	cfg := testConfig(b.TempDir())
	cfg.PageSize = 1 << 20
	cfg.CapacityBytes = 64 << 20
	cfg.MemoryBytes = 64 << 20
	w, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Shutdown(b.Context()) })
	if err := w.SetPolicies(policies(1, dir, self(w))); err != nil {
		b.Fatal(err)
	}
	h := w.Handler()
	for _, bc := range []struct{ name, rng string }{{"full", ""}, {"range64KiB", "bytes=1000000-1065535"}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/v1/data/m/f", nil)
			if bc.rng != "" {
				req.Header.Set("Range", bc.rng)
			}
			h.ServeHTTP(&discardWriter{h: http.Header{}}, req) // warm the cache
			b.ReportAllocs()
			b.SetBytes(int64(len(content)))
			if bc.rng != "" {
				b.SetBytes(64 << 10)
			}
			for b.Loop() {
				h.ServeHTTP(&discardWriter{h: http.Header{}}, req)
			}
		})
	}
}

func writeBench(b *testing.B, name string, content []byte) {
	if err := os.WriteFile(name, content, 0o640); err != nil {
		b.Fatal(err)
	}
}
