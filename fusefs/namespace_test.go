package fusefs

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
)

func TestPlace(t *testing.T) {
	mounts := []string{"/a/b", "/c"}
	for _, tc := range []struct {
		p                         string
		in, mountPoint, isVirtual bool
	}{
		{"/", false, false, true},
		{"/a", false, false, true},
		{"/a/b", true, true, false},
		{"/a/b/x/y", true, false, false},
		{"/a/bx", false, false, false},
		{"/c", true, true, false},
		{"/c/d", true, false, false},
		{"/d", false, false, false},
	} {
		in, mp, v := place(tc.p, mounts)
		if in != tc.in || mp != tc.mountPoint || v != tc.isVirtual {
			t.Errorf("place(%q) = %v %v %v, want %v %v %v", tc.p, in, mp, v, tc.in, tc.mountPoint, tc.isVirtual)
		}
	}
}

func TestVirtualChildrenAndMountOf(t *testing.T) {
	mounts := []string{"/a/b", "/a/c/d", "/e", "/f"}
	for _, tc := range []struct {
		p    string
		want []string
	}{
		{"/", []string{"a", "e", "f"}},
		{"/a", []string{"b", "c"}},
		{"/a/c", []string{"d"}},
		{"/a/b", nil},
		{"/x", nil},
	} {
		if got := virtualChildren(tc.p, mounts); !slices.Equal(got, tc.want) {
			t.Errorf("virtualChildren(%q) = %v, want %v", tc.p, got, tc.want)
		}
	}
	for p, want := range map[string]string{"/a/b/x": "/a/b", "/a/b": "/a/b", "/a": "", "/e/1/2": "/e", "/g": ""} {
		if got := mountOf(p, mounts); got != want {
			t.Errorf("mountOf(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	mtime := "2026-01-02T03:04:05Z"
	for _, tc := range []struct {
		name  string
		first []api.ListedFile
		want  entry
	}{
		{"nothing", nil, entry{missing: true}},
		{"a file", []api.ListedFile{{Path: "/d/f", Size: 7, ModTime: mtime}}, entry{size: 7, mtime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
		{"a directory", []api.ListedFile{{Path: "/d/f/x"}}, entry{dir: true}},
		{"a name that only starts the same", []api.ListedFile{{Path: "/d/f.txt"}}, entry{missing: true}},
	} {
		if got := classify("/d/f", tc.first); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestChildOf(t *testing.T) {
	for _, tc := range []struct {
		prefix, p   string
		name        string
		isDir, isOK bool
	}{
		{"/d/", "/d/f", "f", false, true},
		{"/d/", "/d/s/x/y", "s", true, true},
		{"/d/", "/e/f", "", false, false},
		{"/d/", "/d/", "", false, false},
		{"/", "/x", "x", false, true},
	} {
		name, isDir, ok := childOf(tc.prefix, tc.p)
		if name != tc.name || isDir != tc.isDir || ok != tc.isOK {
			t.Errorf("childOf(%q, %q) = %q %v %v", tc.prefix, tc.p, name, isDir, ok)
		}
	}
}

func TestNextPageSize(t *testing.T) {
	for _, tc := range []struct{ count, added, got, want int }{
		{1000, 1000, 1000, 2000}, // all names of this directory: ask for more
		{4000, 4000, 4000, maxListPage},
		{1000, 10, 1000, 250}, // mostly inside subdirectories: fewer
		{20, 1, 20, minListPage},
		{1000, 500, 1000, 1000},
		{1000, 0, 0, 1000},
	} {
		if got := nextPageSize(tc.count, tc.added, tc.got); got != tc.want {
			t.Errorf("nextPageSize(%d, %d, %d) = %d, want %d", tc.count, tc.added, tc.got, got, tc.want)
		}
	}
}

func TestErrno(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want syscall.Errno
	}{
		{nil, 0},
		{&client.Error{StatusCode: http.StatusNotFound}, syscall.ENOENT},
		{fmt.Errorf("wrapped: %w", &client.Error{StatusCode: http.StatusForbidden}), syscall.EACCES},
		{&client.Error{StatusCode: http.StatusBadRequest}, syscall.EINVAL},
		{client.ErrUnavailable, syscall.EIO},
		{errors.New("other"), syscall.EIO},
	} {
		if got := errno(tc.err); got != tc.want {
			t.Errorf("errno(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestMetaCacheTTLAndBound(t *testing.T) {
	c := newMetaCache(time.Minute, 8)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.put("/a", entry{size: 1})
	if e, ok := c.get("/a"); !ok || e.size != 1 {
		t.Fatalf("fresh: %+v %v", e, ok)
	}
	now = now.Add(time.Minute)
	if _, ok := c.get("/a"); ok {
		t.Fatal("an entry outlived its TTL")
	}
	for i := range 100 {
		c.put(fmt.Sprint(i), entry{})
	}
	if c.len() > 8 {
		t.Fatalf("%d entries, bound 8", c.len())
	}
}

func TestConfigValidate(t *testing.T) {
	cl, err := client.New([]string{"http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"default", func(*Config) {}, true},
		{"no client", func(c *Config) { c.Client = nil }, false},
		{"negative ttl", func(c *Config) { c.MetadataTTL = -1 }, false},
		{"readahead off", func(c *Config) { c.Readahead = 0 }, true},
		{"readahead too large", func(c *Config) { c.Readahead = 2 << 30 }, false},
		{"page too large", func(c *Config) { c.ListPage = 10001 }, false},
		{"no logger", func(c *Config) { c.Logger = nil }, false},
	} {
		cfg := DefaultConfig()
		cfg.Client = cl
		tc.edit(&cfg)
		if err := cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{`/mnt/a`: "/mnt/a", `/mnt/a\040b`: "/mnt/a b", `/x\134y`: `/x\y`, `/t\04`: `/t\04`} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}
