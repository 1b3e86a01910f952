package worker

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/jsonhttp"
)

// fakeCoordinator answers the worker-facing routes from memory, so that
// the worker's side of the protocol can be driven into corners (a lost
// registration, a decommission) that a real cluster reaches only slowly.
type fakeCoordinator struct {
	mu            sync.Mutex
	registrations []api.WorkerRegistration
	heartbeats    []api.Heartbeat
	known         bool
	state         string
	policies      api.WorkerPolicies
	changed       chan struct{}
	auth          []string
	// hbStatus, when set, answers heartbeats with this error status.
	hbStatus int
	// ackReports acknowledges each holding report whole, as the index does.
	ackReports bool
}

func newFake() *fakeCoordinator {
	return &fakeCoordinator{state: "LIVE", changed: make(chan struct{})}
}

func (f *fakeCoordinator) setPolicies(p api.WorkerPolicies) {
	f.mu.Lock()
	f.policies = p
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeCoordinator) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	switch r.URL.Path {
	case api.PathWorkerRegister:
		var reg api.WorkerRegistration
		_ = json.NewDecoder(r.Body).Decode(&reg)
		f.mu.Lock()
		f.registrations = append(f.registrations, reg)
		f.known = true
		f.mu.Unlock()
		jsonhttp.WriteJSON(rw, 200, api.Node{ID: reg.ID, State: "LIVE"})
	case api.PathWorkerHeartbeat:
		var hb api.Heartbeat
		_ = json.NewDecoder(r.Body).Decode(&hb)
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.known {
			jsonhttp.WriteError(rw, 404, "worker "+hb.ID+" is not registered")
			return
		}
		f.heartbeats = append(f.heartbeats, hb)
		if f.hbStatus != 0 {
			jsonhttp.WriteError(rw, f.hbStatus, "refused")
			return
		}
		ans := api.HeartbeatAnswer{State: f.state, PolicyVersion: f.policies.Version}
		if rep := hb.Holdings; f.ackReports && rep != nil && len(rep.Events) > 0 {
			ans.Holdings = api.HoldingAck{Epoch: rep.Epoch, Seq: rep.Events[len(rep.Events)-1].Seq}
		}
		jsonhttp.WriteJSON(rw, 200, ans)
	case api.PathWorkerPolicies:
		since, _ := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
		wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
		f.mu.Lock()
		p, ch := f.policies, f.changed
		f.mu.Unlock()
		if p.Version <= since {
			select {
			case <-ch:
			case <-time.After(wait):
			case <-r.Context().Done():
			}
			f.mu.Lock()
			p = f.policies
			f.mu.Unlock()
		}
		jsonhttp.WriteJSON(rw, 200, p)
	default:
		http.NotFound(rw, r)
	}
}

func (f *fakeCoordinator) counts() (regs, beats int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.registrations), len(f.heartbeats)
}

func TestMembershipLoops(t *testing.T) {
	fake := newFake()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // the first coordinator is down: the worker moves on

	dir := ufsDir(t, map[string]int{"a": 100})
	cfg := testConfig(t.TempDir())
	cfg.Coordinators = []string{deadURL, srv.URL}
	cfg.Token = "tok"
	cfg.Version = "v-test"
	w := newWorker(t, cfg)
	if err := w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(t.Context()); err == nil {
		t.Fatal("second Start accepted")
	}

	waitFor(t, 10*time.Second, "registration and heartbeats", func() bool {
		regs, beats := fake.counts()
		return regs == 1 && beats >= 2
	})
	fake.mu.Lock()
	reg := fake.registrations[0]
	for _, a := range fake.auth {
		if a != "Bearer tok" {
			t.Errorf("Authorization %q", a)
		}
	}
	fake.mu.Unlock()
	if reg.ID != w.ID() || reg.Address != cfg.HTTPAddress || reg.CapacityBytes != cfg.CapacityBytes || reg.Version != "v-test" {
		t.Fatalf("registration %+v", reg)
	}
	if _, err := time.Parse(time.RFC3339, reg.StartTime); err != nil {
		t.Fatalf("start time %q", reg.StartTime)
	}

	// Policies reach the worker; heartbeats then report the version and
	// the usage under the quota directory.
	p := policies(7, dir, self(w))
	p.Budgets = map[string]int64{"/m": 1 << 20}
	fake.setPolicies(p)
	waitFor(t, 10*time.Second, "policy version 7", func() bool { return w.PolicyVersion() == 7 })
	if resp, _ := do(t, w.Handler(), "GET", "/api/v1/data/m/a", nil, nil); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	waitFor(t, 10*time.Second, "a heartbeat with the usage", func() bool {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		hb := fake.heartbeats[len(fake.heartbeats)-1]
		return hb.PolicyVersion == 7 && hb.UsedBytes == 100 && hb.Pages == 1 && hb.QuotaUsage["/m"] == 100
	})

	// The coordinators forget the worker: it registers again.
	fake.mu.Lock()
	fake.known = false
	fake.mu.Unlock()
	waitFor(t, 10*time.Second, "a second registration", func() bool {
		regs, _ := fake.counts()
		return regs == 2
	})

	// Decommissioned: the worker stops claiming its paths.
	fake.mu.Lock()
	fake.state = "DECOMMISSIONED"
	fake.mu.Unlock()
	waitFor(t, 10*time.Second, "the decommission", func() bool { return w.decommissioned.Load() })

	if err := w.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, before := fake.counts()
	time.Sleep(3 * cfg.HeartbeatInterval) // nothing to poll for: the loops are gone
	if _, after := fake.counts(); after != before {
		t.Fatalf("heartbeats after Shutdown: %d then %d", before, after)
	}
}

// A 400 to a heartbeat carrying a holding report starts a new epoch; a 410
// removes the worker: it stops beating.
func TestHeartbeatRefusals(t *testing.T) {
	fake := newFake()
	fake.ackReports = true
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	dir := ufsDir(t, map[string]int{"a": 100})
	cfg := testConfig(t.TempDir())
	cfg.Coordinators = []string{srv.URL}
	w := newWorker(t, cfg)
	if err := w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	fake.setPolicies(policies(7, dir, self(w)))
	waitFor(t, 10*time.Second, "policy version 7", func() bool { return w.PolicyVersion() == 7 })
	var epoch uint64
	waitFor(t, 10*time.Second, "the first epoch acknowledged", func() bool {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		for _, hb := range fake.heartbeats {
			if hb.Holdings != nil {
				epoch = hb.Holdings.Epoch
			}
		}
		return epoch != 0 && w.journal.started()
	})

	fake.mu.Lock()
	fake.hbStatus = http.StatusBadRequest
	fake.mu.Unlock()
	if resp, _ := do(t, w.Handler(), "GET", "/api/v1/data/m/a", nil, nil); resp.StatusCode != 200 { // a holding change to report
		t.Fatal(resp.StatusCode)
	}
	waitFor(t, 10*time.Second, "a new epoch after the refusal", func() bool {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		hb := fake.heartbeats[len(fake.heartbeats)-1]
		return hb.Holdings != nil && hb.Holdings.Epoch > epoch && hb.Holdings.Events[0].Reset
	})

	fake.mu.Lock()
	fake.hbStatus = http.StatusGone
	fake.mu.Unlock()
	waitFor(t, 10*time.Second, "the removal", w.Removed)
	if resp, _ := do(t, w.Handler(), "GET", "/api/v1/data/m/a", nil, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a removed worker served a read: %d", resp.StatusCode)
	}
}
