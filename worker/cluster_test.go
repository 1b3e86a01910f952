package worker

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/testcluster"
)

// startServed starts a worker whose Handler is served on loopback, talking
// to the given coordinators.
func startServed(t *testing.T, urls []string, token string) *Worker {
	t.Helper()
	return startServedWith(t, urls, token, nil)
}

// startServedWith is startServed with the worker's config adjusted by
// adjust (when not nil).
func startServedWith(t *testing.T, urls []string, token string, adjust func(*Config)) *Worker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t.TempDir())
	cfg.HTTPAddress = ln.Addr().String()
	cfg.Coordinators = urls
	cfg.Token = token
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.PolicyWait = 2 * time.Second
	if adjust != nil {
		adjust(&cfg)
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	if err := w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Close()
		shutdown(w)
	})
	return w
}

// coordinatorCall sends an API request with the token and decodes a 200.
func coordinatorCall(t *testing.T, method, url, token string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
	if resp.StatusCode != 200 {
		t.Logf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// TestWithCoordinators runs three workers against a three-node coordinator
// cluster on loopback: they register and become LIVE, heartbeat their usage,
// receive policies set through the API, and serve reads through owners.
func TestWithCoordinators(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	const token = "cluster-token"
	c := testcluster.Start(t, 3, testcluster.Options{
		Coordinator: func(cfg *coordinator.Config) {
			cfg.AuthToken = token
			cfg.WorkerTimeout = 3 * time.Second
		},
		API: func(o *httpapi.Options) { o.AuthToken = token },
	})
	c.WaitPublished()
	var urls []string
	for _, m := range c.Nodes {
		urls = append(urls, m.URL())
	}
	base := urls[c.Follower()] // followers forward writes to the leader

	dir := t.TempDir()
	var files [][]byte
	for i := range 12 {
		files = append(files, writeFile(t, filepath.Join(dir, fmt.Sprintf("f%d", i)), 2*testPage+i))
	}
	if code := coordinatorCall(t, "POST", base+"/api/v1/mount", token, api.Mount{Path: "/m", UFS: "file://" + dir}, nil); code != 200 {
		t.Fatalf("mount: %d", code)
	}

	var ws []*Worker
	for i := range 3 {
		// Each worker knows the coordinators in another order.
		ws = append(ws, startServed(t, append(urls[i:len(urls):len(urls)], urls[:i]...), token))
	}

	waitFor(t, 20*time.Second, "three LIVE workers on every worker's ring", func() bool {
		var nodes api.Nodes
		if coordinatorCall(t, "GET", base+"/api/v1/nodes", token, nil, &nodes) != 200 {
			return false
		}
		live := 0
		for _, n := range nodes.Results {
			if n.State == "LIVE" {
				live++
			}
		}
		if live != 3 {
			return false
		}
		for _, w := range ws {
			if w.Ring().Len() != 3 || len(w.Policies().Mounts) != 1 {
				return false
			}
		}
		return true
	})

	// A TTL and a priority set through the API reach every worker.
	ttl := api.Duration(time.Hour)
	if code := coordinatorCall(t, "POST", base+"/api/v1/ttl", token, api.TTL{Path: "/m", TTL: &ttl}, nil); code != 200 {
		t.Fatalf("ttl: %d", code)
	}
	if code := coordinatorCall(t, "POST", base+"/api/v1/priority", token, api.Priority{Path: "/m", Priority: "HIGH"}, nil); code != 200 {
		t.Fatalf("priority: %d", code)
	}
	waitFor(t, 10*time.Second, "the TTL and priority on every worker", func() bool {
		for _, w := range ws {
			p := w.Policies()
			if len(p.TTLs) != 1 || len(p.Priorities) != 1 || p.Priorities[0].Priority != "HIGH" {
				return false
			}
		}
		return true
	})

	// Reads through any worker reach the owner (following the 307) and the
	// owner caches the file.
	client := &http.Client{Timeout: 10 * time.Second}
	for i, content := range files {
		p := fmt.Sprintf("/m/f%d", i)
		entry := ws[i%3]
		resp, err := client.Get("http://" + entry.cfg.HTTPAddress + "/api/v1/data" + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || sha256.Sum256(body) != sha256.Sum256(content) {
			t.Fatalf("%s via %s: %d, %d bytes", p, entry.ID(), resp.StatusCode, len(body))
		}
		owner, _ := entry.Ring().Owner(p)
		for _, w := range ws {
			_, cached := w.Cache().Stat(p)
			if cached != (w.ID() == owner) {
				t.Fatalf("%s: cached on %s = %v; owner %s", p, w.ID(), cached, owner)
			}
		}
	}

	// Heartbeats carry the usage to GET /api/v1/nodes.
	waitFor(t, 10*time.Second, "usage in the node list", func() bool {
		var nodes api.Nodes
		if coordinatorCall(t, "GET", base+"/api/v1/nodes", token, nil, &nodes) != 200 {
			return false
		}
		used := map[string]int64{}
		for _, n := range nodes.Results {
			used[n.ID] = n.UsedBytes
		}
		for _, w := range ws {
			if used[w.ID()] != w.Cache().Stats().UsedBytes {
				return false
			}
		}
		return true
	})

	// The leader goes away: workers move to the other coordinators, stay
	// LIVE, and still receive policies.
	leader := c.Leader()
	c.Stop(leader)
	stopped := time.Now()
	var rest string
	for i, m := range c.Nodes {
		if i != leader {
			rest = m.URL()
		}
	}
	c.Leader() // a new one is elected
	waitFor(t, 20*time.Second, "a priority set after the failover", func() bool {
		return coordinatorCall(t, "POST", rest+"/api/v1/priority", token, api.Priority{Path: "/m", Priority: "LOW"}, nil) == 200
	})
	waitFor(t, 20*time.Second, "LOW on every worker, all LIVE", func() bool {
		for _, w := range ws {
			p := w.Policies()
			if len(p.Priorities) != 1 || p.Priorities[0].Priority != "LOW" {
				return false
			}
		}
		var nodes api.Nodes
		if coordinatorCall(t, "GET", rest+"/api/v1/nodes", token, nil, &nodes) != 200 {
			return false
		}
		for _, n := range nodes.Results {
			last, err := time.Parse(time.RFC3339Nano, n.LastHeartbeat)
			if n.State != "LIVE" || err != nil || !last.After(stopped) {
				return false // not yet heard by the new leader
			}
		}
		return true
	})
	base = rest

	// Clear-stale through the coordinators reaches every worker (with the
	// token) and removes nothing: every file is on its owner.
	var res api.CacheOpResult
	if code := coordinatorCall(t, "POST", base+"/api/v1/cache", token, api.CacheOp{Op: "clearStale"}, &res); code != 200 || len(res.Errors) != 0 {
		t.Fatalf("clear stale: %d %v", code, res.Errors)
	}
	waitFor(t, 10*time.Second, "clear-stale to finish", func() bool {
		for _, w := range ws {
			st, ran := w.clear.report()
			if !ran || st.Running {
				return false
			}
			if st.RemovedBytes != 0 {
				t.Fatalf("%s removed %d bytes", w.ID(), st.RemovedBytes)
			}
		}
		return true
	})
}
