package ufs

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/alluvium/alluvium/apath"
)

// Allowlist is the UFS locations a node may open (--allowed-ufs): local
// roots, and S3 buckets or bucket prefixes on named endpoints. A nil
// Allowlist allows everything.
type Allowlist struct {
	specs  []string
	locals []string // clean absolute directories, symbolic links resolved
	s3     []s3Allow
}

type s3Allow struct {
	endpoint string // host[:port], as the s3 client dials it
	bucket   string
	prefix   string // "" for the whole bucket
}

// ParseAllowlist reads allowlist entries:
//
//	/srv/datasets or file:///srv/datasets   that folder and below
//	s3://bucket or s3://bucket/prefix        on AWS (s3.amazonaws.com)
//	https://minio.local:9000/bucket/prefix   on that endpoint (http:// too)
//
// No entries gives a nil Allowlist: everything is allowed.
func ParseAllowlist(specs []string) (*Allowlist, error) {
	a := &Allowlist{}
	for _, raw := range specs {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		if err := a.add(s); err != nil {
			return nil, fmt.Errorf("%w: allowed ufs %q: %v", ErrInvalid, s, err)
		}
		a.specs = append(a.specs, s)
	}
	if len(a.specs) == 0 {
		return nil, nil
	}
	return a, nil
}

func (a *Allowlist) add(s string) error {
	switch {
	case strings.HasPrefix(s, "/"), strings.HasPrefix(s, "file://"):
		dir := strings.TrimPrefix(s, "file://")
		if !filepath.IsAbs(dir) {
			return fmt.Errorf("a local root must be absolute")
		}
		a.locals = append(a.locals, realPath(dir))
	case strings.HasPrefix(s, "s3://"):
		u, err := apath.ParseURI(s)
		if err != nil {
			return err
		}
		a.s3 = append(a.s3, s3Allow{endpoint: defaultS3Endpoint, bucket: u.Host, prefix: strings.Trim(u.Path, "/")})
	case strings.HasPrefix(s, "https://"), strings.HasPrefix(s, "http://"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return fmt.Errorf("want scheme://host:port/bucket[/prefix]")
		}
		bucket, prefix, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
		if bucket == "" {
			return fmt.Errorf("name the bucket: scheme://host:port/bucket[/prefix]")
		}
		a.s3 = append(a.s3, s3Allow{endpoint: u.Host, bucket: bucket, prefix: prefix})
	default:
		return fmt.Errorf("want an absolute folder, file:///dir, s3://bucket[/prefix] or https://endpoint/bucket[/prefix]")
	}
	return nil
}

const defaultS3Endpoint = "s3.amazonaws.com"

// realPath is dir cleaned, with its symbolic links resolved when it
// exists, so that a link inside an allowed root cannot lead outside it.
func realPath(dir string) string {
	dir = filepath.Clean(dir)
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return r
	}
	return dir
}

// String lists the entries, as given.
func (a *Allowlist) String() string { return strings.Join(a.specs, ", ") }

// Check reports whether the UFS at uri, with options, may be opened: nil,
// or an error wrapping ErrNotAllowed that says why, or ErrInvalid.
func (a *Allowlist) Check(uri string, options map[string]string) error {
	if a == nil {
		return nil
	}
	u, err := apath.ParseURI(uri)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	switch u.Scheme {
	case "file":
		dir := realPath(u.Path)
		for _, root := range a.locals {
			if dir == root || strings.HasPrefix(dir, strings.TrimSuffix(root, "/")+"/") {
				return nil
			}
		}
		return fmt.Errorf("%w: %s (folder %s) is outside the allowed UFS locations (%s)", ErrNotAllowed, uri, dir, a)
	case "s3":
		cfg, err := parseS3Options(options)
		if err != nil {
			return err
		}
		prefix := strings.Trim(u.Path, "/")
		for _, e := range a.s3 {
			if e.endpoint == cfg.endpoint && e.bucket == u.Host &&
				(e.prefix == "" || prefix == e.prefix || strings.HasPrefix(prefix, e.prefix+"/")) {
				return nil
			}
		}
		return fmt.Errorf("%w: %s on endpoint %s is outside the allowed UFS locations (%s)", ErrNotAllowed, uri, cfg.endpoint, a)
	}
	return fmt.Errorf("%w: ufs scheme %q is not supported", ErrInvalid, u.Scheme)
}

// NewCheckedPool is NewPool whose clients are opened only for locations
// a allows (every location when a is nil): the check repeated where a UFS
// is opened, whatever committed the mount.
func NewCheckedPool(a *Allowlist) *Pool {
	p := NewPool()
	if a == nil {
		return p
	}
	p.open = func(uri string, options map[string]string) (UFS, error) {
		if err := a.Check(uri, options); err != nil {
			return nil, err
		}
		return Open(uri, options)
	}
	return p
}
