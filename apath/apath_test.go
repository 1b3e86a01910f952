package apath

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/a", true},
		{"/a/b.parquet", true},
		{"", false},
		{"a/b", false},
		{"/a/", false},
		{"/a//b", false},
		{"/a/./b", false},
		{"/a/../b", false},
		{"/..", false},
		{"/a\x00b", false},
	}
	for _, tt := range tests {
		err := Validate(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tt.path, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%q) error %v does not wrap ErrInvalid", tt.path, err)
		}
	}
}

func TestContainsAndRel(t *testing.T) {
	tests := []struct {
		parent, child string
		contains      bool
		rel           string
	}{
		{"/", "/", true, ""},
		{"/", "/a/b", true, "a/b"},
		{"/a", "/a", true, ""},
		{"/a", "/a/b", true, "b"},
		{"/a", "/ab", false, ""},
		{"/a/b", "/a", false, ""},
		{"/a", "/b/a", false, ""},
	}
	for _, tt := range tests {
		if got := Contains(tt.parent, tt.child); got != tt.contains {
			t.Errorf("Contains(%q, %q) = %v, want %v", tt.parent, tt.child, got, tt.contains)
		}
		rel, ok := Rel(tt.parent, tt.child)
		if ok != tt.contains || rel != tt.rel {
			t.Errorf("Rel(%q, %q) = %q, %v; want %q, %v", tt.parent, tt.child, rel, ok, tt.rel, tt.contains)
		}
		if ok && Join(tt.parent, rel) != tt.child {
			t.Errorf("Join(%q, %q) = %q, want %q", tt.parent, rel, Join(tt.parent, rel), tt.child)
		}
	}
}

func TestParseURI(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means an error is expected
	}{
		{"file:///srv/data", "file:///srv/data"},
		{"file:///srv/data/", "file:///srv/data"},
		{"FILE:///srv", "file:///srv"},
		{"s3://bucket", "s3://bucket/"},
		{"s3://bucket/", "s3://bucket/"},
		{"s3://bucket/prefix/x", "s3://bucket/prefix/x"},
		{"", ""},
		{"/srv/data", ""},
		{"hdfs://nn/x", ""},
		{"file://host/srv", ""},
		{"s3:///prefix", ""},
		{"s3://b/a/../c", ""},
		{"s3://key:secret@b/c", ""},
		{"s3://b/c?x=1", ""},
		{"file:///a//b", ""},
	}
	for _, tt := range tests {
		u, err := ParseURI(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseURI(%q) = %v, want an error", tt.in, u)
			}
			continue
		}
		if err != nil || u.String() != tt.want {
			t.Errorf("ParseURI(%q) = %v, %v; want %q", tt.in, u, err, tt.want)
		}
	}
}

func TestURIContains(t *testing.T) {
	a, _ := ParseURI("s3://b/data")
	b, _ := ParseURI("s3://b/data/x")
	c, _ := ParseURI("s3://other/data/x")
	if !a.Contains(b) || b.Contains(a) || a.Contains(c) {
		t.Fatalf("URI.Contains is wrong: %v %v %v", a.Contains(b), b.Contains(a), a.Contains(c))
	}
}

func FuzzValidateAndRel(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "a", "/a/../b", "//", "/a/"} {
		f.Add(s, "/a")
	}
	f.Fuzz(func(t *testing.T, child, parent string) {
		if Validate(child) != nil || Validate(parent) != nil {
			return
		}
		rel, ok := Rel(parent, child)
		if ok && Join(parent, rel) != child {
			t.Fatalf("Join(%q, Rel) = %q, want %q", parent, Join(parent, rel), child)
		}
		if ok != Contains(parent, child) {
			t.Fatalf("Rel and Contains disagree for %q in %q", child, parent)
		}
	})
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"file:///a", "s3://b/p", "s3://b", "x://y", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		again, err := ParseURI(u.String())
		if err != nil || again != u {
			t.Fatalf("ParseURI(%q) = %v is not stable: %v, %v", s, u, again, err)
		}
	})
}
