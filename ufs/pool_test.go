package ufs

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/alluvium/alluvium/policy"
)

func TestLocate(t *testing.T) {
	mounts := []policy.Mount{
		{Path: "/s3", UFS: "s3://bucket/prefix"},
		{Path: "/local", UFS: "file:///srv/data/"}, // not normalised: Locate normalises
		{Path: "/whole", UFS: "s3://other"},
		{Path: "/deep/er", UFS: "s3://third/x"},
		{Path: "/deep", UFS: "s3://fourth"}, // nested (an invalid table): the longest wins
	}
	tests := []struct {
		in        string
		path, uri string
		rel       string
		err       error
	}{
		{"/s3", "/s3", "s3://bucket/prefix", "", nil},
		{"/s3/a/b.parquet", "/s3/a/b.parquet", "s3://bucket/prefix/a/b.parquet", "a/b.parquet", nil},
		{"/local/x", "/local/x", "file:///srv/data/x", "x", nil},
		{"/whole/k", "/whole/k", "s3://other/k", "k", nil},
		{"/deep/er/f", "/deep/er/f", "s3://third/x/f", "f", nil},
		{"/deep/f", "/deep/f", "s3://fourth/f", "f", nil},
		{"s3://bucket/prefix/a/b.parquet", "/s3/a/b.parquet", "s3://bucket/prefix/a/b.parquet", "a/b.parquet", nil},
		{"s3://bucket/prefix", "/s3", "s3://bucket/prefix", "", nil},
		{"s3://bucket/prefix/", "/s3", "s3://bucket/prefix", "", nil},
		{"file:///srv/data/x/y", "/local/x/y", "file:///srv/data/x/y", "x/y", nil},
		{"s3://other/k", "/whole/k", "s3://other/k", "k", nil},
		{"s3://third/x/f", "/deep/er/f", "s3://third/x/f", "f", nil},
		{"s3://fourth/x/f", "/deep/x/f", "s3://fourth/x/f", "x/f", nil},
		{"/s3x", "", "", "", ErrNoMount},
		{"/", "", "", "", ErrNoMount},
		{"s3://bucket/prefixed", "", "", "", ErrNoMount},
		{"s3://bucket", "", "", "", ErrNoMount},
		{"file:///srv", "", "", "", ErrNoMount},
		{"/s3/../etc", "", "", "", ErrInvalid},
		{"/s3/", "", "", "", ErrInvalid},
		{"s3://bucket/prefix/../x", "", "", "", ErrInvalid},
		{"relative", "", "", "", ErrInvalid},
		{"", "", "", "", ErrInvalid},
	}
	for _, tt := range tests {
		loc, err := Locate(mounts, tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("Locate(%q) = %+v, %v; want %v", tt.in, loc, err, tt.err)
			}
			continue
		}
		if err != nil || loc.Path != tt.path || loc.URI != tt.uri || loc.Rel != tt.rel {
			t.Errorf("Locate(%q) = %+v, %v; want %s %s %q", tt.in, loc, err, tt.path, tt.uri, tt.rel)
			continue
		}
		// Round trip: the other form maps back.
		back, err := Locate(mounts, loc.URI)
		if err != nil || back.Path != loc.Path {
			t.Errorf("Locate(%q) = %+v, %v; want path %s", loc.URI, back, err, loc.Path)
		}
	}
	if !errors.Is(ErrNoMount, ErrNotFound) {
		t.Fatal("ErrNoMount must wrap ErrNotFound")
	}
}

func TestPool(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	writeTree(t, dirA, map[string]string{"f": "a"})
	writeTree(t, dirB, map[string]string{"f": "bb"})
	p := NewPool()
	defer p.Close()
	m := policy.Mount{Path: "/m", UFS: "file://" + dirA}
	a1, err := p.Get(m)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := p.Get(policy.Mount{Path: "/m", UFS: "file://" + dirA + "/"}) // same URI, other spelling
	if a1 != a2 || p.Len() != 1 {
		t.Fatal("the client is not reused")
	}
	// Other options, same URI: a new client; the old one is closed.
	a3, _ := p.Get(policy.Mount{Path: "/m", UFS: m.UFS, Options: map[string]string{"note": "x"}})
	if a3 == a1 {
		t.Fatal("changed options kept the old client")
	}
	if _, err := a1.Stat(context.Background(), "f"); !errors.Is(err, ErrClosed) {
		t.Fatalf("the replaced client is not closed: %v", err)
	}
	b, _ := p.Get(policy.Mount{Path: "/n", UFS: "file://" + dirB})
	if fi, err := b.Stat(context.Background(), "f"); err != nil || fi.Size != 2 {
		t.Fatalf("second mount: %+v, %v", fi, err)
	}
	if _, err := p.Get(policy.Mount{Path: "/bad", UFS: "file://" + filepath.Join(dirA, "missing")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing root: %v", err)
	}
	p.Sync([]policy.Mount{{Path: "/n", UFS: "file://" + dirB}})
	if p.Len() != 1 {
		t.Fatalf("Sync kept %d clients", p.Len())
	}
	if _, err := a3.Stat(context.Background(), "f"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync did not close the dropped client: %v", err)
	}
	p.Close()
	if _, err := b.Stat(context.Background(), "f"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Close did not close: %v", err)
	}
	if _, err := p.Get(m); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}

// TestPoolConcurrent races Get, Sync and reads; run with -race.
func TestPoolConcurrent(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"f": "data"})
	p := NewPool()
	defer p.Close()
	mounts := []policy.Mount{{Path: "/m", UFS: "file://" + dir}}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				fs, err := p.Get(mounts[0])
				if err != nil {
					t.Error(err)
					return
				}
				_, err = fs.Stat(context.Background(), "f")
				if err != nil && !errors.Is(err, ErrClosed) {
					t.Error(err)
					return
				}
				if (i+j)%50 == 0 {
					p.Sync(nil) // drops the client under the others' feet
				}
			}
		})
	}
	wg.Wait()
}

func TestResolver(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"team/x.bin": "local"})
	f := newFakeS3(t, "data")
	f.put(t, "data", "prefix/team/y.bin", []byte("remote"))
	mounts := []policy.Mount{
		{Path: "/local", UFS: "file://" + dir},
		{Path: "/s3", UFS: "s3://data/prefix", Options: f.options()},
	}
	r := &Resolver{Mounts: func() []policy.Mount { return mounts }, Pool: NewPool()}
	defer r.Pool.Close()
	for _, tt := range []struct{ in, want string }{
		{"/local/team/x.bin", "local"},
		{"/s3/team/y.bin", "remote"},
		{"s3://data/prefix/team/y.bin", "remote"},
	} {
		fs, loc, err := r.Resolve(tt.in)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", tt.in, err)
		}
		got, err := readRange(t, fs, loc.Rel, 0, -1)
		if err != nil || string(got) != tt.want {
			t.Fatalf("read %q via %+v: %q, %v", tt.in, loc, got, err)
		}
	}
	if p, err := r.AlluxioPath("s3://data/prefix/team/y.bin"); err != nil || p != "/s3/team/y.bin" {
		t.Fatalf("AlluxioPath = %q, %v", p, err)
	}
	if _, _, err := r.Resolve("/elsewhere/x"); !errors.Is(err, ErrNoMount) {
		t.Fatalf("Resolve outside the mounts: %v", err)
	}
	if r.Pool.Len() != 2 {
		t.Fatalf("pool holds %d clients", r.Pool.Len())
	}
}
