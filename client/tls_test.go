package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	alluvium "github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/tlsconfig"
)

// TestTLS: WithTLS reaches a TLS server, upgrading an http:// URL; a client
// that does not trust the server's CA fails at once, with one attempt, and
// says why.
func TestTLS(t *testing.T) {
	srcFor := func() *tlsconfig.Source {
		ca, err := tlsconfig.NewCA("test", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ca.WriteFiles(t.TempDir(), "node", tlsconfig.DevHosts, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		s, err := tlsconfig.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	server, stranger := srcFor(), srcFor()
	var calls atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"c1","leader":"c1"}`))
	}))
	srv.TLS = server.Server(false)
	srv.StartTLS()
	defer srv.Close()
	plainURL := strings.Replace(srv.URL, "https://", "http://", 1)

	c, err := alluvium.New([]string{plainURL}, alluvium.WithTLS(server.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Health(context.Background()); err != nil {
		t.Fatalf("health over TLS: %v", err)
	}
	bad, err := alluvium.New([]string{srv.URL, srv.URL}, alluvium.WithTLS(stranger.Client()))
	if err != nil {
		t.Fatal(err)
	}
	began, before := time.Now(), calls.Load()
	_, err = bad.Health(context.Background())
	if err == nil || !errors.Is(err, alluvium.ErrUnavailable) || !strings.Contains(err.Error(), "TLS failed") {
		t.Fatalf("a client without the server's CA: %v", err)
	}
	if d := time.Since(began); d > 2*time.Second || calls.Load() != before {
		t.Fatalf("a TLS failure took %s and %d calls reached the server", d, calls.Load()-before)
	}
}
