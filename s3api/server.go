package s3api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"github.com/alluvium/alluvium/internal/jsonhttp"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/alluvium/alluvium/ufs"
)

// Backend is the worker's read path, as *worker.Worker implements it.
type Backend interface {
	// MountPoints returns the Alluxio paths of the mount table.
	MountPoints() []string
	// ListFiles returns a page of the files at or below dir (an Alluxio path
	// inside one mount) sorting after cursor, with Alluxio paths.
	ListFiles(ctx context.Context, dir, cursor string, limit int) ([]ufs.FileInfo, string, error)
	// Owner returns the data API address of the path's owner, or self.
	Owner(path string) (addr string, self bool)
	// ServeFile answers GET or HEAD of the file from this worker's cache,
	// or returns an error having written nothing.
	ServeFile(rw http.ResponseWriter, r *http.Request, path string) error
}

// Metrics records each request's operation, status code and duration.
type Metrics interface {
	ObserveS3(operation string, code int, d time.Duration)
}

// Config configures a Server.
type Config struct {
	Backend Backend
	// Credentials are the accepted access keys; nil allows anonymous reads
	// (and accepts any signature without checking it).
	Credentials *Credentials
	// Region is answered by GetBucketLocation; "" is us-east-1.
	Region string
	// Domains enable virtual-host-style addressing: a request to host
	// "<bucket>.<domain>" names the bucket.
	Domains []string
	// Redirect answers a read of a key another worker owns with 307 to the
	// owner's data API, instead of fetching it from the owner's cache.
	Redirect bool
	// Client fetches from owners; a pooled client when nil.
	Client  *http.Client
	Metrics Metrics
	Logger  *slog.Logger
	// Now is the clock of the signature checks; time.Now when nil.
	Now func() time.Time
}

// Validate reports the first problem of the config.
func (c *Config) Validate() error {
	if c.Backend == nil {
		return errors.New("s3api: no backend")
	}
	for _, d := range c.Domains {
		if d == "" || strings.HasPrefix(d, ".") {
			return errors.New("s3api: a virtual-host domain is empty or starts with a dot")
		}
	}
	return nil
}

// Server is the S3 API's http.Handler.
type Server struct {
	cfg Config
	log *slog.Logger
}

var _ http.Handler = (*Server)(nil)

// New returns the S3 API over cfg.Backend.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 256
		t.DisableCompression = true
		cfg.Client = &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	return &Server{cfg: cfg, log: cfg.Logger}, nil
}

// request is a parsed S3 request.
type request struct {
	bucket, key string
	op          string
}

// ServeHTTP answers one S3 request, and records its operation and status.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var id [8]byte
	_, _ = rand.Read(id[:])
	rw.Header().Set("X-Amz-Request-Id", strings.ToUpper(hex.EncodeToString(id[:])))
	rw.Header().Set("Server", "Alluvium")
	sw := &jsonhttp.StatusWriter{ResponseWriter: rw}
	req := s.parse(r)
	s.serve(sw, r, req)
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.ObserveS3(req.op, sw.Code(), time.Since(start))
	}
}

func (s *Server) serve(rw http.ResponseWriter, r *http.Request, req request) {
	if e := authenticate(r, s.cfg.Credentials, s.cfg.Now()); e != nil {
		writeError(rw, r, e)
		return
	}
	switch req.op {
	case "ListBuckets":
		s.listBuckets(rw, r)
	case "HeadBucket":
		s.headBucket(rw, r, req)
	case "GetBucketLocation":
		s.bucketLocation(rw, r, req)
	case "ListObjectsV2", "ListObjects":
		s.listObjects(rw, r, req)
	case "HeadObject", "GetObject":
		s.getObject(rw, r, req)
	case "Unsupported":
		writeError(rw, r, errorf("NotImplemented", "this S3 endpoint does not implement "+r.Method+" with these subresources"))
	default: // writes
		writeError(rw, r, errorf("NotImplemented", req.op+" is not supported: this S3 endpoint serves reads of a cache, and changes nothing"))
	}
}

// parse finds the bucket and key (path-style or virtual-host-style) and
// names the operation.
func (s *Server) parse(r *http.Request) request {
	p := strings.TrimPrefix(r.URL.Path, "/")
	var req request
	if b, ok := s.virtualBucket(r.Host); ok {
		req.bucket, req.key = b, p
	} else {
		req.bucket, req.key, _ = strings.Cut(p, "/")
	}
	req.op = operation(r, req)
	return req
}

// virtualBucket returns the bucket of a virtual-host-style host.
func (s *Server) virtualBucket(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, d := range s.cfg.Domains {
		if b, ok := strings.CutSuffix(host, "."+strings.ToLower(d)); ok && b != "" {
			return b, true
		}
	}
	return "", false
}

// operation names the S3 operation of a request (the metrics' label).
func operation(r *http.Request, req request) string {
	q := r.URL.Query()
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case req.bucket == "" && read:
		return "ListBuckets"
	case req.bucket == "":
		return "Unsupported"
	case req.key == "" && read:
		return bucketReadOp(r)
	case req.key == "":
		return bucketWriteOp(r.Method, len(q) > 0)
	case read:
		for _, sub := range []string{"acl", "tagging", "uploadId", "attributes", "legal-hold", "retention", "torrent", "versionId"} {
			if q.Has(sub) {
				return "Unsupported"
			}
		}
		if r.Method == http.MethodHead {
			return "HeadObject"
		}
		return "GetObject"
	}
	return objectWriteOp(r, q.Has("uploads"), q.Has("uploadId"))
}

// bucketSubresources are the bucket GET subresources answered NotImplemented.
var bucketSubresources = []string{"acl", "policy", "policyStatus", "versioning", "versions", "uploads", "lifecycle",
	"cors", "tagging", "website", "logging", "notification", "replication", "encryption", "object-lock",
	"ownershipControls", "publicAccessBlock", "accelerate", "requestPayment", "analytics", "inventory",
	"metrics", "intelligent-tiering"}

func bucketReadOp(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodHead:
		return "HeadBucket"
	case q.Has("location"):
		return "GetBucketLocation"
	case q.Get("list-type") == "2":
		return "ListObjectsV2"
	case q.Has("list-type"):
		return "Unsupported"
	}
	for _, sub := range bucketSubresources {
		if q.Has(sub) {
			return "Unsupported"
		}
	}
	return "ListObjects"
}

func bucketWriteOp(method string, sub bool) string {
	switch {
	case method == http.MethodPut && !sub:
		return "CreateBucket"
	case method == http.MethodDelete && !sub:
		return "DeleteBucket"
	case method == http.MethodPost:
		return "DeleteObjects"
	}
	return "PutBucketConfiguration"
}

func objectWriteOp(r *http.Request, uploads, uploadID bool) string {
	switch r.Method {
	case http.MethodPut:
		switch {
		case uploadID:
			return "UploadPart"
		case r.Header.Get("X-Amz-Copy-Source") != "":
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodPost:
		switch {
		case uploads:
			return "CreateMultipartUpload"
		case uploadID:
			return "CompleteMultipartUpload"
		}
		return "PostObject"
	case http.MethodDelete:
		if uploadID {
			return "AbortMultipartUpload"
		}
		return "DeleteObject"
	}
	return "Unsupported"
}
