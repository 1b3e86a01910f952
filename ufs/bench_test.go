package ufs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const (
	benchFileSize = 64 << 20
	benchReadSize = 1 << 20
)

func benchFile(b *testing.B) (dir string) {
	b.Helper()
	dir = b.TempDir()
	data := bytes.Repeat([]byte("alluvium"), benchFileSize/8)
	if err := os.WriteFile(filepath.Join(dir, "big"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkLocalRangedRead reads a 64 MiB file in 1 MiB ranges, each through
// UFS.Open (an open through os.Root, a stat, a pread, a close): the cost of
// the worker's read-through of one page.
func BenchmarkLocalRangedRead(b *testing.B) {
	dir := benchFile(b)
	fs := openLocal(b, dir)
	buf := make([]byte, benchReadSize)
	ctx := context.Background()
	b.SetBytes(benchFileSize)
	for b.Loop() {
		for off := int64(0); off < benchFileSize; off += benchReadSize {
			r, err := fs.Open(ctx, "big", off, benchReadSize)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(r, buf); err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
	}
}

// BenchmarkOSFileReadAt is the floor: the same reads with ReadAt on one
// already open *os.File.
func BenchmarkOSFileReadAt(b *testing.B) {
	dir := benchFile(b)
	f, err := os.Open(filepath.Join(dir, "big"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, benchReadSize)
	b.SetBytes(benchFileSize)
	for b.Loop() {
		for off := int64(0); off < benchFileSize; off += benchReadSize {
			if _, err := f.ReadAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkS3List1000 lists 1,000 objects from the in-process fake S3, in
// one page of 1,000 and in pages of 100.
func BenchmarkS3List1000(b *testing.B) {
	f := newFakeS3(b, "data")
	for i := range 1000 {
		f.put(b, "data", fmt.Sprintf("p/d%02d/f%04d", i%10, i), []byte("x"))
	}
	fs := f.open(b, "s3://data/p")
	for _, page := range []int{1000, 100} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			for b.Loop() {
				if n := len(listAll(b, fs, "", "", page)); n != 1000 {
					b.Fatalf("listed %d", n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/file")
		})
	}
}

// BenchmarkS3RangedRead reads a 16 MiB object in 1 MiB ranges over
// loopback HTTP from the fake S3.
func BenchmarkS3RangedRead(b *testing.B) {
	const size = 16 << 20
	f := newFakeS3(b, "data")
	f.put(b, "data", "p/big", bytes.Repeat([]byte("alluvium"), size/8))
	fs := f.open(b, "s3://data/p")
	buf := make([]byte, benchReadSize)
	ctx := context.Background()
	b.SetBytes(size)
	for b.Loop() {
		for off := int64(0); off < size; off += benchReadSize {
			r, err := fs.Open(ctx, "big", off, benchReadSize)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(r, buf); err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
	}
}

// BenchmarkLocalList lists 10,000 files (100 directories of 100) in pages
// of 1,000, and 10,000 files in one flat directory in pages of 1,000: every
// page re-reads the directories on the cursor's path, which a flat
// directory makes the dominant cost.
func BenchmarkLocalList(b *testing.B) {
	b.Run("baseline-filepath.WalkDir-tree", func(b *testing.B) {
		dir := b.TempDir()
		files := map[string]string{}
		for i := range 10000 {
			files[fmt.Sprintf("d%03d/f%04d", i/100, i)] = ""
		}
		writeTree(b, dir, files)
		for b.Loop() {
			n := 0
			filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if _, err := d.Info(); err == nil {
						n++
					}
				}
				return nil
			})
			if n != 10000 {
				b.Fatalf("walked %d", n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/file")
	})
	for _, shape := range []struct {
		name string
		path func(i int) string
	}{
		{"tree-100x100", func(i int) string { return fmt.Sprintf("d%03d/f%04d", i/100, i) }},
		{"flat-10000", func(i int) string { return fmt.Sprintf("f%05d", i) }},
	} {
		b.Run(shape.name, func(b *testing.B) {
			dir := b.TempDir()
			files := map[string]string{}
			for i := range 10000 {
				files[shape.path(i)] = ""
			}
			writeTree(b, dir, files)
			// Old directories, as in a data set: the steady state, where
			// large directories are served from the cache.
			old := time.Now().Add(-time.Hour)
			filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					os.Chtimes(p, old, old)
				}
				return nil
			})
			fs := openLocal(b, dir)
			for b.Loop() {
				if n := len(listAll(b, fs, "", "", 1000)); n != 10000 {
					b.Fatalf("listed %d", n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/file")
		})
	}
}
