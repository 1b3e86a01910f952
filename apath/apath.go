package apath

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// MaxLen bounds a path or URI; longer names are refused rather than stored.
const MaxLen = 4096

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("invalid path")

// Validate reports whether p is an absolute, clean Alluxio path: it starts with
// "/", has no empty, "." or ".." elements and no trailing slash (except "/"
// itself), and contains no NUL byte. Unclean paths are refused rather than
// cleaned so that a user never gets a policy on a path other than the one typed.
func Validate(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: path is empty", ErrInvalid)
	case len(p) > MaxLen:
		return fmt.Errorf("%w: path is longer than %d bytes", ErrInvalid, MaxLen)
	case p[0] != '/':
		return fmt.Errorf("%w: path %q is not absolute (it must start with /)", ErrInvalid, p)
	case strings.IndexByte(p, 0) >= 0:
		return fmt.Errorf("%w: path %q contains a NUL byte", ErrInvalid, p)
	case path.Clean(p) != p:
		return fmt.Errorf("%w: path %q is not clean (did you mean %q?)", ErrInvalid, p, path.Clean(p))
	}
	return nil
}

// Contains reports whether child is parent or lies below it. Both must be
// valid paths; "/a" does not contain "/ab".
func Contains(parent, child string) bool {
	if parent == child || parent == "/" {
		return true
	}
	return strings.HasPrefix(child, parent) && len(child) > len(parent) && child[len(parent)] == '/'
}

// Rel returns child relative to parent, without a leading slash ("" when they
// are equal). It reports false when child is not inside parent.
func Rel(parent, child string) (string, bool) {
	if !Contains(parent, child) {
		return "", false
	}
	if parent == child {
		return "", true
	}
	if parent == "/" {
		return child[1:], true
	}
	return child[len(parent)+1:], true
}

// Join appends a relative, slash-separated name to a valid path.
func Join(parent, rel string) string {
	if rel == "" {
		return parent
	}
	return path.Join(parent, rel)
}

// URI is a parsed, normalised UFS location.
type URI struct {
	Scheme string // "file" or "s3", lower case
	Host   string // the bucket for s3; empty for file
	Path   string // clean, absolute; "/" for a whole bucket
}

// String formats the URI in its canonical form, e.g. "s3://bucket/prefix".
func (u URI) String() string {
	if u.Path == "/" {
		return u.Scheme + "://" + u.Host + "/"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// Contains reports whether o is u or lies below it.
func (u URI) Contains(o URI) bool {
	return u.Scheme == o.Scheme && u.Host == o.Host && Contains(u.Path, o.Path)
}

// Join appends a relative name to the URI's path.
func (u URI) Join(rel string) URI {
	u.Path = Join(u.Path, rel)
	return u
}

// Schemes lists the UFS schemes Alluvium can mount.
var schemes = map[string]bool{"file": true, "s3": true}

// ParseURI parses and normalises a UFS URI. It accepts "file:///abs/dir" and
// "s3://bucket[/prefix]"; a trailing slash is dropped, but a path with "." or
// ".." elements is refused, as is any query, fragment or user information
// (credentials belong in mount options, where they are kept secret).
func ParseURI(s string) (URI, error) {
	if s == "" {
		return URI{}, fmt.Errorf("%w: ufs URI is empty", ErrInvalid)
	}
	if len(s) > MaxLen {
		return URI{}, fmt.Errorf("%w: ufs URI is longer than %d bytes", ErrInvalid, MaxLen)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return URI{}, fmt.Errorf("%w: ufs URI contains a NUL byte", ErrInvalid)
	}
	u, err := url.Parse(s)
	if err != nil {
		return URI{}, fmt.Errorf("%w: ufs URI %q: %v", ErrInvalid, s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" {
		return URI{}, fmt.Errorf("%w: ufs URI %q has no scheme (use file:///dir or s3://bucket/prefix)", ErrInvalid, s)
	}
	if !schemes[scheme] {
		return URI{}, fmt.Errorf("%w: ufs scheme %q is not supported (use file or s3)", ErrInvalid, u.Scheme)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return URI{}, fmt.Errorf("%w: ufs URI %q must not carry user information, a query or a fragment", ErrInvalid, s)
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	if err := Validate(p); err != nil {
		return URI{}, fmt.Errorf("%w: ufs URI %q has an unclean path", ErrInvalid, s)
	}
	out := URI{Scheme: scheme, Host: u.Host, Path: p}
	switch scheme {
	case "file":
		if u.Host != "" {
			return URI{}, fmt.Errorf("%w: file URI %q must have an empty host (file:///abs/dir)", ErrInvalid, s)
		}
	case "s3":
		if u.Host == "" {
			return URI{}, fmt.Errorf("%w: s3 URI %q names no bucket (s3://bucket/prefix)", ErrInvalid, s)
		}
	}
	return out, nil
}
