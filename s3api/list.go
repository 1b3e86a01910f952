package s3api

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/ufs"
)

const (
	// MaxKeys is the most keys one listing answer holds (S3's limit).
	MaxKeys = 1000
	// ufsPage is the most files read from the UFS listing at once.
	ufsPage = 1000
	// maxRune sorts after every other character: "p" + maxRune is past
	// every key that starts with "p" (a common prefix is skipped with it).
	maxRune    = "\U0010FFFF"
	timeFormat = "2006-01-02T15:04:05.000Z"
)

// query is a listing request, in keys of the bucket.
type query struct {
	bucket, prefix, delimiter string
	after                     string // keys sorting at or before it are skipped
	max                       int
}

// page is a listing's answer.
type page struct {
	files     []ufs.FileInfo // Path is the key
	prefixes  []string
	truncated bool
	next      string // the cursor to continue after (a key, or a prefix + maxRune)
	last      string // the last key or common prefix answered (v1's NextMarker)
}

// files walks the UFS listings of the mounts a listing covers, in key
// order, one UFS page at a time.
type files struct {
	b      Backend
	dirs   []string // Alluxio directories to list, in key order
	cursor string   // an Alluxio path: files sorting at or before it are done
	limit  int
	buf    []ufs.FileInfo
	more   bool // the current dir has pages after buf
}

// newFiles lists the Alluxio directory dir of the bucket's mounts from
// cursor.
func newFiles(b Backend, mounts []string, dir, cursor string, limit int) *files {
	f := &files{b: b, cursor: cursor, limit: limit}
	for _, m := range mounts {
		switch {
		case apath.Contains(dir, m):
			f.dirs = append(f.dirs, m)
		case apath.Contains(m, dir):
			f.dirs = append(f.dirs, dir)
		}
	}
	// Key order: a directory's files sort as its path plus "/".
	slices.SortFunc(f.dirs, func(a, b string) int { return strings.Compare(a+"/", b+"/") })
	return f
}

// next returns the next file, or false at the end.
func (f *files) next(ctx context.Context) (ufs.FileInfo, bool, error) {
	for len(f.buf) == 0 {
		if !f.more {
			if len(f.dirs) == 0 {
				return ufs.FileInfo{}, false, nil
			}
			f.more = true
		}
		got, next, err := f.b.ListFiles(ctx, f.dirs[0], f.cursor, f.limit)
		if errors.Is(err, ufs.ErrNotFound) || errors.Is(err, ufs.ErrInvalid) || errors.Is(err, ufs.ErrEscape) {
			got, next, err = nil, "", nil // nothing there, or nothing a key could name
		}
		if err != nil {
			return ufs.FileInfo{}, false, err
		}
		f.buf = got
		if next == "" {
			f.more = false
			f.dirs = f.dirs[1:]
		}
	}
	fi := f.buf[0]
	f.buf = f.buf[1:]
	f.cursor = fi.Path
	return fi, true, nil
}

// skip moves past every path sorting at or before cursor.
func (f *files) skip(cursor string) {
	if cursor <= f.cursor {
		return
	}
	f.cursor = cursor
	for len(f.buf) > 0 && f.buf[0].Path <= cursor {
		f.buf = f.buf[1:]
	}
}

// before returns a string that sorts just before s: every valid key between
// it and s starts with it, so starting a listing there reads nothing that
// sorts before s. It is s itself minus one byte when no such string is
// valid UTF-8 (the listing then filters what sorts before s).
func before(s string) string {
	if s == "" {
		return ""
	}
	if c := s[len(s)-1]; c > 0 && c < utf8.RuneSelf {
		return s[:len(s)-1] + string(c-1) + maxRune
	}
	return s[:len(s)-1]
}

// list answers a listing: keys of bucket with prefix after q.after, the
// keys below a delimiter after the prefix rolled up into common prefixes.
func (s *Server) list(ctx context.Context, q query) (page, error) {
	root := "/" + q.bucket
	dir := root
	if i := strings.LastIndexByte(q.prefix, '/'); i > 0 {
		dir = root + "/" + q.prefix[:i]
	}
	var out page
	if apath.Validate(dir) != nil || q.max == 0 {
		return out, nil // no key has such a prefix
	}
	cursor := root + "/" + before(q.prefix)
	if q.after != "" && q.after >= q.prefix {
		cursor = root + "/" + q.after
	}
	limit := ufsPage
	if q.delimiter == "" {
		limit = min(q.max+1, ufsPage)
	}
	it := newFiles(s.cfg.Backend, mountsOf(s.cfg.Backend.MountPoints(), q.bucket), dir, cursor, limit)
	n := 0
	for {
		fi, ok, err := it.next(ctx)
		if err != nil || !ok {
			return out, err
		}
		key := strings.TrimPrefix(fi.Path, root+"/")
		if !strings.HasPrefix(key, q.prefix) {
			if key > q.prefix {
				return out, nil // sorted: no later key has the prefix
			}
			continue
		}
		if key <= q.after {
			continue
		}
		item, common := key, false
		if q.delimiter != "" {
			if i := strings.Index(key[len(q.prefix):], q.delimiter); i >= 0 {
				item, common = key[:len(q.prefix)+i+len(q.delimiter)], true
			}
		}
		if common && len(out.prefixes) > 0 && out.prefixes[len(out.prefixes)-1] == item {
			continue
		}
		if n == q.max {
			out.truncated = true
			return out, nil
		}
		n++
		out.last, out.next = item, item
		if common {
			out.prefixes = append(out.prefixes, item)
			out.next = item + maxRune
			it.skip(root + "/" + out.next)
			continue
		}
		fi.Path = key
		out.files = append(out.files, fi)
	}
}

// listParams reads the parameters both listing versions share.
func listParams(r *http.Request, bucket string) (query, *Error) {
	v := r.URL.Query()
	q := query{bucket: bucket, prefix: v.Get("prefix"), delimiter: v.Get("delimiter"), max: MaxKeys}
	if s := v.Get("max-keys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, errorf("InvalidArgument", "max-keys must be a non-negative integer")
		}
		q.max = min(n, MaxKeys)
	}
	if et := v.Get("encoding-type"); et != "" && et != "url" {
		return q, errorf("InvalidArgument", "invalid encoding-type: only url is supported")
	}
	return q, nil
}

type contentXML struct {
	Key          string    `xml:"Key"`
	LastModified string    `xml:"LastModified"`
	ETag         string    `xml:"ETag"`
	Size         int64     `xml:"Size"`
	Owner        *ownerXML `xml:"Owner,omitempty"`
	StorageClass string    `xml:"StorageClass"`
}

type prefixXML struct {
	Prefix string `xml:"Prefix"`
}

type listV2Result struct {
	XMLName               xml.Name     `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string       `xml:"Name"`
	Prefix                string       `xml:"Prefix"`
	Delimiter             string       `xml:"Delimiter,omitempty"`
	MaxKeys               int          `xml:"MaxKeys"`
	KeyCount              int          `xml:"KeyCount"`
	IsTruncated           bool         `xml:"IsTruncated"`
	ContinuationToken     string       `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string       `xml:"NextContinuationToken,omitempty"`
	StartAfter            string       `xml:"StartAfter,omitempty"`
	EncodingType          string       `xml:"EncodingType,omitempty"`
	Contents              []contentXML `xml:"Contents"`
	CommonPrefixes        []prefixXML  `xml:"CommonPrefixes"`
}

type listV1Result struct {
	XMLName        xml.Name     `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name           string       `xml:"Name"`
	Prefix         string       `xml:"Prefix"`
	Marker         string       `xml:"Marker"`
	NextMarker     string       `xml:"NextMarker,omitempty"`
	MaxKeys        int          `xml:"MaxKeys"`
	Delimiter      string       `xml:"Delimiter,omitempty"`
	IsTruncated    bool         `xml:"IsTruncated"`
	EncodingType   string       `xml:"EncodingType,omitempty"`
	Contents       []contentXML `xml:"Contents"`
	CommonPrefixes []prefixXML  `xml:"CommonPrefixes"`
}

// encoder encodes names as encoding-type=url asks (spaces as "+", as
// botocore and minio-go decode them; "/" kept).
func encoder(r *http.Request) func(string) string {
	if r.URL.Query().Get("encoding-type") != "url" {
		return func(s string) string { return s }
	}
	return func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/") }
}

func (s *Server) listObjects(rw http.ResponseWriter, r *http.Request, req request) {
	q, e := listParams(r, req.bucket)
	if e == nil && !s.checkBucket(rw, r, req.bucket) {
		return
	}
	v := r.URL.Query()
	v2 := req.op == "ListObjectsV2"
	if e == nil {
		q.after, e = startOf(v, v2, q.delimiter)
	}
	if e != nil {
		writeError(rw, r, e)
		return
	}
	pg, err := s.list(r.Context(), q)
	if err != nil {
		writeError(rw, r, ufsError(err))
		return
	}
	enc := encoder(r)
	contents := make([]contentXML, 0, len(pg.files))
	withOwner := !v2 || v.Get("fetch-owner") == "true"
	for _, f := range pg.files {
		c := contentXML{Key: enc(f.Path), LastModified: f.ModTime.UTC().Format(timeFormat), ETag: etagOf(f), Size: f.Size, StorageClass: "STANDARD"}
		if withOwner {
			c.Owner = &owner
		}
		contents = append(contents, c)
	}
	prefixes := make([]prefixXML, 0, len(pg.prefixes))
	for _, p := range pg.prefixes {
		prefixes = append(prefixes, prefixXML{Prefix: enc(p)})
	}
	et := v.Get("encoding-type")
	if !v2 {
		out := listV1Result{Name: req.bucket, Prefix: enc(q.prefix), Marker: enc(v.Get("marker")), MaxKeys: q.max,
			Delimiter: enc(q.delimiter), IsTruncated: pg.truncated, EncodingType: et, Contents: contents, CommonPrefixes: prefixes}
		if pg.truncated && q.delimiter != "" {
			out.NextMarker = enc(pg.last)
		}
		writeXML(rw, r, out)
		return
	}
	out := listV2Result{Name: req.bucket, Prefix: enc(q.prefix), Delimiter: enc(q.delimiter), MaxKeys: q.max,
		KeyCount: len(contents) + len(prefixes), IsTruncated: pg.truncated, ContinuationToken: v.Get("continuation-token"),
		StartAfter: enc(v.Get("start-after")), EncodingType: et, Contents: contents, CommonPrefixes: prefixes}
	if pg.truncated {
		out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(pg.next))
	}
	writeXML(rw, r, out)
}

// startOf returns the cursor a listing starts after: v2's continuation
// token (or start-after), v1's marker. A marker that is a common prefix
// skips the keys it rolled up.
func startOf(v url.Values, v2 bool, delimiter string) (string, *Error) {
	if !v2 {
		m := v.Get("marker")
		if delimiter != "" && strings.HasSuffix(m, delimiter) {
			m += maxRune
		}
		return m, nil
	}
	if t := v.Get("continuation-token"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || !utf8.Valid(b) {
			return "", errorf("InvalidArgument", "the continuation token provided is incorrect")
		}
		return string(b), nil
	}
	return v.Get("start-after"), nil
}

// etagOf is a file's ETag as S3 shows it (quoted), the same as HeadObject.
func etagOf(f ufs.FileInfo) string {
	return strconv.Quote(f.ETag)
}

// ufsError maps a backend's error to S3's.
func ufsError(err error) *Error {
	switch {
	case errors.Is(err, ufs.ErrNotFound):
		return errorf("NoSuchKey", "the specified key does not exist")
	case errors.Is(err, ufs.ErrInvalid), errors.Is(err, ufs.ErrEscape):
		return errorf("InvalidArgument", "the key has an empty, \".\" or \"..\" path element, or a byte the under file system refuses: it names no file here")
	case errors.Is(err, ufs.ErrPermission):
		return errorf("AccessDenied", "the under file system refused access")
	case errors.Is(err, context.Canceled):
		return errorf("InternalError", "the request was cancelled")
	}
	return errorf("ServiceUnavailable", err.Error())
}
