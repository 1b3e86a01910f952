package coordinator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/testcluster"
)

func do(t *testing.T, method, url string, body any) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := testcluster.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func mountBody(i int) api.Mount {
	return api.Mount{Path: fmt.Sprintf("/m%d", i), UFS: fmt.Sprintf("file:///srv/m%d", i)}
}

func TestThreeNodesBootstrapAndPublish(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, 3, testcluster.Options{})
	leader := c.Leader()
	c.WaitPublished()
	for _, m := range c.Nodes {
		resp, body := do(t, http.MethodGet, m.URL()+"/api/v1/coordinators", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET coordinators on %s: %d %s", m.ID, resp.StatusCode, body)
		}
		var st api.Coordinators
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		if st.Leader != c.Nodes[leader].ID || len(st.Results) != 3 {
			t.Fatalf("%s sees leader %q and %d coordinators: %s", m.ID, st.Leader, len(st.Results), body)
		}
		for _, r := range st.Results {
			if r.HTTPAddress == "" || !r.Voter {
				t.Errorf("%s: coordinator %+v lacks an address or is not a voter", m.ID, r)
			}
		}
		resp, body = do(t, http.MethodGet, m.URL()+"/api/v1/health", nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("health on %s: %d %s", m.ID, resp.StatusCode, body)
		}
	}
}

func TestWriteToFollowerIsForwarded(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, 3, testcluster.Options{})
	c.WaitPublished()
	leader, follower := c.Leader(), c.Follower()
	fURL := c.Nodes[follower].URL()

	resp, body := do(t, http.MethodPost, fURL+"/api/v1/mount", mountBody(1))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST mount on a follower: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get(httpapi.ServedByHeader); got != c.Nodes[leader].ID {
		t.Errorf("served by %q, want the leader %q", got, c.Nodes[leader].ID)
	}
	// A linearizable read on the follower (forwarded) sees it at once.
	resp, body = do(t, http.MethodGet, fURL+"/api/v1/mount?path=/m1", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET mount on the follower: %d %s", resp.StatusCode, body)
	}
	// Every replica applies it.
	c.WaitApplied(c.Nodes[leader].Node.Coordinator.FSM().AppliedIndex())
	for _, m := range c.Nodes {
		if _, ok := m.Node.Coordinator.FSM().Mount("/m1"); !ok {
			t.Errorf("%s has not applied the forwarded write", m.ID)
		}
	}
	// A stale read is answered by the follower itself.
	resp, _ = do(t, http.MethodGet, fURL+"/api/v1/mount?path=/m1&stale=true", nil)
	if got := resp.Header.Get(httpapi.ServedByHeader); resp.StatusCode != http.StatusOK || got != c.Nodes[follower].ID {
		t.Errorf("stale read: %d served by %q, want 200 by %q", resp.StatusCode, got, c.Nodes[follower].ID)
	}
	// A conflicting write through the follower gets the leader's 409.
	resp, body = do(t, http.MethodPost, fURL+"/api/v1/mount", mountBody(1))
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("duplicate mount via follower: %d %s, want 409", resp.StatusCode, body)
	}
}

func TestLeaderKillLosesNoAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, 3, testcluster.Options{})
	c.WaitPublished()
	old := c.Leader()
	co := c.Nodes[old].Node.Coordinator
	ctx := context.Background()
	acked := 0
	for i := range 50 {
		if _, err := co.Apply(ctx, &fsm.AddMount{Mount: fsm.Mount{Path: "/m" + strconv.Itoa(i), UFS: "file:///srv/m" + strconv.Itoa(i)}}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		acked++
	}
	c.Stop(old)
	next := c.Leader()
	if next == old {
		t.Fatal("the stopped node still leads")
	}
	nc := c.Nodes[next].Node.Coordinator
	if err := nc.ConsistentRead(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(nc.FSM().Mounts()); got != acked {
		t.Fatalf("new leader has %d mounts, %d were acknowledged", got, acked)
	}
	// The cluster still takes writes with one node down.
	if _, err := nc.Apply(ctx, &fsm.AddMount{Mount: fsm.Mount{Path: "/after", UFS: "file:///srv/after"}}); err != nil {
		t.Fatal(err)
	}
}

// logStores runs a test on each Raft log store.
func logStores(t *testing.T, test func(t *testing.T, store string)) {
	for _, store := range []string{coordinator.LogStoreBolt, coordinator.LogStoreWAL} {
		t.Run(store, func(t *testing.T) { test(t, store) })
	}
}

func TestRestartAllKeepsState(t *testing.T) {
	t.Parallel()
	logStores(t, testRestartAllKeepsState)
}

func testRestartAllKeepsState(t *testing.T, store string) {
	c := testcluster.Start(t, 3, testcluster.Options{Coordinator: func(cfg *coordinator.Config) { cfg.LogStore = store }})
	l := c.Leader()
	co := c.Nodes[l].Node.Coordinator
	ctx := context.Background()
	for i := range 30 {
		if _, err := co.Apply(ctx, &fsm.AddMount{Mount: fsm.Mount{Path: "/m" + strconv.Itoa(i), UFS: "file:///srv/m" + strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := co.Apply(ctx, &fsm.SetQuota{Path: "/m3", Bytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	// Snapshot one node so that recovery goes through snapshot + log.
	if err := c.Nodes[(l+1)%3].Node.Coordinator.Snapshot(); err != nil {
		t.Fatal(err)
	}
	c.StopAll()
	for i := range c.Nodes {
		c.Restart(i)
	}
	nl := c.Nodes[c.Leader()].Node.Coordinator
	if err := nl.ConsistentRead(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(nl.FSM().Mounts()); got != 30 {
		t.Fatalf("after restarting all: %d mounts, want 30", got)
	}
	if q, ok := nl.FSM().Quota("/m3"); !ok || q.QuotaBytes != 1<<30 {
		t.Fatalf("after restarting all: quota %+v, %v", q, ok)
	}
	for _, m := range c.Nodes {
		if got := len(m.Node.Coordinator.FSM().Mounts()); got != 30 {
			// Followers catch up shortly after the election.
			c.WaitApplied(nl.FSM().AppliedIndex())
			if got = len(m.Node.Coordinator.FSM().Mounts()); got != 30 {
				t.Errorf("%s has %d mounts after restart", m.ID, got)
			}
		}
	}
}

func TestLaggingNodeCatchesUpBySnapshot(t *testing.T) {
	t.Parallel()
	logStores(t, testLaggingNodeCatchesUpBySnapshot)
}

func testLaggingNodeCatchesUpBySnapshot(t *testing.T, store string) {
	c := testcluster.Start(t, 3, testcluster.Options{Coordinator: func(cfg *coordinator.Config) {
		cfg.TrailingLogs = 8 // a snapshot truncates all but 8 entries
		cfg.LogStore = store
	}})
	l := c.Leader()
	lagging := (l + 1) % 3
	c.Stop(lagging)
	co := c.Nodes[l].Node.Coordinator
	ctx := context.Background()
	for i := range 200 {
		if _, err := co.Apply(ctx, &fsm.FileIndexAdd{Entries: []fsm.FileEntry{{Path: "/f/" + strconv.Itoa(i), Size: int64(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := co.Snapshot(); err != nil {
		t.Fatal(err)
	}
	first, _, err := co.LogBounds()
	if err != nil {
		t.Fatal(err)
	}
	if first <= 100 {
		t.Fatalf("the snapshot did not truncate the log: first index %d", first)
	}
	c.Restart(lagging)
	lc := c.Nodes[lagging].Node.Coordinator
	deadline := time.Now().Add(30 * time.Second)
	for lc.FSM().FileIndexLen() != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("lagging node has %d of 200 entries", lc.FSM().FileIndexLen())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// raft-wal deletes a truncated head only with whole segment files
	// (64 MiB), and keeps serving what is still there, so with it a small
	// log may be caught up from the log itself.
	// The FSM is restored before raft records the snapshot's index, so
	// give raft a moment to catch up with its own bookkeeping.
	if store == coordinator.LogStoreBolt {
		for {
			if snap, _ := strconv.ParseUint(lc.Raft().Stats()["last_snapshot_index"], 10, 64); snap > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the lagging node caught up without installing a snapshot: %v", lc.Raft().Stats())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestJoinAddsAVoter(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, 3, testcluster.Options{})
	c.WaitPublished()
	follower := c.Follower()
	m := c.Add(c.Nodes[follower].URL()) // joins through a follower: forwarded
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.Nodes[c.Leader()].Node.Coordinator.Status()
		if err != nil {
			t.Fatal(err)
		}
		voters := 0
		for _, s := range st.Results {
			if s.Voter && s.HTTPAddress != "" {
				voters++
			}
		}
		if voters == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new node %s did not become a published voter: %+v", m.ID, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The new node receives the log.
	lc := c.Nodes[c.Leader()].Node.Coordinator
	if _, err := lc.Apply(context.Background(), &fsm.AddMount{Mount: fsm.Mount{Path: "/joined", UFS: "file:///srv/j"}}); err != nil {
		t.Fatal(err)
	}
	c.WaitApplied(lc.FSM().AppliedIndex())
	if _, ok := m.Node.Coordinator.FSM().Mount("/joined"); !ok {
		t.Fatal("the joined node did not apply a later write")
	}

	// Remove it again through a follower's API.
	resp, body := do(t, http.MethodDelete, c.Nodes[c.Follower()].URL()+"/api/v1/coordinators?id="+m.ID, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE coordinator: %d %s", resp.StatusCode, body)
	}
	st, err := c.Nodes[c.Leader()].Node.Coordinator.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Results {
		if s.ID == m.ID {
			t.Fatalf("%s is still a member after DELETE: %+v", m.ID, st)
		}
	}
	if _, ok := c.Nodes[c.Leader()].Node.Coordinator.FSM().Coordinator(m.ID); ok {
		t.Fatalf("%s's addresses are still published", m.ID)
	}
	resp, _ = do(t, http.MethodDelete, c.Nodes[c.Leader()].URL()+"/api/v1/coordinators?id="+m.ID, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE of a removed coordinator: %d, want 404", resp.StatusCode)
	}
}

func TestDataDirKeepsItsLogStore(t *testing.T) {
	t.Parallel()
	c := testcluster.Start(t, 1, testcluster.Options{Coordinator: func(cfg *coordinator.Config) { cfg.LogStore = coordinator.LogStoreBolt }})
	co := c.Nodes[c.Leader()].Node.Coordinator
	if _, err := co.Apply(context.Background(), &fsm.AddMount{Mount: fsm.Mount{Path: "/a", UFS: "file:///a"}}); err != nil {
		t.Fatal(err)
	}
	c.Stop(0)
	c.Nodes[0].SetLogStore(coordinator.LogStoreWAL) // the default changed: the dir still holds bolt
	c.Restart(0)
	co = c.Nodes[c.Leader()].Node.Coordinator
	if err := co.ConsistentRead(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := co.FSM().Mount("/a"); !ok {
		t.Fatal("a restart with another log-store setting lost the log")
	}
}

// WaitLeader on the node that leads returns only once it is ready for
// writes, after a first start and after a restart on the same data dir
// (where the log already names a leader with its address).
func TestWaitLeaderOnTheLeaderMeansReadyForWrites(t *testing.T) {
	t.Parallel()
	nodes := startBoltCluster(t, 1, nil)
	cfg := nodes[0].Config()
	for round := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if _, err := nodes[0].WaitLeader(ctx); err != nil {
			cancel()
			t.Fatal(err)
		}
		if !nodes[0].IsLeader() {
			t.Fatalf("round %d: WaitLeader returned before the leader was ready", round)
		}
		if _, err := nodes[0].Apply(ctx, &fsm.AddMount{Mount: fsm.Mount{Path: fmt.Sprintf("/m%d", round), UFS: fmt.Sprintf("file:///tmp/m%d", round)}}); err != nil {
			t.Fatalf("round %d: a write right after WaitLeader: %v", round, err)
		}
		cancel()
		if round == 0 { // restart on the same data dir
			nodes[0].Shutdown()
			ln, err := net.Listen("tcp", cfg.RaftListener.Addr().String())
			if err != nil {
				t.Skipf("the raft port was taken meanwhile: %v", err)
			}
			cfg.RaftListener = ln
			co, err := coordinator.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { co.Shutdown() })
			nodes[0] = co
		}
	}
}
