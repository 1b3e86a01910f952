package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
)

// deadURL is a loopback URL on which nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// fake is a coordinator stand-in that counts its requests and answers with
// the handler it is given.
type fake struct {
	*httptest.Server
	hits atomic.Int64
}

func newFake(t *testing.T, h http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func answer(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

const mountsBody = `{"results":[{"path":"/data","ufs":"file:///srv/data"}]}`

func ok(w http.ResponseWriter, _ *http.Request) { answer(w, 200, mountsBody) }

func noLeader(w http.ResponseWriter, _ *http.Request) {
	answer(w, 503, `{"status":"no raft leader: an election is running"}`)
}

func TestFailover(t *testing.T) {
	tests := []struct {
		name     string
		handlers []http.HandlerFunc // nil: a URL where nothing listens
		wantHits []int64
	}{
		{"first dead, second answers", []http.HandlerFunc{nil, ok}, []int64{0, 1}},
		{"first 503, second answers", []http.HandlerFunc{noLeader, ok}, []int64{1, 1}},
		{"dead and 503, third answers", []http.HandlerFunc{nil, noLeader, ok}, []int64{0, 1, 1}},
		{"first answers", []http.HandlerFunc{ok, ok}, []int64{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var urls []string
			var fakes []*fake
			for _, h := range tt.handlers {
				if h == nil {
					urls = append(urls, deadURL(t))
					fakes = append(fakes, nil)
					continue
				}
				f := newFake(t, h)
				urls = append(urls, f.URL)
				fakes = append(fakes, f)
			}
			c, err := client.New(urls)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := c.Mounts(context.Background())
			if err != nil || len(ms.Results) != 1 {
				t.Fatalf("Mounts = %+v, %v", ms, err)
			}
			for i, f := range fakes {
				if f != nil && f.hits.Load() != tt.wantHits[i] {
					t.Errorf("coordinator %d was asked %d times, want %d", i, f.hits.Load(), tt.wantHits[i])
				}
			}
			// The next call goes straight to the one that answered.
			before := make([]int64, len(fakes))
			for i, f := range fakes {
				if f != nil {
					before[i] = f.hits.Load()
				}
			}
			if _, err := c.Mounts(context.Background()); err != nil {
				t.Fatal(err)
			}
			asked := 0
			for i, f := range fakes {
				if f != nil && f.hits.Load() > before[i] {
					asked++
				}
			}
			if asked != 1 {
				t.Errorf("the second call asked %d coordinators, want only the one that answered", asked)
			}
		})
	}
}

func TestFailoverIsBounded(t *testing.T) {
	busy := newFake(t, noLeader)
	tests := []struct {
		name    string
		urls    []string
		opts    []client.Option
		bound   time.Duration
		wantErr func(error) bool
	}{
		{"all dead", []string{deadURL(t), deadURL(t)}, []client.Option{client.WithRetryBudget(300 * time.Millisecond)}, 3 * time.Second,
			func(err error) bool {
				return errors.Is(err, client.ErrUnavailable) && strings.Contains(err.Error(), "tried")
			}},
		{"all without a leader", []string{busy.URL}, []client.Option{client.WithRetryBudget(300 * time.Millisecond)}, 3 * time.Second,
			func(err error) bool {
				var e *client.Error
				return errors.As(err, &e) && e.StatusCode == 503 && strings.Contains(e.Message, "no raft leader")
			}},
		{"no retries", []string{deadURL(t), busy.URL}, []client.Option{client.WithRetries(0)}, time.Second,
			func(err error) bool { return client.IsUnavailable(err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(tt.urls, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = c.Quotas(context.Background())
			if took := time.Since(start); took > tt.bound {
				t.Errorf("gave up after %s, want within %s", took, tt.bound)
			}
			if !client.IsUnavailable(err) || !tt.wantErr(err) {
				t.Errorf("error %v, not the expected kind", err)
			}
		})
	}
	t.Run("context canceled while backing off", func(t *testing.T) {
		c, err := client.New([]string{busy.URL}, client.WithRetryBudget(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = c.Quotas(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Errorf("after %s: %v, want the context's deadline promptly", time.Since(start), err)
		}
	})
}

// A write is sent to the next coordinator only when it surely was not
// applied; a read always is.
func TestWritesAreRetriedOnlyWhenNotApplied(t *testing.T) {
	broken := func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}
	unknown := func(w http.ResponseWriter, _ *http.Request) {
		answer(w, 503, `{"status":"raft leadership lost while committing; the outcome is unknown"}`)
	}
	tests := []struct {
		name        string
		first       http.HandlerFunc
		writeRetry  bool
		writeReason string
	}{
		{"connection refused", nil, true, ""},
		{"no leader", noLeader, true, ""},
		{"connection broken after sending", broken, false, "may or may not have been applied"},
		{"leadership lost mid-commit", unknown, false, "the outcome is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := deadURL(t)
			if tt.first != nil {
				first = newFake(t, tt.first).URL
			}
			second := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					answer(w, 200, `{"path":"/data","quotaBytes":1,"usedBytes":0,"remainingBytes":1}`)
					return
				}
				answer(w, 200, `{"results":[]}`)
			})
			c, _ := client.New([]string{first, second.URL})
			if _, err := c.Quotas(context.Background()); err != nil {
				t.Errorf("a read was not sent to the next coordinator: %v", err)
			}
			c, _ = client.New([]string{first, second.URL})
			_, err := c.SetQuota(context.Background(), "/data", 1)
			if tt.writeRetry {
				if err != nil {
					t.Errorf("a write that surely was not applied was not sent again: %v", err)
				}
				return
			}
			if !client.IsUnavailable(err) || !strings.Contains(err.Error(), tt.writeReason) {
				t.Errorf("a write of unknown outcome: %v, want IsUnavailable saying %q", err, tt.writeReason)
			}
			if n := second.hits.Load(); n != 1 { // the read only
				t.Errorf("the next coordinator was asked %d times, want 1 (the read)", n)
			}
		})
	}
}

// The token goes with every request, also after a 307 to the leader, and so
// does the body.
func TestTokenAndRedirect(t *testing.T) {
	leader := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			answer(w, 401, `{"status":"missing or invalid bearer token"}`)
			return
		}
		if !strings.Contains(string(b), `"path":"/data"`) {
			answer(w, 400, `{"status":"a JSON request body is required"}`)
			return
		}
		answer(w, 200, `{"path":"/data","ufs":"file:///srv/data"}`)
	})
	follower := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, leader.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	// The caller's own client: the client must not change its policy.
	hc := &http.Client{Timeout: 5 * time.Second}
	c, err := client.New([]string{follower.URL}, client.WithToken("s3cret"), client.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.AddMount(context.Background(), api.Mount{Path: "/data", UFS: "file:///srv/data"})
	if err != nil || m.UFS != "file:///srv/data" {
		t.Fatalf("AddMount through a redirect = %+v, %v", m, err)
	}
	if hc.CheckRedirect != nil {
		t.Error("New changed the caller's http.Client")
	}
	c, _ = client.New([]string{leader.URL})
	_, err = c.AddMount(context.Background(), api.Mount{Path: "/data", UFS: "file:///srv/data"})
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 401 || e.Message != "missing or invalid bearer token" {
		t.Errorf("without a token: %v", err)
	}
}

func TestStaleReadsAndOddAnswers(t *testing.T) {
	var lastQuery atomic.Value
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		lastQuery.Store(r.URL.RawQuery)
		switch r.URL.Path {
		case "/api/v1/quota":
			answer(w, 200, `{"results":[]}`)
		case "/api/v1/ttl":
			w.WriteHeader(502)
			io.WriteString(w, "bad gateway from a proxy")
		default:
			answer(w, 200, `not json`)
		}
	})
	c, _ := client.New([]string{f.URL}, client.WithStaleReads())
	if _, err := c.Quotas(context.Background()); err != nil {
		t.Fatal(err)
	}
	if q := lastQuery.Load(); q != "stale=true" {
		t.Errorf("a stale read sent query %q", q)
	}
	if _, err := c.SetQuota(context.Background(), "/x", 1); err != nil {
		t.Fatal(err)
	}
	if q := lastQuery.Load(); q != "" {
		t.Errorf("a write sent query %q", q)
	}
	_, err := c.TTLs(context.Background())
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 502 || !strings.Contains(e.Message, "bad gateway from a proxy") {
		t.Errorf("a non-JSON error answer: %v", err)
	}
	if _, err := c.Mounts(context.Background()); err == nil || !strings.Contains(err.Error(), "not the expected JSON") {
		t.Errorf("a 200 that is not JSON: %v", err)
	}
}
