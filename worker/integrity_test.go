package worker

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestFlippedCacheBytesAreNeverServed caches files of every shape through
// the data API, then, round after round, flips a byte at a random offset
// of every file of the worker's disk tier (memory tier off) and reads
// every file back over HTTP, whole and in random ranges: every answer is
// the UFS's bytes.
func TestFlippedCacheBytesAreNeverServed(t *testing.T) {
	t.Parallel()
	sizes := map[string]int{"one": 1, "small": 700, "page": testPage, "page+1": testPage + 1,
		"multi": 5*testPage + 3, "deep/x/y": 2*testPage - 1}
	dir := t.TempDir()
	want := map[string][]byte{}
	for name, size := range sizes {
		want[name] = writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), size)
	}
	cfg := testConfig(t.TempDir())
	cfg.MemoryBytes = 0
	w := newWorker(t, cfg)
	mustSet(t, w, policies(1, dir, self(w)))
	h := w.Handler()
	rng := rand.New(rand.NewPCG(14, 14))
	readAll := func(round int) {
		for name, content := range want {
			resp, body := do(t, h, "GET", "/api/v1/data/m/"+name, nil, nil)
			if resp.StatusCode != 200 || !bytes.Equal(body, content) {
				t.Fatalf("round %d, %s: status %d, %d bytes, wrong bytes served", round, name, resp.StatusCode, len(body))
			}
			off := rng.IntN(len(content))
			end := off + rng.IntN(len(content)-off)
			resp, body = do(t, h, "GET", "/api/v1/data/m/"+name, nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off, end)})
			if resp.StatusCode != 206 || !bytes.Equal(body, content[off:end+1]) {
				t.Fatalf("round %d, %s bytes %d-%d: status %d, wrong bytes served", round, name, off, end, resp.StatusCode)
			}
		}
	}
	readAll(0)
	store := filepath.Join(cfg.DataDir, "cache", "store")
	for round := 1; round <= 10; round++ {
		flipped := 0
		filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Base(filepath.Dir(p)) == "journal" {
				return nil
			}
			raw, err := os.ReadFile(p)
			if err != nil || len(raw) == 0 {
				return nil
			}
			raw[rng.IntN(len(raw))] ^= 1 << rng.IntN(8)
			flipped++
			return os.WriteFile(p, raw, 0o600)
		})
		if flipped == 0 {
			t.Fatal("no cached files on disk to flip")
		}
		readAll(round)
	}
	if w.cache.Stats().Evictions["corrupt"] == 0 {
		t.Fatal("bytes were flipped in every cached file and nothing was found corrupt")
	}
}
