package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/jsonhttp"
	"github.com/alluvium/alluvium/policy"
)

// Backend is what the API needs of a coordinator, every capability
// declared: *coordinator.Coordinator implements it (a compile-time check in
// the tests says so). There are no optional interfaces discovered by type
// assertion, and no state machine handed out: the Backend speaks the REST
// API's types (api) and the shared vocabulary (policy), never fsm's. A
// backend that lacks a capability decides so in code: its method returns an
// error wrapping errors.ErrUnsupported, which the API answers with 501 (see
// statusOf), or, for reports (WorkerCounter, the usage in Quotas and
// Nodes), it answers zero values.
type Backend interface {
	coreBackend
	JobStore
	PolicyStore
	MemberStore
	StaleCleaner
	WorkerRegistry
	WorkerCounter
	UFSChecker
	SnapshotBackend
}

// coreBackend is the cluster of coordinators.
type coreBackend interface {
	// ID names this coordinator.
	ID() string
	// ConsistentRead returns nil once reads of this node's replica are
	// linearizable.
	ConsistentRead(ctx context.Context) error
	// IsLeader reports whether this node leads and may serve reads and writes.
	IsLeader() bool
	// Leader names the leader and its HTTP address.
	Leader() (api.Coordinator, error)
	// Status and Health describe the cluster as this node sees it.
	Status() (api.Coordinators, error)
	Health() (api.Health, error)
	// AddCoordinator makes a coordinator a voter and records its addresses.
	AddCoordinator(ctx context.Context, req api.JoinRequest) error
	// RemoveCoordinator removes a coordinator from the cluster.
	RemoveCoordinator(ctx context.Context, id string) error
}

// The replicated state, read from this node's replica (after
// ConsistentRead when the request asks for a linearizable read) and changed
// by commands committed on the leader. A refused change is an error of a
// policy sentinel kind (policy.ErrInvalid, ...) or *api.JobConflictError.

// JobStore is the part of a Backend that keeps jobs. Job types are
// api.JobLoad, api.JobFree and api.JobRebalance.
type JobStore interface {
	// Jobs lists a type's jobs in key order, count at most (0: all), after
	// lastKey; next is the key to go on from.
	Jobs(jobType, lastKey string, count int) (jobs []api.Job, next string)
	// FindJob finds the job the one set field of sel names: ID (any type),
	// or, among jobs of jobType, alias, index file or rebalance target.
	FindJob(jobType string, sel api.JobSelector) (api.Job, bool)
	// ResolvePath maps an Alluxio path or a UFS URI to its Alluxio path
	// through the mount table (policy.ErrInvalid when none covers it).
	ResolvePath(location string) (string, error)
	// SubmitJob commits a job and answers it as it stands after.
	SubmitJob(ctx context.Context, spec api.JobSpec) (api.Job, error)
	// StopJob stops the job sel names (as FindJob) and answers it.
	StopJob(ctx context.Context, jobType string, sel api.JobSelector) (api.Job, error)
}

// PolicyStore is the part of a Backend that keeps the mount table and the
// policies workers enforce. Lists are ordered by path.
type PolicyStore interface {
	Mounts() []policy.Mount // options unmasked: the API masks them
	Mount(path string) (policy.Mount, bool)
	AddMount(ctx context.Context, m policy.Mount) (policy.Mount, error) // as stored
	RemoveMount(ctx context.Context, path string) error

	Quotas() []api.Quota // with the usage workers report
	Quota(path string) (api.Quota, bool)
	SetQuota(ctx context.Context, path string, bytes int64) (api.Quota, error)
	DeleteQuota(ctx context.Context, path string) error

	TTLs() []api.TTL
	TTL(path string) (api.TTL, bool)
	SetTTL(ctx context.Context, path string, ttl time.Duration) error
	DeleteTTL(ctx context.Context, path string) error

	Priorities() []policy.PathPriority
	Priority(path string) (policy.PathPriority, bool)
	SetPriority(ctx context.Context, p policy.PathPriority) error
	DeletePriority(ctx context.Context, path string) error

	Filter() policy.FilterPolicy
	AddFilterRule(ctx context.Context, r policy.FilterRule) error
	SetDefaultFilter(ctx context.Context, r policy.FilterRule) error
	RemoveFilterRule(ctx context.Context, kind policy.RuleKind, pattern string) error
}

// MemberStore is the part of a Backend that keeps the workers and the
// global file index.
type MemberStore interface {
	Nodes() []api.Node // ordered by id, with the usage each last reported
	Node(id string) (api.Node, bool)
	RegisterWorker(ctx context.Context, reg api.WorkerRegistration, start time.Time) (api.Node, error)
	RemoveWorker(ctx context.Context, id string) (api.Node, error) // as it was

	FileIndexList(prefix, lastKey string, count int) (entries []api.FileEntry, next string)
	FileIndexStatus() api.FileIndexStatus
	FileIndexAdd(ctx context.Context, entries []api.FileEntry) (added int, err error)
	FileIndexRemove(ctx context.Context, paths []string) (removed int, err error)
}

// Features names the optional policies. Options.Disabled lists those that
// are switched off (the zero value leaves everything on); a switched-off
// feature answers as the contract says: 501, or 404 for the file index.
type Features struct {
	Quota       bool
	TTL         bool
	Priority    bool
	CacheFilter bool
	FileIndex   bool
}

// AllFeatures names every feature.
func AllFeatures() Features {
	return Features{Quota: true, TTL: true, Priority: true, CacheFilter: true, FileIndex: true}
}

// Options configure the API.
type Options struct {
	// AuthToken, when set, is required as "Authorization: Bearer <token>" on
	// every request (401 otherwise).
	AuthToken string
	// Authorize, when set, replaces AuthToken: it decides, for each request,
	// whether the caller may call the route method+pattern (package
	// internal/auth's scoped tokens implement it).
	Authorize func(r *http.Request, method, route string) Access
	// Audit, when set, receives one event per write accepted or refused and
	// per request refused for its credentials (an audit log).
	Audit func(api.AuditEvent)
	// BodyTimeout bounds reading a request's body (408 beyond), so that a
	// client trickling it holds neither a connection nor a handler for
	// long; DefaultBodyTimeout when 0. Snapshot uploads are not bound by it.
	BodyTimeout time.Duration
	// MaxBodyBytes bounds request bodies (413 beyond); 1 MiB by default.
	MaxBodyBytes int64
	// MaxSnapshotBytes bounds the snapshot file of a restore (413 beyond);
	// DefaultMaxSnapshotBytes when 0.
	MaxSnapshotBytes int64
	// RedirectToLeader answers requests that need the leader with 307 to its
	// address instead of forwarding them.
	RedirectToLeader bool
	// RequestTimeout bounds the work of one request, so that nothing hangs
	// without a quorum; 10 s by default.
	RequestTimeout time.Duration
	// Disabled switches optional features off; all are on by default.
	Disabled Features
	// StaticMounts makes the mount table read-only (501 on changes): it was
	// loaded from a file at start.
	StaticMounts bool
	// Logger receives errors the API answers with 500.
	Logger *slog.Logger
	// ForwardTransport carries forwarded requests; a default one when nil.
	ForwardTransport http.RoundTripper
	// Metrics, when set, observes every route (package metrics implements
	// it). Only Register knows each route's pattern, which is what
	// metrics label requests by: never the raw URL.
	Metrics Metrics
}

// Metrics observes the API's requests.
type Metrics interface {
	// Route wraps the handler of the route method+pattern (e.g. "GET",
	// "/api/v1/mount").
	Route(method, pattern string, h http.Handler) http.Handler
	// Forwarded is told of each request of the route that this node passed
	// to the leader: forwarded, or redirected when redirected is true.
	Forwarded(method, pattern string, redirected bool)
}

// DefaultOptions returns the defaults: every feature on, forwarding on.
func DefaultOptions() Options {
	return Options{MaxBodyBytes: 1 << 20, RequestTimeout: 10 * time.Second, Logger: slog.Default()}
}

// Header names the API sets.
const (
	// ServedByHeader names the coordinator that handled a request.
	ServedByHeader = "X-Alluvium-Served-By"
	// ForwardedByHeader marks a request a follower forwarded to the leader;
	// the leader never forwards it again.
	ForwardedByHeader = "X-Alluvium-Forwarded-By"
)

// routeKind says where a route may be served.
type routeKind int

const (
	// local routes are answered by any node from its own view.
	local routeKind = iota
	// read routes are served by the leader, or by any node with ?stale=true.
	read
	// write routes are served by the leader.
	write
)

type handlerFunc func(r *http.Request) (any, error)

type server struct {
	b       Backend
	opts    Options
	forward http.RoundTripper
}

// Register mounts every route of the API on router. When router is a
// FallbackRouter (the HTTPRouter and ServeMux adapters are), every other
// path or method under /api/v1 answers 404 or 405 with the JSON error body.
func Register(router Router, b Backend, opts Options) {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = DefaultBodyTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &server{b: b, opts: opts, forward: opts.ForwardTransport}
	if s.forward == nil {
		s.forward = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	}
	for _, rt := range s.routes() {
		h := s.wrap(rt)
		if opts.Metrics != nil {
			h = opts.Metrics.Route(rt.method, rt.path, h)
		}
		router.Handle(rt.method, rt.path, h)
	}
	s.registerSnapshotRoutes(router) // streamed, so not wrapped as JSON routes are
	// Unknown routes and methods under /api/v1 answer as every error does.
	if fr, ok := router.(FallbackRouter); ok {
		fr.HandleFallback("/api/v1/", s.fallback(http.StatusNotFound), s.fallback(http.StatusMethodNotAllowed))
	}
}

type route struct {
	method, path string
	kind         routeKind
	h            handlerFunc
}

func (s *server) routes() []route {
	var rs []route
	rs = append(rs, s.clusterRoutes()...)
	rs = append(rs, s.mountRoutes()...)
	rs = append(rs, s.policyRoutes()...)
	rs = append(rs, s.filterRoutes()...)
	rs = append(rs, s.nodeRoutes()...)
	rs = append(rs, s.fileIndexRoutes()...)
	rs = append(rs, s.cacheRoutes()...)
	rs = append(rs, s.jobRoutes()...)
	rs = append(rs, s.internalRoutes()...)
	rs = append(rs, s.openAPIRoutes()...)
	return rs
}

// wrap turns a handlerFunc into an http.Handler: authentication, body bound,
// leader forwarding, the request deadline, JSON answers and error mapping.
func (s *server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, ok := s.admit(w, r, rt.method, rt.path)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		w, done := s.audited(w, r, rt, caller)
		defer done()
		if err := s.readBody(w, r); err != nil {
			s.writeError(w, err)
			return
		}
		stale, err := staleParam(r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		if rt.kind == write || (rt.kind == read && !stale) {
			if !s.b.IsLeader() {
				s.toLeader(w, r, rt)
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		if rt.kind == read && !stale {
			if err := s.b.ConsistentRead(ctx); err != nil {
				s.writeError(w, err)
				return
			}
		}
		w.Header().Set(ServedByHeader, s.b.ID())
		v, err := rt.h(r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		jsonhttp.WriteJSON(w, http.StatusOK, v)
	})
}

// staleParam reads ?stale=: a boolean (true, false, 1, 0, ...), false when
// absent.
func staleParam(r *http.Request) (bool, error) {
	v, ok := r.URL.Query()["stale"]
	if !ok {
		return false, nil
	}
	if len(v) != 1 {
		return false, errorf(http.StatusBadRequest, "query parameter \"stale\" is given %d times", len(v))
	}
	b, err := strconv.ParseBool(v[0])
	if err != nil {
		return false, errorf(http.StatusBadRequest, "stale must be true or false, not %q", v[0])
	}
	return b, nil
}

// toLeader forwards a request to the leader, or redirects there.
func (s *server) toLeader(w http.ResponseWriter, r *http.Request, rt route) {
	if by := r.Header.Get(ForwardedByHeader); by != "" {
		s.writeError(w, errorf(http.StatusServiceUnavailable,
			"no raft leader: %s forwarded this request here, but %s does not lead (leadership is moving); retry", by, s.b.ID()))
		return
	}
	leader, err := s.b.Leader()
	if err == nil && leader.ID == s.b.ID() {
		err = api.ErrNoLeader // elected, but not ready to serve yet
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	target := &url.URL{Scheme: "http", Host: leader.HTTPAddress}
	if r.TLS != nil { // a cluster on TLS serves nothing in plain text
		target.Scheme = "https"
	}
	if s.opts.Metrics != nil {
		s.opts.Metrics.Forwarded(rt.method, rt.path, s.opts.RedirectToLeader)
	}
	if s.opts.RedirectToLeader {
		loc := *r.URL
		loc.Scheme, loc.Host = target.Scheme, target.Host
		http.Redirect(w, r, loc.String(), http.StatusTemporaryRedirect)
		return
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
			pr.Out.Header.Set(ForwardedByHeader, s.b.ID())
		},
		Transport: s.forward,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.writeError(w, err)
				return
			}
			// Only a request that never reached the leader certainly changed
			// nothing; say which case this is, so clients know whether a
			// retry is safe.
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				s.writeError(w, errorf(http.StatusServiceUnavailable, "no raft leader: leader %s at %s cannot be reached: %v", leader.ID, leader.HTTPAddress, err))
				return
			}
			s.writeError(w, errorf(http.StatusServiceUnavailable, "forwarding to leader %s at %s failed; the outcome is unknown: %v", leader.ID, leader.HTTPAddress, err))
		},
	}
	proxy.ServeHTTP(w, r)
}

func (s *server) writeError(w http.ResponseWriter, err error) {
	code, body := statusOf(err)
	if code >= 500 && code != http.StatusServiceUnavailable && code != http.StatusNotImplemented {
		s.opts.Logger.Error("api: internal error", "err", err)
	}
	jsonhttp.WriteJSON(w, code, body)
}
