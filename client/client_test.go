package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/internal/testcluster"
)

// startCluster starts a real three-node cluster with one registered worker
// and returns it with a client of one of its followers.
func startCluster(t *testing.T, opts testcluster.Options) (*testcluster.Cluster, *client.Client) {
	t.Helper()
	configure := opts.Coordinator
	opts.Coordinator = func(cfg *coordinator.Config) {
		cfg.NoScheduler = true // jobs stay as submitted: these tests are about the API
		if configure != nil {
			configure(cfg)
		}
	}
	c := testcluster.Start(t, 3, opts)
	c.WaitPublished()
	w := fsm.Worker{ID: "worker-1", Address: "127.0.0.1:9001", CapacityBytes: 1 << 30}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.Nodes[c.Leader()].Node.Coordinator.Apply(context.Background(), &fsm.RegisterWorker{Worker: w})
		if err == nil {
			break
		}
		if time.Now().After(deadline) { // leadership may move on a busy machine
			t.Fatal(err)
		}
	}
	cl, err := client.New([]string{c.Nodes[c.Follower()].URL()})
	if err != nil {
		t.Fatal(err)
	}
	return c, cl
}

// status is the status code of an *Error, 0 for other errors.
func status(err error) int {
	var e *client.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

func isBadRequest(err error) bool { return status(err) == http.StatusBadRequest }

// isLocal reports an error the client found before sending anything.
func isLocal(err error) bool { return err != nil && status(err) == 0 && !client.IsUnavailable(err) }

// step is one call of a conversation with a real cluster: what to call, and
// either a check of the answer or the kind of error expected.
type step struct {
	name    string
	call    func(ctx context.Context, c *client.Client) (any, error)
	check   func(v any) string // "" when the answer is right, else what is wrong
	wantErr func(error) bool
}

// calm gives a cluster raft timings that ride out a busy machine: a
// spurious election mid-conversation would leave a write's outcome unknown,
// which the client rightly reports rather than hides.
var calm = testcluster.Options{Coordinator: func(cfg *coordinator.Config) {
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 2*time.Second, 2*time.Second, time.Second
}}

func TestEveryMethodAgainstARealCluster(t *testing.T) {
	_, cl := startCluster(t, calm)
	ctx := context.Background()
	var firstLoadID string // remembered for the conflict steps
	size := func(s string) api.Size { v, _ := api.ParseSize(s); return v }
	rule := func(r, p string, d time.Duration) api.FilterRule {
		fr := api.FilterRule{Rule: r, Pattern: p}
		if d > 0 {
			v := api.Duration(d)
			fr.Time = &v
		}
		return fr
	}
	steps := []step{
		{"coordinators", func(ctx context.Context, c *client.Client) (any, error) { return c.Coordinators(ctx) },
			func(v any) string {
				st := v.(api.Coordinators)
				if st.Leader == "" || len(st.Results) != 3 {
					return "want a leader and three coordinators"
				}
				return ""
			}, nil},
		{"health", func(ctx context.Context, c *client.Client) (any, error) { return c.Health(ctx) },
			func(v any) string {
				if h := v.(api.Health); h.Status != "ok" || h.Leader == "" {
					return "want ok with a leader"
				}
				return ""
			}, nil},
		{"openapi", func(ctx context.Context, c *client.Client) (any, error) { return c.OpenAPI(ctx) },
			func(v any) string {
				var doc struct {
					OpenAPI string         `json:"openapi"`
					Paths   map[string]any `json:"paths"`
				}
				if err := json.Unmarshal(v.(json.RawMessage), &doc); err != nil || doc.OpenAPI == "" || doc.Paths["/api/v1/load"] == nil {
					return "want an OpenAPI document with /api/v1/load"
				}
				return ""
			}, nil},
		{"add coordinator without addresses", func(ctx context.Context, c *client.Client) (any, error) {
			return nil, c.AddCoordinator(ctx, api.JoinRequest{ID: "c9"})
		}, nil, isBadRequest},
		{"remove unknown coordinator", func(ctx context.Context, c *client.Client) (any, error) {
			return nil, c.RemoveCoordinator(ctx, "c9")
		}, nil, client.IsNotFound},

		// Mounts.
		{"add mount", func(ctx context.Context, c *client.Client) (any, error) {
			return c.AddMount(ctx, api.Mount{Path: "/data", UFS: "file:///srv/data", Options: map[string]string{"a.secret": "x", "b": "y"}})
		}, func(v any) string {
			if m := v.(api.Mount); m.Path != "/data" || m.Options["a.secret"] != "***" || m.Options["b"] != "y" {
				return "want /data with its secret masked"
			}
			return ""
		}, nil},
		{"add mount again", func(ctx context.Context, c *client.Client) (any, error) {
			return c.AddMount(ctx, api.Mount{Path: "/data", UFS: "file:///srv/other"})
		}, nil, client.IsConflict},
		{"add mount bad scheme", func(ctx context.Context, c *client.Client) (any, error) {
			return c.AddMount(ctx, api.Mount{Path: "/h", UFS: "hdfs://nn/x"})
		}, nil, isBadRequest},
		{"add second mount", func(ctx context.Context, c *client.Client) (any, error) {
			return c.AddMount(ctx, api.Mount{Path: "/tmp", UFS: "file:///srv/tmp"})
		}, nil, nil},
		{"mounts", func(ctx context.Context, c *client.Client) (any, error) { return c.Mounts(ctx) },
			func(v any) string {
				if ms := v.(api.Mounts); len(ms.Results) != 2 {
					return "want two mount points"
				}
				return ""
			}, nil},
		{"mount", func(ctx context.Context, c *client.Client) (any, error) { return c.Mount(ctx, "/data") },
			func(v any) string {
				if m := v.(api.Mount); m.UFS != "file:///srv/data" {
					return "want the UFS of /data"
				}
				return ""
			}, nil},
		{"mount missing", func(ctx context.Context, c *client.Client) (any, error) { return c.Mount(ctx, "/nope") }, nil, client.IsNotFound},
		{"remove mount", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.RemoveMount(ctx, "/tmp") }, nil, nil},
		{"remove mount again", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.RemoveMount(ctx, "/tmp") }, nil, client.IsGone},

		// Quotas, TTLs, priorities.
		{"set quota", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SetQuota(ctx, "/data/a", size("50GiB"))
		},
			func(v any) string {
				if q := v.(api.Quota); q.QuotaBytes != 50<<30 || q.RemainingBytes != 50<<30 {
					return "want 50GiB, all remaining"
				}
				return ""
			}, nil},
		{"set quota outside mounts", func(ctx context.Context, c *client.Client) (any, error) { return c.SetQuota(ctx, "/elsewhere", 1) }, nil, isBadRequest},
		{"quota", func(ctx context.Context, c *client.Client) (any, error) { return c.Quota(ctx, "/data/a") },
			func(v any) string {
				if v.(api.Quota).Path != "/data/a" {
					return "want /data/a"
				}
				return ""
			}, nil},
		{"quota missing", func(ctx context.Context, c *client.Client) (any, error) { return c.Quota(ctx, "/data/zz") }, nil, client.IsNotFound},
		{"quotas", func(ctx context.Context, c *client.Client) (any, error) { return c.Quotas(ctx) },
			func(v any) string {
				if len(v.(api.Quotas).Results) != 1 {
					return "want one quota"
				}
				return ""
			}, nil},
		{"delete quota", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.DeleteQuota(ctx, "/data/a") }, nil, nil},
		{"delete quota again", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.DeleteQuota(ctx, "/data/a") }, nil, isBadRequest},

		{"set ttl", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SetTTL(ctx, "/data/a", 90*time.Minute)
		},
			func(v any) string {
				if tt := v.(api.TTL); tt.TTL == nil || time.Duration(*tt.TTL) != 90*time.Minute {
					return "want 1h30m"
				}
				return ""
			}, nil},
		{"set ttl zero", func(ctx context.Context, c *client.Client) (any, error) { return c.SetTTL(ctx, "/data/a", 0) }, nil, isBadRequest},
		{"ttl", func(ctx context.Context, c *client.Client) (any, error) { return c.TTL(ctx, "/data/a") },
			func(v any) string {
				if v.(api.TTL).TTL.String() != "1h30m0s" {
					return "want 1h30m0s"
				}
				return ""
			}, nil},
		{"ttl missing", func(ctx context.Context, c *client.Client) (any, error) { return c.TTL(ctx, "/data/b") }, nil, client.IsNotFound},
		{"ttls", func(ctx context.Context, c *client.Client) (any, error) { return c.TTLs(ctx) },
			func(v any) string {
				if len(v.(api.TTLs).Results) != 1 {
					return "want one ttl"
				}
				return ""
			}, nil},
		{"delete ttl", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.DeleteTTL(ctx, "/data/a") }, nil, nil},
		{"delete ttl again", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.DeleteTTL(ctx, "/data/a") }, nil, isBadRequest},

		{"set priority", func(ctx context.Context, c *client.Client) (any, error) { return c.SetPriority(ctx, "/data/a", "low") },
			func(v any) string {
				if v.(api.Priority).Priority != "LOW" {
					return "want LOW"
				}
				return ""
			}, nil},
		{"set priority unknown", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SetPriority(ctx, "/data/a", "urgent")
		}, nil, isBadRequest},
		{"priority", func(ctx context.Context, c *client.Client) (any, error) { return c.Priority(ctx, "/data/a") }, nil, nil},
		{"priority missing", func(ctx context.Context, c *client.Client) (any, error) { return c.Priority(ctx, "/data/q") }, nil, client.IsNotFound},
		{"priorities", func(ctx context.Context, c *client.Client) (any, error) { return c.Priorities(ctx) },
			func(v any) string {
				if len(v.(api.Priorities).Results) != 1 {
					return "want one priority"
				}
				return ""
			}, nil},
		{"delete priority", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.DeletePriority(ctx, "/data/a") }, nil, nil},
		{"delete priority again", func(ctx context.Context, c *client.Client) (any, error) { return nil, c.DeletePriority(ctx, "/data/a") }, nil, isBadRequest},

		// Cache filter.
		{"add filter rule", func(ctx context.Context, c *client.Client) (any, error) {
			return c.AddFilterRule(ctx, rule("maxAge", "^/data/live/", 10*time.Minute))
		}, func(v any) string {
			if r := v.(api.FilterRule); r.Time == nil || r.Time.String() != "10m0s" {
				return "want a 10m maxAge"
			}
			return ""
		}, nil},
		{"add filter rule bad regex", func(ctx context.Context, c *client.Client) (any, error) {
			return c.AddFilterRule(ctx, rule("immutable", "(", 0))
		}, nil, isBadRequest},
		{"set default filter rule", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SetDefaultFilterRule(ctx, "maxAge", time.Hour)
		}, nil, nil},
		{"set default filter rule unknown", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SetDefaultFilterRule(ctx, "sometimes", 0)
		}, nil, isBadRequest},
		{"cache filter", func(ctx context.Context, c *client.Client) (any, error) { return c.CacheFilter(ctx) },
			func(v any) string {
				f := v.(api.CacheFilter)
				if len(f.Rules) != 1 || f.DefaultRule != "maxAge" || f.DefaultTime == nil {
					return "want one rule and a maxAge default"
				}
				return ""
			}, nil},
		{"remove filter rule", func(ctx context.Context, c *client.Client) (any, error) {
			return nil, c.RemoveFilterRule(ctx, "maxAge", "^/data/live/")
		}, nil, nil},
		{"remove filter rule again", func(ctx context.Context, c *client.Client) (any, error) {
			return nil, c.RemoveFilterRule(ctx, "maxAge", "^/data/live/")
		}, nil, isBadRequest},

		// File index and cache.
		{"file index add", func(ctx context.Context, c *client.Client) (any, error) {
			return c.FileIndexAdd(ctx, "/data/a", "/data/b", "/data/c")
		},
			func(v any) string {
				if v.(int) != 3 {
					return "want 3 added"
				}
				return ""
			}, nil},
		{"file index add relative", func(ctx context.Context, c *client.Client) (any, error) { return c.FileIndexAdd(ctx, "rel") }, nil, isBadRequest},
		{"file index add entries", func(ctx context.Context, c *client.Client) (any, error) {
			return c.FileIndexAddEntries(ctx, api.FileEntry{Path: "/data/a", Size: 10}, api.FileEntry{Path: "/data/d", Size: 4})
		}, func(v any) string {
			if v.(int) != 1 {
				return "want 1 added"
			}
			return ""
		}, nil},
		{"file index page", func(ctx context.Context, c *client.Client) (any, error) { return c.FileIndex(ctx, "", "", 2) },
			func(v any) string {
				if fi := v.(api.FileIndex); len(fi.Results) != 2 || fi.NextKey != "/data/b" || fi.Results[0].Size != 10 {
					return "want /data/a (10 bytes) and /data/b, then nextKey /data/b"
				}
				return ""
			}, nil},
		{"file index next page", func(ctx context.Context, c *client.Client) (any, error) { return c.FileIndex(ctx, "", "/data/b", 0) },
			func(v any) string {
				if fi := v.(api.FileIndex); len(fi.Results) != 2 || fi.NextKey != "" {
					return "want /data/c and /data/d, no nextKey"
				}
				return ""
			}, nil},
		{"file index prefix", func(ctx context.Context, c *client.Client) (any, error) { return c.FileIndex(ctx, "/data/d", "", 0) },
			func(v any) string {
				if fi := v.(api.FileIndex); len(fi.Results) != 1 {
					return "want /data/d only"
				}
				return ""
			}, nil},
		{"file index remove", func(ctx context.Context, c *client.Client) (any, error) {
			return c.FileIndexRemove(ctx, "/data/a", "/data/zz")
		},
			func(v any) string {
				if v.(int) != 1 {
					return "want 1 removed"
				}
				return ""
			}, nil},
		{"file index remove nothing", func(ctx context.Context, c *client.Client) (any, error) { return c.FileIndexRemove(ctx) }, nil, isBadRequest},
		{"clear stale", func(ctx context.Context, c *client.Client) (any, error) { return c.ClearStale(ctx) },
			func(v any) string {
				// The registered worker-1 has no server behind its address,
				// so the broadcast reports it as not reached.
				if r := v.(api.CacheOpResult); len(r.Errors) != 1 || r.Errors["worker-1"] == "" {
					return "want worker-1 reported unreachable"
				}
				return ""
			}, nil},
		{"stop clear stale", func(ctx context.Context, c *client.Client) (any, error) { return c.StopClearStale(ctx) }, nil, nil},
		{"clear stale status", func(ctx context.Context, c *client.Client) (any, error) { return c.ClearStaleStatus(ctx) }, nil, nil},

		// Load jobs.
		{"submit load", func(ctx context.Context, c *client.Client) (any, error) {
			bs := 50
			return c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/a", "file:///srv/data/b"}, Alias: "set-1",
				Options: &api.LoadOptions{BatchSize: &bs, Verify: true}})
		}, func(v any) string {
			j := v.(api.Job)
			firstLoadID = j.ID
			if j.Type != "load" || j.State != "WAITING" || j.Options.BatchSize != 50 || !j.Options.Verify {
				return "want a WAITING load job with batch size 50 and verify"
			}
			return ""
		}, nil},
		{"submit load index", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SubmitLoad(ctx, api.LoadRequest{Index: "/data/list.txt"})
		}, nil, nil},
		{"submit load again", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/b", "/data/a", "/data/b"}, Alias: "set-2"})
		}, nil, func(err error) bool { return conflictIs(err, firstLoadID, "WAITING", false, "set-1") }},
		{"submit load under the alias of other paths", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/a"}, Alias: "set-1"})
		}, nil, func(err error) bool { return conflictIs(err, firstLoadID, "", false, "") }},
		{"submit load outside mounts", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/other/a"}, Alias: "x"})
		}, nil, isBadRequest},
		{"load job by alias", func(ctx context.Context, c *client.Client) (any, error) {
			return c.LoadJob(ctx, client.ByAlias("set-1"))
		},
			func(v any) string {
				if v.(api.Job).ID != firstLoadID {
					return "want the first job"
				}
				return ""
			}, nil},
		{"load job by index", func(ctx context.Context, c *client.Client) (any, error) {
			return c.LoadJob(ctx, client.ByIndex("/data/list.txt"))
		}, nil, nil},
		{"load job missing", func(ctx context.Context, c *client.Client) (any, error) {
			return c.LoadJob(ctx, client.ByAlias("nope"))
		}, nil, client.IsNotFound},
		{"load job empty selector", func(ctx context.Context, c *client.Client) (any, error) { return c.LoadJob(ctx, api.JobSelector{}) }, nil, isLocal},
		{"load job by target", func(ctx context.Context, c *client.Client) (any, error) {
			return c.LoadJob(ctx, client.ByTarget("ALL"))
		}, nil, isLocal},
		{"load jobs page", func(ctx context.Context, c *client.Client) (any, error) { return c.LoadJobs(ctx, "", 1) },
			func(v any) string {
				if js := v.(api.Jobs); len(js.Results) != 1 || js.NextKey != firstLoadID {
					return "want the first job and a nextKey"
				}
				return ""
			}, nil},
		{"load jobs rest", func(ctx context.Context, c *client.Client) (any, error) { return c.LoadJobs(ctx, firstLoadID, 0) },
			func(v any) string {
				if js := v.(api.Jobs); len(js.Results) != 1 || js.Results[0].Index != "/data/list.txt" {
					return "want the index job"
				}
				return ""
			}, nil},
		{"stop load", func(ctx context.Context, c *client.Client) (any, error) {
			return c.StopLoad(ctx, client.ByAlias("set-1"))
		},
			func(v any) string {
				if v.(api.Job).State != "STOPPED" {
					return "want STOPPED"
				}
				return ""
			}, nil},
		{"stop load again", func(ctx context.Context, c *client.Client) (any, error) {
			return c.StopLoad(ctx, client.ByAlias("set-1"))
		}, nil, client.IsGone},
		{"resume load", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/a", "file:///srv/data/b"}, Alias: "set-1"})
		}, nil, func(err error) bool {
			return conflictIs(err, firstLoadID, "WAITING", true, "set-1") && strings.Contains(err.Error(), "resumed")
		}},

		// Free jobs.
		{"submit free", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SubmitFree(ctx, api.FreeRequest{Paths: []string{"/data/a"}, Alias: "f1", Options: &api.FreeOptions{Force: true}})
		}, func(v any) string {
			if j := v.(api.Job); j.Type != "free" || !j.Options.Force {
				return "want a forced free job"
			}
			return ""
		}, nil},
		{"submit free without alias", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SubmitFree(ctx, api.FreeRequest{Paths: []string{"/data/a"}})
		}, nil, isBadRequest},
		{"free job", func(ctx context.Context, c *client.Client) (any, error) { return c.FreeJob(ctx, client.ByAlias("f1")) }, nil, nil},
		{"free job missing", func(ctx context.Context, c *client.Client) (any, error) {
			return c.FreeJob(ctx, client.ByIndex("/data/none"))
		}, nil, client.IsNotFound},
		{"free jobs", func(ctx context.Context, c *client.Client) (any, error) { return c.FreeJobs(ctx, "", 0) },
			func(v any) string {
				if js := v.(api.Jobs); len(js.Results) != 1 || js.Results[0].Alias != "f1" {
					return "want f1 only"
				}
				return ""
			}, nil},
		{"stop free", func(ctx context.Context, c *client.Client) (any, error) { return c.StopFree(ctx, client.ByAlias("f1")) }, nil, nil},
		{"stop free again", func(ctx context.Context, c *client.Client) (any, error) { return c.StopFree(ctx, client.ByAlias("f1")) }, nil, client.IsGone},

		// Nodes and rebalance jobs.
		{"nodes", func(ctx context.Context, c *client.Client) (any, error) { return c.Nodes(ctx) },
			func(v any) string {
				if ns := v.(api.Nodes); len(ns.Results) != 1 || ns.Results[0].State != "LIVE" {
					return "want worker-1, LIVE"
				}
				return ""
			}, nil},
		{"node", func(ctx context.Context, c *client.Client) (any, error) { return c.Node(ctx, "worker-1") },
			func(v any) string {
				if v.(api.Node).Address != "127.0.0.1:9001" {
					return "want worker-1's address"
				}
				return ""
			}, nil},
		{"node missing", func(ctx context.Context, c *client.Client) (any, error) { return c.Node(ctx, "worker-x") }, nil, client.IsNotFound},
		{"submit rebalance", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SubmitRebalance(ctx, api.RebalanceRequest{Target: "worker-1", Options: &api.RebalanceOptions{SkipPrune: true}})
		}, func(v any) string {
			if j := v.(api.Job); j.Target != "worker-1" || !j.Options.SkipPrune {
				return "want a rebalance of worker-1 that skips pruning"
			}
			return ""
		}, nil},
		{"submit rebalance again", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SubmitRebalance(ctx, api.RebalanceRequest{Target: "worker-1"})
		}, nil, func(err error) bool { return client.IsConflict(err) && client.ConflictID(err) != "" }},
		{"submit rebalance unknown worker", func(ctx context.Context, c *client.Client) (any, error) {
			return c.SubmitRebalance(ctx, api.RebalanceRequest{Target: "worker-x"})
		}, nil, isBadRequest},
		{"rebalance job by target", func(ctx context.Context, c *client.Client) (any, error) {
			return c.RebalanceJob(ctx, client.ByTarget("worker-1"))
		}, nil, nil},
		{"rebalance job missing", func(ctx context.Context, c *client.Client) (any, error) {
			return c.RebalanceJob(ctx, client.ByID("nope"))
		}, nil, client.IsNotFound},
		{"rebalance job by alias", func(ctx context.Context, c *client.Client) (any, error) {
			return c.RebalanceJob(ctx, client.ByAlias("x"))
		}, nil, isLocal},
		{"rebalance jobs", func(ctx context.Context, c *client.Client) (any, error) { return c.RebalanceJobs(ctx, "", 0) },
			func(v any) string {
				if js := v.(api.Jobs); len(js.Results) != 1 {
					return "want one rebalance job"
				}
				return ""
			}, nil},
		{"stop rebalance", func(ctx context.Context, c *client.Client) (any, error) {
			return c.StopRebalance(ctx, client.ByTarget("worker-1"))
		}, nil, nil},
		{"stop rebalance again", func(ctx context.Context, c *client.Client) (any, error) {
			return c.StopRebalance(ctx, client.ByTarget("worker-1"))
		}, nil, client.IsGone},
		{"remove missing", func(ctx context.Context, c *client.Client) (any, error) { return c.RemoveNode(ctx, "worker-x") }, nil, client.IsNotFound},
		{"remove", func(ctx context.Context, c *client.Client) (any, error) { return c.RemoveNode(ctx, "worker-1") },
			func(v any) string {
				if v.(api.Node).ID != "worker-1" {
					return "want the removed worker"
				}
				return ""
			}, nil},
		{"removed", func(ctx context.Context, c *client.Client) (any, error) { return c.Node(ctx, "worker-1") }, nil, client.IsNotFound},
		{"remove again", func(ctx context.Context, c *client.Client) (any, error) { return c.Decommission(ctx, "worker-1") }, nil, client.IsNotFound},
	}
	for _, s := range steps {
		v, err := s.call(ctx, cl)
		switch {
		case s.wantErr != nil && !s.wantErr(err):
			t.Errorf("%s: error %v (status %d), not the expected kind", s.name, err, status(err))
		case s.wantErr == nil && err != nil:
			t.Errorf("%s: %v", s.name, err)
		case s.wantErr == nil && s.check != nil:
			if msg := s.check(v); msg != "" {
				t.Errorf("%s: %s; got %+v", s.name, msg, v)
			}
		}
	}
}

func TestErrorPredicates(t *testing.T) {
	conflict := &client.Error{StatusCode: 409, Message: "job J1 exists and was resumed", ID: "J1"}
	wrapped := errors.Join(errors.New("context"), conflict)
	tests := []struct {
		name                                  string
		err                                   error
		notFound, isConflict, gone, unavailab bool
		id                                    string
	}{
		{"404", &client.Error{StatusCode: 404}, true, false, false, false, ""},
		{"409", conflict, false, true, false, false, "J1"},
		{"409 wrapped", wrapped, false, true, false, false, "J1"},
		{"410", &client.Error{StatusCode: 410}, false, false, true, false, ""},
		{"503", &client.Error{StatusCode: 503}, false, false, false, true, ""},
		{"no answer", client.ErrUnavailable, false, false, false, true, ""},
		{"other", errors.New("x"), false, false, false, false, ""},
		{"nil", nil, false, false, false, false, ""},
	}
	for _, tt := range tests {
		if got := client.IsNotFound(tt.err); got != tt.notFound {
			t.Errorf("%s: IsNotFound = %v", tt.name, got)
		}
		if got := client.IsConflict(tt.err); got != tt.isConflict {
			t.Errorf("%s: IsConflict = %v", tt.name, got)
		}
		if got := client.IsGone(tt.err); got != tt.gone {
			t.Errorf("%s: IsGone = %v", tt.name, got)
		}
		if got := client.IsUnavailable(tt.err); got != tt.unavailab {
			t.Errorf("%s: IsUnavailable = %v", tt.name, got)
		}
		if got := client.ConflictID(tt.err); got != tt.id {
			t.Errorf("%s: ConflictID = %q", tt.name, got)
		}
	}
	if got := (&client.Error{StatusCode: 502}).Error(); got != "502 Bad Gateway" {
		t.Errorf("an error without a reason reads %q", got)
	}
	if got := conflict.Error(); got != "job J1 exists and was resumed" {
		t.Errorf("an error reads %q, want the server's reason", got)
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, urls := range [][]string{nil, {""}, {" , "}, {"ftp://host"}, {"http://"}, {"http://h/?q=1"}, {"http://u:p@h"}} {
		if _, err := client.New(urls); err == nil {
			t.Errorf("New(%q) succeeded", urls)
		}
	}
	c, err := client.New([]string{"127.0.0.1:1/", "http://a:2,https://b:3/prefix/"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://127.0.0.1:1", "http://a:2", "https://b:3/prefix"}
	if got := c.URLs(); !slices.Equal(got, want) {
		t.Errorf("URLs = %q, want %q", got, want)
	}
}

// The leader dies: its URL refuses connections and the others answer 503
// until they elect a new leader; a write given every URL goes through.
func TestFailoverInARealCluster(t *testing.T) {
	c, _ := startCluster(t, testcluster.Options{})
	l := c.Leader()
	urls := []string{c.Nodes[l].URL()}
	for i, m := range c.Nodes {
		if i != l {
			urls = append(urls, m.URL())
		}
	}
	cl, err := client.New(urls, client.WithRetryBudget(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	c.Stop(l)
	ctx := context.Background()
	if _, err := cl.AddMount(ctx, api.Mount{Path: "/data", UFS: "file:///srv/data"}); err != nil {
		t.Fatalf("a write after the leader's death: %v", err)
	}
	if m, err := cl.Mount(ctx, "/data"); err != nil || m.UFS != "file:///srv/data" {
		t.Fatalf("a read after the leader's death: %+v, %v", m, err)
	}
}
