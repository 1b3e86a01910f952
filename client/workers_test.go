package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/jsonhttp"
)

// The worker routes: a policy long poll outlasts the http.Client's timeout
// (ctx bounds it), a heartbeat does not; errors keep their status; the
// query carries since, worker and wait; the token goes along.
func TestWorkerRoutes(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			jsonhttp.WriteError(w, 401, "token")
			return
		}
		switch r.URL.Path {
		case api.PathWorkerPolicies:
			q := r.URL.Query()
			if q.Get("since") != "7" || q.Get("worker") != "worker-1" || q.Get("wait") != "30s" {
				jsonhttp.WriteError(w, 400, "query "+r.URL.RawQuery)
				return
			}
			select {
			case <-release:
			case <-time.After(300 * time.Millisecond): // beyond the client's timeout
			}
			jsonhttp.WriteJSON(w, 200, api.WorkerPolicies{Version: 8})
		case api.PathWorkerHeartbeat:
			<-release
		case api.PathWorkerRegister:
			jsonhttp.WriteError(w, 410, "worker worker-1 was removed")
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := client.New([]string{srv.URL}, client.WithToken("tok"), client.WithRetries(0),
		client.WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p, err := c.WorkerPolicies(ctx, "worker-1", 7, 30*time.Second)
	if err != nil || p.Version != 8 {
		t.Fatalf("policies: %+v, %v", p, err)
	}
	if _, err := c.Heartbeat(ctx, api.Heartbeat{ID: "worker-1"}); err == nil {
		t.Fatal("a heartbeat outlasted the http.Client's timeout")
	}
	_, err = c.RegisterWorker(ctx, api.WorkerRegistration{ID: "worker-1"})
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 410 || e.Message != "worker worker-1 was removed" || !client.IsGone(err) {
		t.Fatalf("register: %v", err)
	}
}
