package coordinator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/internal/testcluster"
)

// workerTimeout is how long the coordinators of workerCluster let a worker
// be silent.
const workerTimeout = 1500 * time.Millisecond

func workerCluster(t *testing.T) *testcluster.Cluster {
	t.Helper()
	c := testcluster.Start(t, 3, testcluster.Options{Coordinator: func(cfg *coordinator.Config) {
		cfg.WorkerTimeout = workerTimeout
	}})
	c.WaitPublished()
	return c
}

func postJSON(t *testing.T, url string, body, out any) int {
	t.Helper()
	resp, raw := do(t, http.MethodPost, url, body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %v: %s", url, err, raw)
		}
	}
	return resp.StatusCode
}

func node(t *testing.T, base, id string) api.Node {
	t.Helper()
	resp, raw := do(t, http.MethodGet, base+"/api/v1/nodes?id="+id, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET node %s: %d %s", id, resp.StatusCode, raw)
	}
	var n api.Node
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitState(t *testing.T, base, id, state string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for node(t, base, id).State != state {
		if time.Now().After(deadline) {
			t.Fatalf("worker %s did not become %s: %+v", id, state, node(t, base, id))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWorkerMembershipThroughAFollower(t *testing.T) {
	c := workerCluster(t)
	f := c.Nodes[c.Follower()].URL()
	reg := api.WorkerRegistration{ID: "worker-a", Address: "127.0.0.1:1", CapacityBytes: 1 << 30, StartTime: time.Now().Format(time.RFC3339)}
	if code := postJSON(t, f+api.PathWorkerRegister, reg, nil); code != http.StatusOK {
		t.Fatalf("register via follower: %d", code)
	}
	if n := node(t, f, "worker-a"); n.State != "LIVE" || n.CapacityBytes != 1<<30 {
		t.Fatalf("after registering: %+v", n)
	}
	// Heartbeats through the follower reach the leader's memory.
	var ans api.HeartbeatAnswer
	hb := api.Heartbeat{ID: "worker-a", UsedBytes: 4096, Pages: 1}
	if code := postJSON(t, f+api.PathWorkerHeartbeat, hb, &ans); code != http.StatusOK || ans.State != "LIVE" {
		t.Fatalf("heartbeat: %d %+v", code, ans)
	}
	if n := node(t, f, "worker-a"); n.UsedBytes != 4096 || n.LastHeartbeat == "" {
		t.Fatalf("node usage not live: %+v", n)
	}
	// Silence: LOST within the timeout; a heartbeat brings it back.
	waitState(t, f, "worker-a", "LOST")
	if code := postJSON(t, f+api.PathWorkerHeartbeat, hb, &ans); code != http.StatusOK || ans.State != "LIVE" {
		t.Fatalf("heartbeat of a lost worker: %d %+v", code, ans)
	}
	waitState(t, f, "worker-a", "LIVE")
	// Unknown workers are told to register; bad ids are refused.
	if code := postJSON(t, f+api.PathWorkerHeartbeat, api.Heartbeat{ID: "worker-zz"}, nil); code != http.StatusNotFound {
		t.Fatalf("heartbeat of an unknown worker: %d, want 404", code)
	}
	if code := postJSON(t, f+api.PathWorkerRegister, api.WorkerRegistration{ID: "w1", Address: "x:1"}, nil); code != http.StatusBadRequest {
		t.Fatalf("register with a bad id: %d, want 400", code)
	}
	// Removed: the heartbeat is refused with 410 (the worker stops), and a
	// worker started again registers anew.
	if resp, raw := do(t, http.MethodDelete, f+"/api/v1/nodes?id=worker-a", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("remove: %d %s", resp.StatusCode, raw)
	}
	if code := postJSON(t, f+api.PathWorkerHeartbeat, hb, &ans); code != http.StatusGone {
		t.Fatalf("heartbeat after removal: %d, want 410", code)
	}
	if code := postJSON(t, f+api.PathWorkerRegister, reg, nil); code != http.StatusOK {
		t.Fatalf("register after removal: %d, want 200", code)
	}
	if code := postJSON(t, f+api.PathWorkerHeartbeat, hb, &ans); code != http.StatusOK || ans.State != "LIVE" {
		t.Fatalf("heartbeat after registering anew: %d %+v", code, ans)
	}
}

func TestNewLeaderDoesNotLoseTheFleet(t *testing.T) {
	c := workerCluster(t)
	f := c.Nodes[c.Follower()].URL()
	for _, id := range []string{"worker-a", "worker-b"} {
		postJSON(t, f+api.PathWorkerRegister, api.WorkerRegistration{ID: id, Address: "127.0.0.1:1"}, nil)
	}
	var urls []string
	for _, m := range c.Nodes {
		urls = append(urls, m.URL())
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // both workers beat every 200 ms through whichever coordinator answers
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			for _, id := range []string{"worker-a", "worker-b"} {
				for _, u := range urls {
					req, _ := http.NewRequest(http.MethodPost, u+api.PathWorkerHeartbeat, strings.NewReader(`{"id":"`+id+`"}`))
					resp, err := testcluster.Client.Do(req)
					if err != nil {
						continue
					}
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						break
					}
				}
			}
		}
	}()
	old := c.Leader()
	c.Stop(old)
	next := c.Leader()
	// Nothing may happen to the workers: no LOST committed under the new
	// leader, not even one undone by the next heartbeat. A new leader that
	// counted them as never seen would commit them LOST one worker timeout
	// into its term; every state commit moves a worker's StateSince, so the
	// workers are watched, by the replicated state, for two timeouts.
	fsmOf := c.Nodes[next].Node.Coordinator.FSM
	since := map[string]time.Time{}
	for _, id := range []string{"worker-a", "worker-b"} {
		w, ok := fsmOf().Worker(id)
		if !ok || w.State != fsm.WorkerLive {
			t.Fatalf("at the failover %s is %+v", id, w)
		}
		since[id] = w.StateSince
	}
	for end := time.Now().Add(2 * workerTimeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for id, at := range since {
			if w, _ := fsmOf().Worker(id); w.State != fsm.WorkerLive || !w.StateSince.Equal(at) {
				t.Fatalf("after a failover %s went %s (state since %v, was %v)", id, w.State, w.StateSince, at)
			}
		}
	}
	for id := range since {
		if n := node(t, c.Nodes[next].URL(), id); n.State != "LIVE" {
			t.Fatalf("after a failover %s is %s", id, n.State)
		}
	}
}

func TestQuotaBudgetsAndPolicyLongPoll(t *testing.T) {
	c := workerCluster(t)
	l := c.Nodes[c.Leader()].URL()
	for _, id := range []string{"worker-a", "worker-b"} {
		postJSON(t, l+api.PathWorkerRegister, api.WorkerRegistration{ID: id, Address: "127.0.0.1:1"}, nil)
	}
	postJSON(t, l+"/api/v1/mount", api.Mount{Path: "/d", UFS: "file:///d"}, nil)
	var p api.WorkerPolicies
	resp, raw := do(t, http.MethodGet, l+api.PathWorkerPolicies+"?worker=worker-a", nil)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &p) != nil || len(p.Mounts) != 1 || len(p.Workers) != 2 {
		t.Fatalf("policies: %d %s", resp.StatusCode, raw)
	}
	// A long poll from a follower returns when the policies change.
	got := make(chan api.WorkerPolicies, 1)
	f := c.Nodes[c.Follower()].URL()
	polls := waitingPolls()
	go func() {
		var np api.WorkerPolicies
		resp, raw := do(t, http.MethodGet, f+api.PathWorkerPolicies+"?worker=worker-a&wait=20s&since="+strconv.FormatUint(p.Version, 10), nil)
		if resp.StatusCode == http.StatusOK {
			json.Unmarshal(raw, &np)
		}
		got <- np
	}()
	// The change is made once the poll waits for it, so that it is the
	// change, not the state at the poll's start, that answers the poll.
	deadline := time.Now().Add(15 * time.Second)
	for waitingPolls() == polls {
		if time.Now().After(deadline) {
			t.Fatal("the long poll never started waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
	postJSON(t, l+"/api/v1/quota", api.QuotaRequest{Path: "/d", Quota: ptr(api.Size(1001))}, nil)
	select {
	case np := <-got:
		if np.Version <= p.Version {
			t.Fatalf("the long poll returned version %d, not newer than %d", np.Version, p.Version)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long poll did not return on a change")
	}
	// The leader splits the quota among the workers; each sees its budget.
	deadline = time.Now().Add(20 * time.Second)
	for {
		var a, b api.WorkerPolicies
		_, raw := do(t, http.MethodGet, l+api.PathWorkerPolicies+"?worker=worker-a", nil)
		json.Unmarshal(raw, &a)
		_, raw = do(t, http.MethodGet, l+api.PathWorkerPolicies+"?worker=worker-b", nil)
		json.Unmarshal(raw, &b)
		if a.Budgets["/d"]+b.Budgets["/d"] == 1001 && a.Budgets["/d"] > 0 && b.Budgets["/d"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("budgets not split: %v %v", a.Budgets, b.Budgets)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp, _ := do(t, http.MethodGet, l+api.PathWorkerPolicies+"?since=x", nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad since: %d", resp.StatusCode)
	}
}

func ptr[T any](v T) *T { return &v }

// waitingPolls counts the goroutines of this process (the test's in-process
// coordinators) that wait in a policy long poll for a change: blocked in
// the select of Coordinator.WorkerPolicies.
func waitingPolls() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		header, frames, _ := strings.Cut(g, "\n")
		if strings.Contains(header, "[select") && waitsIn(frames, "coordinator.(*Coordinator).WorkerPolicies(") {
			count++
		}
	}
	return count
}

// waitsIn reports whether the first frame of a goroutine's stack outside
// the runtime is the function fn.
func waitsIn(frames, fn string) bool {
	for line := range strings.SplitSeq(frames, "\n") {
		switch {
		case strings.HasPrefix(line, "\t"):
			// a file:line of the frame above
		case strings.HasPrefix(line, "runtime."):
			// gopark, selectgo
		default:
			return strings.Contains(line, fn)
		}
	}
	return false
}

func TestClearStaleBroadcast(t *testing.T) {
	t.Parallel()
	c := workerCluster(t)
	l := c.Nodes[c.Leader()].URL()
	// A stand-in for a worker's task endpoint (the real worker has its own
	// tests): it records the request. The other worker's address is dead.
	var calls atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == api.PathClearStale {
			calls.Add(1)
			w.Write([]byte("{}"))
			return
		}
		http.NotFound(w, r)
	}))
	defer fake.Close()
	postJSON(t, l+api.PathWorkerRegister, api.WorkerRegistration{ID: "worker-up", Address: strings.TrimPrefix(fake.URL, "http://")}, nil)
	postJSON(t, l+api.PathWorkerRegister, api.WorkerRegistration{ID: "worker-down", Address: "127.0.0.1:1"}, nil)
	var res api.CacheOpResult
	if code := postJSON(t, l+"/api/v1/cache", api.CacheOp{Op: "clearStale"}, &res); code != http.StatusOK {
		t.Fatalf("clear stale: %d", code)
	}
	if calls.Load() != 1 || len(res.Errors) != 1 || res.Errors["worker-down"] == "" {
		t.Fatalf("clear stale: %d calls, errors %v", calls.Load(), res.Errors)
	}
}

// A worker's --ring-weight reaches the replicated record, the node listing
// and the policies every worker builds its ring from; a bad one is refused.
func TestRingWeightReachesEveryParty(t *testing.T) {
	c := workerCluster(t)
	f := c.Nodes[c.Follower()].URL()
	for _, bad := range []float64{-1, 2e6} {
		reg := api.WorkerRegistration{ID: "worker-bad", Address: "127.0.0.1:1", RingWeight: bad}
		if code := postJSON(t, f+api.PathWorkerRegister, reg, nil); code != http.StatusBadRequest {
			t.Fatalf("register with ring weight %v: %d, want 400", bad, code)
		}
	}
	reg := api.WorkerRegistration{ID: "worker-a", Address: "127.0.0.1:1", CapacityBytes: 1 << 30, RingWeight: 2.5,
		StartTime: time.Now().Format(time.RFC3339)}
	if code := postJSON(t, f+api.PathWorkerRegister, reg, nil); code != http.StatusOK {
		t.Fatalf("register: %d", code)
	}
	if n := node(t, f, "worker-a"); n.RingWeight != 2.5 || n.CapacityBytes != 1<<30 {
		t.Fatalf("node after registering: %+v", n)
	}
	var p api.WorkerPolicies
	l := c.Nodes[c.Leader()].URL()
	if resp, raw := do(t, http.MethodGet, l+api.PathWorkerPolicies+"?worker=worker-a", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("policies: %d %s", resp.StatusCode, raw)
	} else if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Workers) != 1 || p.Workers[0].RingWeight != 2.5 {
		t.Fatalf("policies carry workers %+v", p.Workers)
	}
}

// TestHeartbeatCommitsAChangedCapacity: a worker whose disk turned out
// smaller reports its effective capacity in heartbeats; the leader commits
// a real change (every coordinator's node listing and ring see it) and
// leaves a drift, or a heartbeat without the figure, alone.
func TestHeartbeatCommitsAChangedCapacity(t *testing.T) {
	c := workerCluster(t)
	f := c.Nodes[c.Follower()].URL()
	reg := api.WorkerRegistration{ID: "worker-a", Address: "127.0.0.1:1", CapacityBytes: 1 << 30, StartTime: time.Now().Format(time.RFC3339)}
	if code := postJSON(t, f+api.PathWorkerRegister, reg, nil); code != http.StatusOK {
		t.Fatalf("register: %d", code)
	}
	for _, step := range []struct {
		reported, want int64
	}{
		{0, 1 << 30},                 // an older worker: nothing sent
		{1<<30 - 1<<20, 1 << 30},     // a drift under 2%: not committed
		{256 << 20, 256 << 20},       // the disk filled up
		{256<<20 + 1<<20, 256 << 20}, // a drift again
	} {
		hb := api.Heartbeat{ID: "worker-a", CapacityBytes: step.reported}
		if code := postJSON(t, f+api.PathWorkerHeartbeat, hb, nil); code != http.StatusOK {
			t.Fatalf("heartbeat with capacity %d: %d", step.reported, code)
		}
		c.WaitApplied(c.Nodes[c.Leader()].Node.Coordinator.FSM().AppliedIndex())
		for _, n := range c.Nodes {
			if got := node(t, n.URL(), "worker-a"); got.CapacityBytes != step.want || got.State != "LIVE" {
				t.Fatalf("after reporting %d, %s shows %+v; want capacity %d", step.reported, n.URL(), got, step.want)
			}
		}
	}
}
