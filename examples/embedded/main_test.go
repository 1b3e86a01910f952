package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The service starts on loopback, answers its own routes, Alluvium's API
// and the dashboard on one port, and stops cleanly when its context ends.
func TestEmbeddedService(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	done := make(chan error, 1)
	o := options{addr: "127.0.0.1:0", raftAddr: "127.0.0.1:0", dataDir: t.TempDir(),
		logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go func() { done <- run(ctx, o, func(u string) { urls <- u }) }()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("run ended before serving: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the service did not start within 30s")
	}

	ufs := t.TempDir() // the coordinator checks that a mounted UFS exists
	hc := &http.Client{Timeout: 10 * time.Second}
	steps := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/hello", "", 200, "the leader is c1"},
		{"GET", "/api/v1/coordinators", "", 200, `"leader":"c1"`},
		{"POST", "/api/v1/mount", `{"path": "/data", "ufs": "file://` + ufs + `"}`, 200, `"path":"/data"`},
		{"POST", "/api/v1/quota", `{"path": "/data/team-a", "quota": "5GiB"}`, 200, `"quotaBytes":5368709120`},
		{"POST", "/api/v1/quota", `{"path": "/elsewhere", "quota": "5GiB"}`, 400, "not under any mount point"},
		{"GET", "/teams", "", 200, `[{"path":"/data/team-a","bytes":5368709120}]`},
		{"GET", "/", "", 200, "<title>Alluvium</title>"},
		{"GET", "/nothing", "", 404, ""},
	}
	for _, s := range steps {
		req, err := http.NewRequest(s.method, url+s.path, strings.NewReader(s.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", s.method, s.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != s.status || !strings.Contains(string(body), s.want) {
			t.Errorf("%s %s: %d %s, want %d with %q", s.method, s.path, resp.StatusCode, body, s.status, s.want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the service did not stop within 30s")
	}
}
