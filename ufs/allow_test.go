package ufs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/alluvium/alluvium/policy"
)

func TestAllowlist(t *testing.T) {
	root := t.TempDir()
	allowed := filepath.Join(root, "data")
	outside := filepath.Join(root, "secret")
	for _, d := range []string{filepath.Join(allowed, "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(allowed, "link")); err != nil {
		t.Fatal(err)
	}
	a, err := ParseAllowlist([]string{allowed, "s3://models/prod", "https://minio.local:9000/lake", "http://10.0.0.5:9000/raw/in"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		uri  string
		opts map[string]string
		ok   bool
	}{
		{"file://" + allowed, nil, true},
		{"file://" + allowed + "/sub", nil, true},
		{"file://" + allowed + "2", nil, false}, // a sibling sharing the prefix
		{"file://" + outside, nil, false},
		{"file://" + allowed + "/link", nil, false}, // a symbolic link out of the root
		{"file:///etc", nil, false},
		{"s3://models/prod", nil, true},
		{"s3://models/prod/v2", nil, true},
		{"s3://models/production", nil, false},
		{"s3://models", nil, false},
		{"s3://models/prod", map[string]string{OptEndpoint: "https://evil.example:443"}, false},
		{"s3://lake/any/thing", map[string]string{OptEndpoint: "https://minio.local:9000"}, true},
		{"s3://lake", map[string]string{OptEndpoint: "minio.local:9000"}, true},
		{"s3://lake", map[string]string{OptEndpoint: "minio.local:9001"}, false},
		{"s3://raw/in/x", map[string]string{OptEndpoint: "http://10.0.0.5:9000"}, true},
		{"s3://raw/out", map[string]string{OptEndpoint: "http://10.0.0.5:9000"}, false},
		{"s3://lake", nil, false}, // AWS, not the named endpoint
	} {
		err := a.Check(c.uri, c.opts)
		if (err == nil) != c.ok {
			t.Errorf("Check(%s, %v) = %v, want ok=%v", c.uri, c.opts, err, c.ok)
		}
		if err != nil && (!errors.Is(err, ErrNotAllowed) || !errors.Is(err, policy.ErrForbidden)) {
			t.Errorf("Check(%s): %v does not wrap ErrNotAllowed and policy.ErrForbidden", c.uri, err)
		}
	}
	if err := (*Allowlist)(nil).Check("file:///etc", nil); err != nil {
		t.Errorf("a nil allowlist refused: %v", err)
	}
	for _, bad := range []string{"relative/dir", "ftp://x/y", "https://host", "s3://"} {
		if _, err := ParseAllowlist([]string{bad}); err == nil {
			t.Errorf("ParseAllowlist(%q) accepted it", bad)
		}
	}
	if a, err := ParseAllowlist([]string{" ", ""}); a != nil || err != nil {
		t.Errorf("no entries: %v, %v; want a nil allowlist", a, err)
	}
}

func TestCheckedPoolRefusesAtOpen(t *testing.T) {
	dir := t.TempDir()
	a, err := ParseAllowlist([]string{filepath.Join(dir, "ok")})
	if err != nil {
		t.Fatal(err)
	}
	p := NewCheckedPool(a)
	defer p.Close()
	if _, err := p.Get(policy.Mount{Path: "/x", UFS: "file://" + dir}); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("Get of a mount outside the allowlist: %v", err)
	}
}
