package httpapi

import (
	"strings"
	"testing"

	"github.com/alluvium/alluvium/apath"
)

// FuzzCleanLocation: cleaning a job's location is idempotent, turns an
// absolute path into a clean one, and never changes what a UFS URI that
// parses means.
func FuzzCleanLocation(f *testing.F) {
	for _, s := range []string{"/data/a", "/data//a/", "/data/./a/../b", "/", "//", "file:///srv/data/b/", "s3://bucket", "s3://bucket/",
		"s3://bucket/x/./y//z/", "s3://b/k?x=/../y", "file:///a/%2e%2e/b", "data/a", "://x", "s3:/b/x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := cleanLocation(s)
		if again := cleanLocation(c); again != c {
			t.Fatalf("cleanLocation(%q) = %q, and again %q", s, c, again)
		}
		if strings.HasPrefix(s, "/") && len(c) <= apath.MaxLen && !strings.Contains(c, "\x00") {
			if err := apath.Validate(c); err != nil {
				t.Fatalf("cleanLocation(%q) = %q: %v", s, c, err)
			}
		}
		if u, err := apath.ParseURI(s); err == nil {
			v, err := apath.ParseURI(c)
			if err != nil || v != u {
				t.Fatalf("ParseURI(%q) = %v, but of its cleaned %q = %v, %v", s, u, c, v, err)
			}
		}
	})
}
