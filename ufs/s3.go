package ufs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Mount options of s3:// (keys of policy.Mount.Options).
const (
	// OptEndpoint is "host:port" or a URL, "https://host:port" or
	// "http://host:port", whose scheme then decides TLS. Default:
	// s3.amazonaws.com over TLS.
	OptEndpoint = "s3.endpoint"
	// OptDisableSSL "true" speaks plain HTTP to a "host:port" endpoint
	// (default "false"). It may not contradict an endpoint URL's scheme.
	OptDisableSSL = "s3.disableSSL"
	// OptRegion is the bucket's region; empty asks the store (one extra
	// request per bucket, cached).
	OptRegion = "s3.region"
	// OptAccessKeyID, OptSecretAccessKey and OptSessionToken are static
	// credentials; with none, requests are anonymous. They are never put
	// in an error or a log line.
	OptAccessKeyID     = "s3.accessKeyId"
	OptSecretAccessKey = "s3.secretAccessKey"
	OptSessionToken    = "s3.sessionToken"
	// OptPathStyle "true" addresses the bucket in the path
	// (http://host/bucket/key), as MinIO and most self-hosted stores need;
	// "false" in the host name (http://bucket.host/key). Unset: chosen by
	// the client from the endpoint.
	OptPathStyle = "s3.pathStyle"
	// OptMaxRetries bounds the attempts of one request (1 = no retry;
	// default 3), so that an unreachable store fails within seconds.
	OptMaxRetries = "s3.maxRetries"
)

var s3Options = []string{OptEndpoint, OptDisableSSL, OptRegion, OptAccessKeyID, OptSecretAccessKey,
	OptSessionToken, OptPathStyle, OptMaxRetries}

// s3MaxKeys is the most keys one ListObjectsV2 request returns.
const s3MaxKeys = 1000

// s3fs is an s3:// UFS: the keys below prefix in bucket.
type s3fs struct {
	client    *minio.Client
	transport *http.Transport
	bucket    string
	prefix    string   // "" or "dir/" (with the slash)
	secrets   []string // values scrubbed from every error message
	closed    atomic.Bool
}

// OpenS3 opens the keys below prefix (a clean absolute path, "/" for the
// whole bucket) of bucket as a UFS. Options are the Opt* keys; an unknown
// "s3." key is refused, so that a misspelt credential is not silently
// ignored. No request is made.
func OpenS3(bucket, prefix string, options map[string]string) (UFS, error) {
	cfg, err := parseS3Options(options)
	if err != nil {
		return nil, err
	}
	if bucket == "" {
		return nil, fmt.Errorf("%w: s3 ufs needs a bucket", ErrInvalid)
	}
	prefix = strings.TrimPrefix(prefix, "/")
	if err := checkPath(prefix, true); err != nil {
		return nil, fmt.Errorf("%w: s3 prefix %q is not a clean path", ErrInvalid, prefix)
	}
	if prefix != "" {
		prefix += "/"
	}
	tr, err := minio.DefaultTransport(cfg.secure)
	if err != nil {
		return nil, fmt.Errorf("s3 transport: %w", err)
	}
	var creds *credentials.Credentials
	if cfg.accessKey != "" {
		creds = credentials.NewStaticV4(cfg.accessKey, cfg.secretKey, cfg.token)
	} else {
		creds = credentials.New(&credentials.Static{}) // anonymous
	}
	client, err := minio.New(cfg.endpoint, &minio.Options{
		Creds:        creds,
		Secure:       cfg.secure,
		Region:       cfg.region,
		BucketLookup: cfg.lookup,
		Transport:    tr,
		MaxRetries:   cfg.maxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: s3 endpoint %q: %s", ErrInvalid, cfg.endpoint, scrub(err.Error(), cfg.secrets()))
	}
	return &s3fs{client: client, transport: tr, bucket: bucket, prefix: prefix, secrets: cfg.secrets()}, nil
}

type s3Config struct {
	endpoint                    string
	secure                      bool
	region                      string
	accessKey, secretKey, token string
	lookup                      minio.BucketLookupType
	maxRetries                  int
}

func (c *s3Config) secrets() []string {
	var out []string
	for _, s := range []string{c.secretKey, c.token} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parseS3Options(o map[string]string) (*s3Config, error) {
	for k := range o {
		if !slices.Contains(s3Options, k) && strings.HasPrefix(k, "s3.") {
			return nil, fmt.Errorf("%w: unknown s3 option %q (known: %s)", ErrInvalid, k, strings.Join(s3Options, ", "))
		}
	}
	parseBool := func(k string) (v, set bool, err error) {
		s, ok := o[k]
		if !ok || s == "" {
			return false, false, nil
		}
		v, err = strconv.ParseBool(s)
		if err != nil {
			return false, false, fmt.Errorf("%w: option %s must be true or false, not %q", ErrInvalid, k, s)
		}
		return v, true, nil
	}
	c := &s3Config{endpoint: "s3.amazonaws.com", secure: true, region: o[OptRegion], maxRetries: 3,
		accessKey: o[OptAccessKeyID], secretKey: o[OptSecretAccessKey], token: o[OptSessionToken]}
	disable, disableSet, err := parseBool(OptDisableSSL)
	if err != nil {
		return nil, err
	}
	if e := o[OptEndpoint]; e != "" {
		if strings.Contains(e, "://") {
			u, err := url.Parse(e)
			if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
				return nil, fmt.Errorf("%w: option %s must be host:port or scheme://host:port, not %q", ErrInvalid, OptEndpoint, e)
			}
			switch u.Scheme {
			case "https":
				c.secure = true
			case "http":
				c.secure = false
			default:
				return nil, fmt.Errorf("%w: option %s: scheme %q is not http or https", ErrInvalid, OptEndpoint, u.Scheme)
			}
			if disableSet && disable == c.secure {
				return nil, fmt.Errorf("%w: option %s=%v contradicts endpoint %q", ErrInvalid, OptDisableSSL, disable, e)
			}
			c.endpoint = u.Host
		} else {
			if strings.ContainsAny(e, "/?#@ ") {
				return nil, fmt.Errorf("%w: option %s must be host:port or scheme://host:port, not %q", ErrInvalid, OptEndpoint, e)
			}
			c.endpoint = e
			c.secure = !disable
		}
	} else if disableSet {
		c.secure = !disable
	}
	switch {
	case c.accessKey != "" && c.secretKey == "", c.accessKey == "" && c.secretKey != "":
		return nil, fmt.Errorf("%w: options %s and %s must be given together", ErrInvalid, OptAccessKeyID, OptSecretAccessKey)
	case c.token != "" && c.accessKey == "":
		return nil, fmt.Errorf("%w: option %s needs %s and %s", ErrInvalid, OptSessionToken, OptAccessKeyID, OptSecretAccessKey)
	}
	pathStyle, set, err := parseBool(OptPathStyle)
	if err != nil {
		return nil, err
	}
	c.lookup = minio.BucketLookupAuto
	if set && pathStyle {
		c.lookup = minio.BucketLookupPath
	} else if set {
		c.lookup = minio.BucketLookupDNS
	}
	if s, ok := o[OptMaxRetries]; ok && s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 20 {
			return nil, fmt.Errorf("%w: option %s must be an integer from 1 to 20, not %q", ErrInvalid, OptMaxRetries, s)
		}
		c.maxRetries = n
	}
	return c, nil
}

// String names the UFS without its options (credentials stay out of logs
// even when the value is printed with %v).
func (s *s3fs) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// GoString keeps %#v from printing the client and its credentials.
func (s *s3fs) GoString() string { return s.String() }

func (s *s3fs) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.transport.CloseIdleConnections()
	}
	return nil
}

func (s *s3fs) check() error {
	if s.closed.Load() {
		return fmt.Errorf("%s: %w", s, ErrClosed)
	}
	return nil
}

// rel maps a key to its path relative to the prefix. Keys that name a
// "directory" (trailing slash) or could not be a clean relative path ("..",
// "//") are not files of this UFS: they would escape the mount in the Alluxio
// namespace, so they are left out of listings and cannot be opened.
func (s *s3fs) rel(key string) (string, bool) {
	r, ok := strings.CutPrefix(key, s.prefix)
	if !ok || r == "" || strings.HasSuffix(r, "/") || checkPath(r, true) != nil {
		return "", false
	}
	return r, true
}

func (s *s3fs) ping(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	noOwner := false
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix: s.prefix, Recursive: true, MaxKeys: 1, FetchOwner: &noOwner}) {
		if obj.Err != nil {
			return s.fail("list", "", obj.Err)
		}
		break
	}
	return ctx.Err()
}

// List pages through ListObjectsV2 with StartAfter = prefix + cursor, so a
// cursor needs no server-side state and survives any restart. It asks for
// one key more than limit to know whether more remain.
func (s *s3fs) List(ctx context.Context, dir, cursor string, limit int) ([]FileInfo, string, error) {
	if err := checkPage(dir, cursor, limit, true); err != nil {
		return nil, "", err
	}
	if err := s.check(); err != nil {
		return nil, "", err
	}
	if dir != "" && cursor < dir {
		// A path that is an object lists just that object.
		fi, err := s.Stat(ctx, dir)
		if err == nil {
			return []FileInfo{fi}, "", nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, "", err
		}
	}
	prefix := s.prefix
	if dir != "" {
		prefix += dir + "/"
	}
	var startAfter string
	if cursor != "" {
		startAfter = s.prefix + cursor
	}
	want := limit + 1
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	noOwner := false
	var out []FileInfo
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix: prefix, Recursive: true, StartAfter: startAfter, MaxKeys: min(want, s3MaxKeys), FetchOwner: &noOwner}) {
		if obj.Err != nil {
			return nil, "", s.fail("list", dir, obj.Err)
		}
		p, ok := s.rel(obj.Key)
		if !ok {
			continue
		}
		out = append(out, FileInfo{Path: p, Size: obj.Size, ModTime: obj.LastModified, ETag: strings.Trim(obj.ETag, `"`)})
		if len(out) == want {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if len(out) > limit {
		return out[:limit], out[limit-1].Path, nil
	}
	return out, "", nil
}

func (s *s3fs) Stat(ctx context.Context, p string) (FileInfo, error) {
	if err := checkFilePath(p, true); err != nil {
		return FileInfo{}, err
	}
	if err := s.check(); err != nil {
		return FileInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+p, minio.StatObjectOptions{})
	if err != nil {
		return FileInfo{}, s.fail("stat", p, err)
	}
	return FileInfo{Path: p, Size: oi.Size, ModTime: oi.LastModified, ETag: strings.Trim(oi.ETag, `"`)}, nil
}

// Open issues one GET with a Range header. The returned body is bound to ctx.
func (s *s3fs) Open(ctx context.Context, p string, off, length int64) (io.ReadCloser, error) {
	if err := checkFilePath(p, true); err != nil {
		return nil, err
	}
	if err := checkOffset(off); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if length == 0 {
		// No Range header can ask for nothing; still say whether the file exists.
		if _, err := s.Stat(ctx, p); err != nil {
			return nil, err
		}
		return emptyReader{}, nil
	}
	var opts minio.GetObjectOptions
	ranged := off > 0 || length > 0
	switch {
	case length > 0 && length <= math.MaxInt64-off:
		err := opts.SetRange(off, off+length-1)
		if err != nil {
			return nil, fmt.Errorf("%w: range %d+%d: %v", ErrInvalid, off, length, err)
		}
	case off > 0:
		if err := opts.SetRange(off, 0); err != nil {
			return nil, fmt.Errorf("%w: range %d-: %v", ErrInvalid, off, err)
		}
	}
	body, _, hdr, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, s.prefix+p, opts)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "InvalidRange" {
			return emptyReader{}, nil // the object exists; the range starts at or after its end
		}
		return nil, s.fail("read", p, err)
	}
	if ranged && hdr.Get("Content-Range") == "" {
		body.Close()
		return nil, fmt.Errorf("s3 read %s: the store ignored the Range header", s.loc(p))
	}
	return body, nil
}

func (s *s3fs) loc(p string) string { return "s3://" + s.bucket + "/" + s.prefix + p }

// fail maps an S3 error to the sentinels. The message is rebuilt from the
// error's text with every secret value scrubbed; the original stays in the
// chain only for errors of the transport (timeouts, refused connections),
// which carry no credentials.
func (s *s3fs) fail(op, p string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("s3 %s %s: %w", op, s.loc(p), err)
	}
	resp := minio.ToErrorResponse(err)
	var kind error
	switch resp.Code {
	case "NoSuchKey", "NoSuchBucket", "NotFound", "NoSuchObject":
		kind = ErrNotFound
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
		"AllAccessDisabled", "AccountProblem":
		kind = ErrPermission
	case "InvalidBucketName", "XMinioInvalidObjectName", "InvalidArgument", "AuthorizationHeaderMalformed":
		kind = ErrInvalid
	default:
		switch resp.StatusCode {
		case http.StatusNotFound:
			kind = ErrNotFound
		case http.StatusForbidden, http.StatusUnauthorized:
			kind = ErrPermission
		}
	}
	msg := scrub(err.Error(), s.secrets)
	if kind != nil {
		return &s3Error{msg: fmt.Sprintf("s3 %s %s: %v: %s", op, s.loc(p), kind, msg), kind: kind}
	}
	if resp.Code != "" {
		return &s3Error{msg: fmt.Sprintf("s3 %s %s: %s", op, s.loc(p), msg)}
	}
	return &s3Error{msg: fmt.Sprintf("s3 %s %s: %s", op, s.loc(p), msg), cause: err}
}

type s3Error struct {
	msg   string
	kind  error // a sentinel, or nil
	cause error // a transport error, or nil
}

func (e *s3Error) Error() string { return e.msg }

func (e *s3Error) Unwrap() []error {
	var out []error
	for _, err := range []error{e.kind, e.cause} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "***")
	}
	return msg
}
