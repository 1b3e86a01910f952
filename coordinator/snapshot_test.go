package coordinator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/testcluster"
)

// snapshotClusterOptions keep the state still: jobs stay as submitted and
// workers that never heartbeat stay LIVE, so that two clusters' states can
// be compared.
func snapshotClusterOptions(store string) testcluster.Options {
	return testcluster.Options{Coordinator: func(cfg *coordinator.Config) {
		cfg.NoScheduler = true
		cfg.WorkerTimeout = time.Hour
		cfg.LogStore = store
	}}
}

// populate writes some of every kind of replicated state through the API.
func populate(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	ctx := context.Background()
	cl, err := client.New([]string{c.Nodes[c.Follower()].URL()})
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cl.AddMount(ctx, api.Mount{Path: "/data", UFS: "file:///srv/data"}))
	must(cl.AddMount(ctx, api.Mount{Path: "/s3", UFS: "s3://bucket/prefix", Options: map[string]string{"s3.region": "eu-west-1"}}))
	must(cl.SetQuota(ctx, "/data/team-a", 50<<30))
	must(cl.SetTTL(ctx, "/data/tmp", time.Hour))
	must(cl.SetPriority(ctx, "/data/scratch", "LOW"))
	must(cl.AddFilterRule(ctx, api.FilterRule{Rule: "skipCache", Pattern: "^/data/live/"}))
	must(cl.SetDefaultFilterRule(ctx, "maxAge", 10*time.Minute))
	must(c.Nodes[c.Leader()].Node.Coordinator.Apply(ctx, &fsm.RegisterWorker{Worker: fsm.Worker{ID: "worker-1", Address: "127.0.0.1:9001", CapacityBytes: 1 << 30}}))
	must(cl.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/x"}, Alias: "nightly"}))
	must(cl.SubmitFree(ctx, api.FreeRequest{Paths: []string{"/s3/old"}, Alias: "purge"}))
	must(cl.FileIndexAddEntries(ctx, api.FileEntry{Path: "/data/b.bin", Size: 20}))
	must(c.Nodes[c.Leader()].Node.Coordinator.Apply(ctx, &fsm.FileIndexAdd{Worker: "worker-1",
		Entries: []fsm.FileEntry{{Path: "/data/a.bin", Size: 10}}}))
}

// stateOf is what one coordinator answers from its own replica, as JSON:
// mounts, quotas, TTLs, priorities, cache filter, workers, jobs, file index.
func stateOf(t *testing.T, url string) (string, error) {
	t.Helper()
	ctx := context.Background()
	cl, err := client.New([]string{url}, client.WithStaleReads(), client.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Mounts     api.Mounts
		Quotas     api.Quotas
		TTLs       api.TTLs
		Priorities api.Priorities
		Filter     api.CacheFilter
		Nodes      api.Nodes
		Loads      api.Jobs
		Frees      api.Jobs
		Files      api.FileIndex
	}
	steps := []func() error{
		func() (err error) { st.Mounts, err = cl.Mounts(ctx); return },
		func() (err error) { st.Quotas, err = cl.Quotas(ctx); return },
		func() (err error) { st.TTLs, err = cl.TTLs(ctx); return },
		func() (err error) { st.Priorities, err = cl.Priorities(ctx); return },
		func() (err error) { st.Filter, err = cl.CacheFilter(ctx); return },
		func() (err error) { st.Nodes, err = cl.Nodes(ctx); return },
		func() (err error) { st.Loads, err = cl.LoadJobs(ctx, "", 0); return },
		func() (err error) { st.Frees, err = cl.FreeJobs(ctx, "", 0); return },
		func() (err error) { st.Files, err = cl.FileIndex(ctx, "", "", 0); return },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return "", err
		}
	}
	for _, js := range []*api.Jobs{&st.Loads, &st.Frees} {
		for i := range js.Results {
			js.Results[i].TimeElapsedMilliseconds = 0 // of the clock, not the state
		}
	}
	b, err := json.Marshal(st)
	return string(b), err
}

func rawPost(t *testing.T, url string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := testcluster.Client.Post(url, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// waitSnapshotState waits until the coordinator at url answers want.
func waitSnapshotState(t *testing.T, id, url, want string) {
	t.Helper()
	var got string
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got, err = stateOf(t, url); err == nil && got == want {
			return
		}
	}
	t.Fatalf("%s does not answer the saved state (err %v):\n got %s\nwant %s", id, err, got, want)
}

// A three-node cluster's state is saved, every coordinator is lost, and
// the file restored into a brand-new cluster through a follower: every
// coordinator then answers exactly the saved state, the cluster keeps its
// own addresses, and writes go on. Both log stores.
func TestSnapshotSaveWipeRestore(t *testing.T) {
	t.Parallel()
	for _, store := range []string{coordinator.LogStoreWAL, coordinator.LogStoreBolt} {
		t.Run(store, func(t *testing.T) {
			ctx := context.Background()
			a := testcluster.Start(t, 3, snapshotClusterOptions(store))
			a.WaitPublished()
			populate(t, a)
			aLeader := a.Nodes[a.Leader()]
			want, err := stateOf(t, aLeader.URL())
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{`"/s3"`, `/team-a"`, `"/data/tmp"`, `"LOW"`, `data/live/`, `"worker-1"`, `"nightly"`, `"/s3/old"`, `"/data/b.bin"`} {
				if !strings.Contains(want, s) {
					t.Fatalf("the populated state lacks %s: %s", s, want)
				}
			}
			// Saved through a follower: forwarded to the leader.
			save, err := client.New([]string{a.Nodes[a.Follower()].URL()})
			if err != nil {
				t.Fatal(err)
			}
			var file bytes.Buffer
			info, err := save.SaveSnapshot(ctx, &file)
			if err != nil {
				t.Fatal(err)
			}
			if info.Coordinator != aLeader.ID || info.Index == 0 || info.Index > aLeader.Node.Coordinator.FSM().AppliedIndex() || info.Term == 0 {
				t.Fatalf("saved %+v; the leader is %s at applied index %d", info, aLeader.ID, aLeader.Node.Coordinator.FSM().AppliedIndex())
			}
			aPolicy, _ := aLeader.Node.Coordinator.FSM().PolicyWatch()
			a.StopAll()

			b := testcluster.Start(t, 3, snapshotClusterOptions(store))
			b.WaitPublished()
			bLeader := b.Nodes[b.Leader()]
			if _, err := bLeader.Node.Coordinator.Apply(ctx, &fsm.AddMount{Mount: fsm.Mount{Path: "/lost", UFS: "file:///lost"}}); err != nil {
				t.Fatal(err)
			}
			bPolicy, _ := bLeader.Node.Coordinator.FSM().PolicyWatch()

			follower := b.Nodes[b.Follower()]
			resp, body := rawPost(t, follower.URL()+httpapi.PathSnapshot, file.Bytes())
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("restore through %s: %d %s", follower.ID, resp.StatusCode, body)
			}
			if got := resp.Header.Get(httpapi.ServedByHeader); got != bLeader.ID {
				t.Errorf("the restore was served by %q, want the leader %s", got, bLeader.ID)
			}
			var restored coordinator.SnapshotInfo
			if err := json.Unmarshal(body, &restored); err != nil || restored.SHA256 != info.SHA256 || restored.Index != info.Index {
				t.Errorf("restore answered %s (%v), want the file's header %+v", body, err, info)
			}
			for _, m := range b.Nodes {
				waitSnapshotState(t, m.ID, m.URL(), want)
			}
			// The coordinator table is this cluster's, so forwarding works.
			for _, m := range b.Nodes {
				for _, o := range b.Nodes {
					if co, ok := m.Node.Coordinator.FSM().Coordinator(o.ID); !ok || co.HTTPAddress != o.HTTPAddr {
						t.Errorf("%s knows %s as %+v, want %s", m.ID, o.ID, co, o.HTTPAddr)
					}
				}
			}
			// Workers see a policy version above any they knew.
			if v, _ := bLeader.Node.Coordinator.FSM().PolicyWatch(); v <= max(aPolicy, bPolicy, info.Index) {
				t.Errorf("policy version %d after the restore, not above %d, %d and the file's index %d", v, aPolicy, bPolicy, info.Index)
			}
			cl, err := client.New([]string{b.Nodes[b.Follower()].URL()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cl.AddMount(ctx, api.Mount{Path: "/after", UFS: "file:///after"}); err != nil {
				t.Fatalf("a write after the restore: %v", err)
			}
			if _, err := cl.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/x"}, Alias: "nightly"}); !client.IsConflict(err) {
				t.Errorf("submitting the restored job again: %v, want a conflict", err)
			}
			// A node that restarts recovers the restored state from its disk.
			i := b.Follower()
			b.Stop(i)
			b.Restart(i)
			after, err := stateOf(t, b.Nodes[b.Leader()].URL())
			if err != nil {
				t.Fatal(err)
			}
			waitSnapshotState(t, b.Nodes[i].ID, b.Nodes[i].URL(), after)
		})
	}
}
