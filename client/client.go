package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alluvium/alluvium/internal/jsonhttp"
	"github.com/alluvium/alluvium/internal/tlsconfig"
)

// Defaults of a Client.
const (
	// DefaultRetries is how many attempts follow a failed first one, across
	// the coordinators in turn: enough to ride out a leader election.
	DefaultRetries = 20
	// DefaultRetryBudget bounds the time spent retrying one call; an
	// attempt in flight is bounded by the http.Client's timeout.
	DefaultRetryBudget = 10 * time.Second
	// DefaultTimeout bounds one attempt of the default http.Client: a
	// coordinator's own request timeout (10 s) plus forwarding.
	DefaultTimeout = 30 * time.Second

	minBackoff   = 50 * time.Millisecond
	maxBackoff   = time.Second
	maxRedirects = 3
	userAgent    = "alluvium-go-client"
)

// Client calls the REST API of one cluster's coordinators. It is safe for
// concurrent use.
type Client struct {
	urls      []string
	hc        *http.Client
	tls       *tls.Config
	token     string
	retries   int
	budget    time.Duration
	stale     bool
	preferred atomic.Int64 // index of the coordinator that answered last
	data      *http.Client // for workers' data API
	untimed   *http.Client // hc without its timeout: ctx bounds a long poll
	rings     ringCache    // the LIVE workers' ring, with WithRingCache
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends "Authorization: Bearer <token>" on every request, as a
// cluster with an auth token requires (401 otherwise).
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient makes the client send its requests with hc (for TLS, a
// proxy or other timeouts). The client never lets hc follow redirects
// itself: it follows a coordinator's 307 to the leader on its own, so that
// the token and the body go along.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTLS makes the client verify the coordinators and workers with cfg
// (its RootCAs: the cluster CA; a client certificate when a server asks)
// and reach workers, whose addresses are host:port, over https. It applies
// to a WithHTTPClient client too, whose *http.Transport (the default one
// when nil) is cloned with cfg.
func WithTLS(cfg *tls.Config) Option { return func(c *Client) { c.tls = cfg } }

// WithRetries sets how many attempts may follow a failed first one
// (DefaultRetries); 0 tries each call once, on one coordinator.
func WithRetries(n int) Option { return func(c *Client) { c.retries = max(n, 0) } }

// WithRetryBudget bounds the time one call spends retrying
// (DefaultRetryBudget): no retry starts after it.
func WithRetryBudget(d time.Duration) Option { return func(c *Client) { c.budget = d } }

// WithStaleReads lets any coordinator answer reads from its own replica
// (?stale=true), which is cheaper and still works without a leader, but may
// lag the leader by a few entries.
func WithStaleReads() Option { return func(c *Client) { c.stale = true } }

// New returns a client of the coordinators at urls ("http://host:port"; a
// bare "host:port" means http). The order of urls is the order in which
// they are tried first.
func New(urls []string, opts ...Option) (*Client, error) {
	c := &Client{retries: DefaultRetries, budget: DefaultRetryBudget}
	for _, raw := range urls {
		for _, s := range strings.Split(raw, ",") {
			if strings.TrimSpace(s) == "" {
				continue
			}
			base, err := parseBase(s)
			if err != nil {
				return nil, err
			}
			c.urls = append(c.urls, base)
		}
	}
	if len(c.urls) == 0 {
		return nil, errors.New("client: no coordinator URL given")
	}
	for _, o := range opts {
		o(c)
	}
	hc := c.hc
	if hc == nil {
		hc = defaultHTTPClient()
	}
	if c.tls != nil {
		withT := *hc
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		withT.Transport = tlsconfig.Upgrade{Base: withTLS(base, c.tls)}
		hc = &withT
	}
	own := *hc // a copy, so that the caller's client keeps its redirect policy
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &own
	untimed := own
	untimed.Timeout = 0
	c.untimed = &untimed
	// Data reads follow a worker's 307 to the owner it knows (a few hops at
	// most: rings may differ for a moment while membership changes).
	data := *hc
	data.CheckRedirect = func(_ *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("client: too many redirects between workers")
		}
		return nil
	}
	c.data = &data
	return c, nil
}

// URLs returns the coordinators' base URLs as the client uses them.
func (c *Client) URLs() []string { return append([]string(nil), c.urls...) }

func parseBase(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("client: coordinator URL %q: %v", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("client: coordinator URL %q: want http(s)://host:port", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// defaultHTTPClient dials with a short timeout, so that a coordinator that is
// down is passed over quickly, and bounds every attempt.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t, Timeout: DefaultTimeout}
}

// call is one API call: what to send, and where to decode the answer.
type call struct {
	method string
	path   string
	query  url.Values
	body   any // JSON-encoded when not nil
	out    any // decoded from a 2xx answer when not nil
	read   bool
	// untimed sends the call with the http.Client's timeout lifted: ctx
	// alone bounds it (a long poll).
	untimed bool
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, call{method: http.MethodGet, path: path, query: q, out: out, read: true})
}

func (c *Client) send(ctx context.Context, method, path string, body, out any) error {
	return c.do(ctx, call{method: method, path: path, body: body, out: out})
}

// do runs a call with failover: on a connection error or a 503 it tries the
// next coordinator, waiting a growing backoff after each full round, until
// it has an answer, the retries or the budget are spent, or ctx is done.
// A write is sent again only when it surely was not applied (see retryable).
func (c *Client) do(ctx context.Context, cl call) error {
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("client: encode %s %s: %w", cl.method, cl.path, err)
		}
	}
	if cl.read && c.stale {
		if cl.query == nil {
			cl.query = url.Values{}
		}
		cl.query.Set("stale", "true")
	}
	return c.failover(ctx, cl.method, cl.path, cl.read, func(base string) error {
		return c.once(ctx, base, cl, payload)
	})
}

// failover sends one request with try to one coordinator after another:
// on a connection error or a 503 it tries the next, waiting a growing
// backoff after each full round, until it has an answer, the retries or
// the budget are spent, or ctx is done. A write (read false) is sent again
// only when it surely was not applied (see retryable).
func (c *Client) failover(ctx context.Context, method, path string, read bool, try func(base string) error) error {
	began := time.Now()
	deadline := began.Add(c.budget)
	n := len(c.urls)
	first := int(c.preferred.Load())
	backoff := minBackoff
	var lastErr error
	attempts := 0
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			if time.Now().After(deadline) {
				break
			}
			if attempt%n == 0 { // a full round failed: let the cluster settle
				wait := min(backoff, time.Until(deadline))
				if wait <= 0 {
					break
				}
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return fmt.Errorf("%w (last: %v)", ctx.Err(), lastErr)
				case <-t.C:
				}
				backoff = min(2*backoff, maxBackoff)
			}
		}
		i := (first + attempt) % n
		attempts++
		err := try(c.urls[i])
		if err == nil {
			c.preferred.Store(int64(i))
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if tlsMisconfigured(err) { // the same on every coordinator: say so at once
			return fmt.Errorf("%w: %s: TLS failed, nothing was sent (check the CA given, e.g. --tls-ca, and the URL's scheme): %v",
				ErrUnavailable, c.urls[i], err)
		}
		if !retryable(err, read) {
			if isTransport(err) {
				return fmt.Errorf("%w: %s %s: the connection broke before an answer came, so it may or may not have been applied: %v",
					ErrUnavailable, method, path, err)
			}
			c.preferred.Store(int64(i)) // it answered
			return err
		}
		lastErr = err
	}
	if statusOf(lastErr) == http.StatusServiceUnavailable {
		return lastErr
	}
	plural := "s"
	if attempts == 1 {
		plural = ""
	}
	return fmt.Errorf("%w: tried %s (%d attempt%s in %s); last error: %v",
		ErrUnavailable, strings.Join(c.urls, ", "), attempts, plural, time.Since(began).Round(time.Millisecond), lastErr)
}

// noLeaderReason starts the reason of every 503 after which, by the
// contract, nothing was applied: there was no leader to apply it.
const noLeaderReason = "no raft leader"

// retryable reports whether a failed attempt may be sent to the next
// coordinator. A read always may. A write only when it surely was not
// applied: the connection was refused, or the 503 says there was no leader.
// After other 503s (leadership lost mid-commit, an apply timeout) or a
// broken connection its outcome is unknown, and sending it again could
// apply it twice (a second mount answering "mounted already", a second stop
// "already ended"), so the caller gets the error and decides.
func retryable(err error, read bool) bool {
	if isTransport(err) {
		return read || isDial(err)
	}
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusServiceUnavailable {
		return false
	}
	return read || strings.HasPrefix(e.Message, noLeaderReason)
}

// transportError is a request that got no HTTP answer.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func isTransport(err error) bool {
	var te *transportError
	return errors.As(err, &te)
}

// isDial reports a failure to connect: the request surely was not sent.
func isDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// once sends a call to one coordinator, following its redirects to the
// leader (when forwarding is off) with the same body and token.
func (c *Client) once(ctx context.Context, base string, cl call, payload []byte) error {
	target := base + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	for hop := 0; ; hop++ {
		req, err := jsonhttp.NewRequest(ctx, cl.method, target, payload, c.token)
		if err != nil {
			return fmt.Errorf("client: %w", err)
		}
		req.Header.Set("User-Agent", userAgent)
		hc := c.hc
		if cl.untimed {
			hc = c.untimed
		}
		resp, err := hc.Do(req)
		if err != nil {
			return &transportError{err}
		}
		if (resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect) && hop < maxRedirects {
			loc, err := resp.Location()
			jsonhttp.Drain(resp)
			if err != nil {
				return fmt.Errorf("client: %s %s: redirect without a usable Location: %w", cl.method, target, err)
			}
			target = loc.String()
			continue
		}
		return decode(resp, cl)
	}
}

// decode reads a 2xx answer into cl.out, and any other into an *Error.
func decode(resp *http.Response, cl call) error {
	err := jsonhttp.ReadAnswer(resp, cl.out, 0)
	if err == nil {
		return nil
	}
	var he *jsonhttp.Error
	if !errors.As(err, &he) {
		return fmt.Errorf("client: %s %s answered %d with a body that is not the expected JSON: %w",
			cl.method, cl.path, resp.StatusCode, err)
	}
	e := &Error{StatusCode: he.StatusCode}
	if b := he.Body; b.Status != "" {
		e.Message, e.ID, e.State, e.Resumed, e.Alias = b.Status, b.ID, b.State, b.Resumed, b.Alias
	} else if he.Text != "" {
		e.Message = fmt.Sprintf("%d %s: %s", he.StatusCode, http.StatusText(he.StatusCode), he.Text)
	}
	return e
}

// withTLS sets cfg on rt, an *http.Transport.
func withTLS(rt http.RoundTripper, cfg *tls.Config) http.RoundTripper {
	if t, ok := rt.(*http.Transport); ok {
		t = t.Clone()
		tlsconfig.SetClientTLS(t, cfg)
		return t
	}
	return rt
}

// tlsMisconfigured reports a TLS handshake that failed on the certificate
// or the protocol: a configuration error that no retry mends, which happens
// before the request is sent.
func tlsMisconfigured(err error) bool {
	var (
		cve *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		rh  tls.RecordHeaderError
	)
	return errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &rh)
}
