package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/coordinator/coordinatortest"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/ufs"
	"github.com/julienschmidt/httprouter"
)

// step is one request of a scripted conversation with the API, and what the
// answer must be: the status, and fragments the compact JSON body contains
// (or must not contain).
type step struct {
	name    string
	method  string
	path    string
	body    string
	code    int
	want    []string
	wantNot []string
}

// newLeader starts a one-node in-memory cluster and returns its coordinator
// with a mount at /data and one registered worker.
func newLeader(t testing.TB) *coordinator.Coordinator {
	t.Helper()
	// Jobs stay as submitted: the contract is about the API, not the scheduler.
	c := coordinatortest.New(t, 1, coordinatortest.WithConfig(func(cfg *coordinator.Config) { cfg.NoScheduler = true }))
	co := c.WaitLeader()
	ctx := context.Background()
	if _, err := co.Apply(ctx, &fsm.AddMount{Mount: fsm.Mount{Path: "/data", UFS: "file:///srv/data"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := co.Apply(ctx, &fsm.RegisterWorker{Worker: fsm.Worker{ID: "worker-1", Address: "127.0.0.1:9001", CapacityBytes: 1 << 30}}); err != nil {
		t.Fatal(err)
	}
	return co
}

func serve(t *testing.T, b httpapi.Backend, opts httpapi.Options) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	httpapi.Register(httpapi.ServeMux(mux), b, opts)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

func run(t *testing.T, base string, steps []step, header http.Header) {
	t.Helper()
	for _, s := range steps {
		var body io.Reader
		if s.body != "" {
			body = strings.NewReader(s.body)
		}
		req, err := http.NewRequest(s.method, base+s.path, body)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := compact(raw)
		if resp.StatusCode != s.code {
			t.Errorf("%s: %s %s = %d %s, want %d", s.name, s.method, s.path, resp.StatusCode, got, s.code)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", s.name, ct)
		}
		if !json.Valid(raw) {
			t.Errorf("%s: answer is not JSON: %s", s.name, raw)
		}
		if resp.StatusCode >= 400 && !strings.Contains(got, `"status":"`) {
			t.Errorf("%s: error answer lacks a status reason: %s", s.name, got)
		}
		for _, w := range s.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: answer %s lacks %s", s.name, got, w)
			}
		}
		for _, w := range s.wantNot {
			if strings.Contains(got, w) {
				t.Errorf("%s: answer %s has %s", s.name, got, w)
			}
		}
	}
}

var mountSteps = []step{
	{"list", "GET", "/api/v1/mount", "", 200, []string{`{"path":"/data","ufs":"file:///srv/data"}`}, nil},
	{"get one", "GET", "/api/v1/mount?path=/data", "", 200, []string{`"ufs":"file:///srv/data"`}, nil},
	{"get missing", "GET", "/api/v1/mount?path=/nope", "", 404, nil, nil},
	{"unknown query", "GET", "/api/v1/mount?paht=/data", "", 400, []string{"paht"}, nil},
	{"add s3 with secrets", "POST", "/api/v1/mount", `{"path":"/s3","ufs":"s3://bucket/prefix","options":{"s3.region":"us-east-1","s3.secretAccessKey":"hunter2","s3.accessKeyId":"AKIA"}}`, 200,
		[]string{`"s3.region":"us-east-1"`, `"s3.secretAccessKey":"***"`, `"s3.accessKeyId":"***"`}, []string{"hunter2", "AKIA"}},
	{"secrets never echoed in lists", "GET", "/api/v1/mount", "", 200, []string{`"***"`}, []string{"hunter2", "AKIA"}},
	{"no body", "POST", "/api/v1/mount", "", 400, []string{"body is required"}, nil},
	{"malformed", "POST", "/api/v1/mount", `{"path":`, 400, []string{"malformed JSON"}, nil},
	{"unknown field", "POST", "/api/v1/mount", `{"path":"/x","ufs":"file:///x","extra":1}`, 400, []string{`unknown field \"extra\"`}, nil},
	{"wrong type", "POST", "/api/v1/mount", `{"path":7,"ufs":"file:///x"}`, 400, []string{`field \"path\" must be a string`}, nil},
	{"field names are case-sensitive", "POST", "/api/v1/mount", `{"PATH":"/x","Ufs":"file:///x"}`, 400, []string{`unknown field \"PATH\"`}, nil},
	{"duplicate field", "POST", "/api/v1/mount", `{"path":"/x","path":"/y","ufs":"file:///x"}`, 400, []string{"twice"}, nil},
	{"nested case", "POST", "/api/v1/load", `{"paths":["/data/a"],"alias":"c","options":{"BatchSize":5}}`, 400, []string{`options.BatchSize`}, nil},
	{"stale as 1", "GET", "/api/v1/mount?path=/data&stale=1", "", 200, nil, nil},
	{"stale as nonsense", "GET", "/api/v1/mount?stale=maybe", "", 400, []string{"stale"}, nil},
	{"health takes no query", "GET", "/api/v1/health?bogus=1", "", 400, nil, nil},
	{"trailing data", "POST", "/api/v1/mount", `{"path":"/x","ufs":"file:///x"} {}`, 400, []string{"after the JSON"}, nil},
	{"missing ufs", "POST", "/api/v1/mount", `{"path":"/x"}`, 400, []string{`\"ufs\" is required`}, nil},
	{"relative path", "POST", "/api/v1/mount", `{"path":"x","ufs":"file:///x"}`, 400, []string{"not absolute"}, nil},
	{"unclean path", "POST", "/api/v1/mount", `{"path":"/x/../y","ufs":"file:///x"}`, 400, []string{"not clean"}, nil},
	{"bad scheme", "POST", "/api/v1/mount", `{"path":"/x","ufs":"hdfs://nn/x"}`, 400, []string{"not supported"}, nil},
	{"duplicate", "POST", "/api/v1/mount", `{"path":"/data","ufs":"file:///other"}`, 409, []string{"mounted already"}, nil},
	{"nested", "POST", "/api/v1/mount", `{"path":"/data/sub","ufs":"file:///other"}`, 409, []string{"inside mount point"}, nil},
	{"above", "POST", "/api/v1/mount", `{"path":"/","ufs":"file:///other"}`, 409, []string{"above mount point"}, nil},
	{"ufs elsewhere", "POST", "/api/v1/mount", `{"path":"/again","ufs":"file:///srv/data"}`, 409, []string{"overlaps"}, nil},
	{"delete", "DELETE", "/api/v1/mount", `{"path":"/s3"}`, 200, nil, nil},
	{"delete again", "DELETE", "/api/v1/mount", `{"path":"/s3"}`, 410, []string{"not mounted"}, nil},
	{"delete no path", "DELETE", "/api/v1/mount", `{}`, 400, nil, nil},
}

var policySteps = []step{
	{"quota empty", "GET", "/api/v1/quota", "", 200, []string{`{"results":[]}`}, nil},
	{"quota add string size", "POST", "/api/v1/quota", `{"path":"/data/a","quota":"50GiB"}`, 200, []string{`"quotaBytes":53687091200`}, nil},
	{"quota update int size", "POST", "/api/v1/quota", `{"path":"/data/a","quota":1000}`, 200, []string{`"quotaBytes":1000`, `"remainingBytes":1000`}, nil},
	{"quota decimal unit", "POST", "/api/v1/quota", `{"path":"/data/b","quota":"10GB"}`, 200, []string{`"quotaBytes":10000000000`}, nil},
	{"quota get", "GET", "/api/v1/quota?path=/data/a", "", 200, []string{`"path":"/data/a"`, `"usedBytes":0`}, nil},
	{"quota get missing", "GET", "/api/v1/quota?path=/data/zz", "", 404, nil, nil},
	{"quota list", "GET", "/api/v1/quota", "", 200, []string{`"/data/a"`, `"/data/b"`}, nil},
	{"quota not under mount", "POST", "/api/v1/quota", `{"path":"/elsewhere","quota":"1GiB"}`, 400, []string{"not under any mount point"}, nil},
	{"quota bad size", "POST", "/api/v1/quota", `{"path":"/data/a","quota":"12XB"}`, 400, []string{"12XB"}, nil},
	{"quota missing", "POST", "/api/v1/quota", `{"path":"/data/a"}`, 400, []string{`\"quota\" is required`}, nil},
	{"quota zero", "POST", "/api/v1/quota", `{"path":"/data/a","quota":0}`, 400, nil, nil},
	{"quota delete", "DELETE", "/api/v1/quota", `{"path":"/data/b"}`, 200, nil, nil},
	{"quota delete missing", "DELETE", "/api/v1/quota", `{"path":"/data/b"}`, 400, []string{"quota not found"}, nil},

	{"ttl add", "POST", "/api/v1/ttl", `{"path":"/data/a","ttl":"1h30m"}`, 200, []string{`"ttl":"1h30m0s"`}, nil},
	{"ttl seconds", "POST", "/api/v1/ttl", `{"path":"/data/b","ttl":90}`, 200, []string{`"ttl":"1m30s"`}, nil},
	{"ttl get", "GET", "/api/v1/ttl?path=/data/b", "", 200, []string{`"ttl":"1m30s"`}, nil},
	{"ttl get missing", "GET", "/api/v1/ttl?path=/data/c", "", 404, nil, nil},
	{"ttl list", "GET", "/api/v1/ttl", "", 200, []string{`"/data/a"`, `"/data/b"`}, nil},
	{"ttl bad", "POST", "/api/v1/ttl", `{"path":"/data/a","ttl":"soon"}`, 400, []string{"soon"}, nil},
	{"ttl outside", "POST", "/api/v1/ttl", `{"path":"/x","ttl":"1h"}`, 400, []string{"not under any mount point"}, nil},
	{"ttl delete", "DELETE", "/api/v1/ttl", `{"path":"/data/b"}`, 200, nil, nil},
	{"ttl delete missing", "DELETE", "/api/v1/ttl", `{"path":"/data/b"}`, 400, []string{"ttl not found"}, nil},

	{"priority add", "POST", "/api/v1/priority", `{"path":"/data/a","priority":"low"}`, 200, []string{`"priority":"LOW"`}, nil},
	{"priority get", "GET", "/api/v1/priority?path=/data/a", "", 200, []string{`"priority":"LOW"`}, nil},
	{"priority list", "GET", "/api/v1/priority", "", 200, []string{`"/data/a"`}, nil},
	{"priority bad", "POST", "/api/v1/priority", `{"path":"/data/a","priority":"urgent"}`, 400, []string{"urgent"}, nil},
	{"priority get missing", "GET", "/api/v1/priority?path=/data/q", "", 404, nil, nil},
	{"priority delete", "DELETE", "/api/v1/priority", `{"path":"/data/a"}`, 200, nil, nil},
	{"priority delete missing", "DELETE", "/api/v1/priority", `{"path":"/data/a"}`, 400, nil, nil},

	{"unmount drops policies", "DELETE", "/api/v1/mount", `{"path":"/data"}`, 200, nil, nil},
	{"quota gone with mount", "GET", "/api/v1/quota", "", 200, []string{`{"results":[]}`}, nil},
	{"ttl gone with mount", "GET", "/api/v1/ttl", "", 200, []string{`{"results":[]}`}, nil},
}

var filterSteps = []step{
	{"initial", "GET", "/api/v1/cache-filter", "", 200, []string{`{"rules":[],"defaultRule":"immutable"}`}, nil},
	{"add maxAge", "POST", "/api/v1/cache-filter", `{"rule":"maxAge","pattern":"^/data/live/","time":"10m"}`, 200, nil, nil},
	{"add skip", "POST", "/api/v1/cache-filter", `{"rule":"skipCache","pattern":"\\.tmp$"}`, 200, nil, nil},
	{"update maxAge", "POST", "/api/v1/cache-filter", `{"rule":"maxAge","pattern":"^/data/live/","time":"5m"}`, 200, nil, nil},
	{"listed in order", "GET", "/api/v1/cache-filter", "", 200, []string{`"rules":[{"rule":"maxAge","pattern":"^/data/live/","time":"5m0s"},{"rule":"skipCache","pattern":"\\.tmp$"}]`}, nil},
	{"default", "POST", "/api/v1/cache-filter", `{"rule":"skipCache","updateDefault":true}`, 200, nil, nil},
	{"default changed", "GET", "/api/v1/cache-filter", "", 200, []string{`"defaultRule":"skipCache"`}, nil},
	{"maxAge without time", "POST", "/api/v1/cache-filter", `{"rule":"maxAge","pattern":"x"}`, 400, []string{"time"}, nil},
	{"unknown rule", "POST", "/api/v1/cache-filter", `{"rule":"sometimes","pattern":"x"}`, 400, []string{"sometimes"}, nil},
	{"bad regex", "POST", "/api/v1/cache-filter", `{"rule":"immutable","pattern":"("}`, 400, []string{"does not compile"}, nil},
	{"no pattern", "POST", "/api/v1/cache-filter", `{"rule":"immutable"}`, 400, []string{"pattern"}, nil},
	{"no rule", "POST", "/api/v1/cache-filter", `{}`, 400, nil, nil},
	{"remove", "DELETE", "/api/v1/cache-filter", `{"rule":"skipCache","pattern":"\\.tmp$"}`, 200, nil, nil},
	{"remove missing", "DELETE", "/api/v1/cache-filter", `{"rule":"skipCache","pattern":"\\.tmp$"}`, 400, nil, nil},
	{"remove default", "DELETE", "/api/v1/cache-filter", `{"rule":"skipCache"}`, 400, []string{"default"}, nil},
}

var nodeIndexCacheSteps = []step{
	{"nodes", "GET", "/api/v1/nodes", "", 200, []string{`"id":"worker-1"`, `"state":"LIVE"`, `"capacityBytes":1073741824`}, nil},
	{"node", "GET", "/api/v1/nodes?id=worker-1", "", 200, []string{`"address":"127.0.0.1:9001"`}, nil},
	{"node missing", "GET", "/api/v1/nodes?id=worker-x", "", 404, nil, nil},
	{"remove missing", "DELETE", "/api/v1/nodes?id=worker-x", "", 404, nil, nil},
	{"remove", "DELETE", "/api/v1/nodes?id=worker-1", "", 200, []string{`"id":"worker-1"`, `"state":"LIVE"`}, nil},
	{"removed: not found", "GET", "/api/v1/nodes?id=worker-1", "", 404, nil, nil},
	{"removed: not listed", "GET", "/api/v1/nodes", "", 200, nil, []string{`"worker-1"`}},
	{"remove again", "DELETE", "/api/v1/nodes?id=worker-1", "", 404, nil, nil},

	{"index empty", "GET", "/api/v1/file_index", "", 200, []string{`{"results":[],"partial":false,"entries":0}`}, []string{`"limit"`}},
	{"index add paths", "POST", "/api/v1/file_index", `{"paths":["/data/a","/data/b","/data/c"]}`, 200, []string{`{"added":3}`}, nil},
	{"index add entries", "POST", "/api/v1/file_index", `{"entries":[{"path":"/data/a","size":10},{"path":"/data/d","size":4}]}`, 200, []string{`{"added":1}`}, nil},
	{"index page 1", "GET", "/api/v1/file_index?count=2", "", 200, []string{`{"path":"/data/a","size":10}`, `"nextKey":"/data/b"`}, []string{"/data/c"}},
	{"index page 2", "GET", "/api/v1/file_index?count=2&lastKey=/data/b", "", 200, []string{`/data/c`, `/data/d`}, []string{"nextKey", `"/data/a"`}},
	{"index prefix", "GET", "/api/v1/file_index?prefix=/data/d", "", 200, []string{`"/data/d"`, `"partial":false,"entries":4`}, []string{`"/data/a"`}},
	{"index bad count", "GET", "/api/v1/file_index?count=-1", "", 400, nil, nil},
	{"index both", "POST", "/api/v1/file_index", `{"paths":["/a"],"entries":[{"path":"/b"}]}`, 400, nil, nil},
	{"index bad path", "POST", "/api/v1/file_index", `{"paths":["rel"]}`, 400, nil, nil},
	{"index remove", "DELETE", "/api/v1/file_index", `{"paths":["/data/a","/data/zz"]}`, 200, []string{`{"removed":1}`}, nil},

	{"clear stale", "POST", "/api/v1/cache", `{"op":"clearStale"}`, 200, []string{`{"errors":{}}`}, nil},
	{"stop clear stale", "DELETE", "/api/v1/cache", `{"op":"clearStale"}`, 200, []string{`{"errors":{}}`}, nil},
	{"cache other op", "POST", "/api/v1/cache", `{"op":"defrag"}`, 501, nil, nil},
	{"cache no op", "POST", "/api/v1/cache", `{}`, 400, nil, nil},
	{"cache no body", "DELETE", "/api/v1/cache", ``, 400, nil, nil},
	{"cache status", "GET", "/api/v1/cache", "", 200, []string{`{"results":[]}`}, nil},
}

var jobSteps = []step{
	{"load empty", "GET", "/api/v1/load", "", 200, []string{`{"results":[]}`}, nil},
	{"load submit paths", "POST", "/api/v1/load", `{"paths":["/data/a","file:///srv/data/b"],"alias":"set-1","options":{"batchSize":50,"fileFilterRegex":"\\.parquet$","loadPolicy":"if_changed","bandwidth":"100MiB"}}`, 200,
		[]string{`"type":"load"`, `"state":"WAITING"`, `"alias":"set-1"`, `"paths":["/data/a","/data/b"]`, `"batchSize":50`, `"replicas":1`, `"loadPolicy":"IF_CHANGED"`, `"bandwidth":104857600`},
		[]string{`"startTime"`, `"endTime"`, `"timeElapsedMilliseconds"`, `"throughputBytesPerSecond"`, `"scannedFiles"`}},
	{"load submit index", "POST", "/api/v1/load", `{"index":"/data/list.txt"}`, 200, []string{`"index":"/data/list.txt"`, `"batchSize":200`}, nil},
	{"load resubmit running", "POST", "/api/v1/load", `{"paths":["file:///srv/data/b/","/data//a","/data/a"],"alias":"other"}`, 409,
		[]string{`"id":"`, `"state":"WAITING"`, `"resumed":false`, `"alias":"set-1"`}, nil},
	{"load alias over other paths", "POST", "/api/v1/load", `{"paths":["/data/a"],"alias":"set-1"}`, 409, []string{`"id":"`, `covers other paths`}, []string{`"state"`, `"resumed"`}},
	{"load other alias not recorded", "GET", "/api/v1/load?alias=other", "", 404, nil, nil},
	{"load get alias", "GET", "/api/v1/load?alias=set-1", "", 200, []string{`"alias":"set-1"`}, nil},
	{"load get index", "GET", "/api/v1/load?index=/data/list.txt", "", 200, []string{`"index":"/data/list.txt"`}, nil},
	{"load get missing", "GET", "/api/v1/load?alias=nope", "", 404, nil, nil},
	{"load get both", "GET", "/api/v1/load?alias=set-1&index=/data/list.txt", "", 400, []string{"at most one"}, nil},
	{"load page", "GET", "/api/v1/load?count=1", "", 200, []string{`"nextKey":"`, `"alias":"set-1"`}, []string{"list.txt"}},
	{"load no selector", "POST", "/api/v1/load", `{"options":{}}`, 400, []string{"exactly one"}, nil},
	{"load both selectors", "POST", "/api/v1/load", `{"index":"/data/i","paths":["/data/a"],"alias":"x"}`, 400, nil, nil},
	{"load paths without alias", "POST", "/api/v1/load", `{"paths":["/data/a"]}`, 400, []string{"together"}, nil},
	{"load alias without paths", "POST", "/api/v1/load", `{"index":"/data/i","alias":"x"}`, 400, []string{"together"}, nil},
	{"load not mounted", "POST", "/api/v1/load", `{"paths":["/other/a"],"alias":"y"}`, 400, []string{"not under any mount point"}, nil},
	{"load replicas beyond workers", "POST", "/api/v1/load", `{"paths":["/data/a"],"alias":"z","options":{"replicas":5}}`, 400, []string{"replicas"}, nil},
	{"load batch too big", "POST", "/api/v1/load", `{"paths":["/data/a"],"alias":"z","options":{"batchSize":100000}}`, 400, []string{"batchSize"}, nil},
	{"load bad regex", "POST", "/api/v1/load", `{"paths":["/data/a"],"alias":"z","options":{"fileFilterRegex":"("}}`, 400, []string{"fileFilterRegex"}, nil},
	{"load bad policy", "POST", "/api/v1/load", `{"paths":["/data/a"],"alias":"z","options":{"loadPolicy":"ALWAYS"}}`, 400, nil, nil},
	{"load free option refused", "POST", "/api/v1/load", `{"paths":["/data/a"],"alias":"z","options":{"force":true}}`, 400, []string{"force"}, nil},
	{"load stop", "DELETE", "/api/v1/load", `{"alias":"set-1"}`, 200, []string{`"state":"STOPPED"`}, nil},
	{"load stop again", "DELETE", "/api/v1/load", `{"alias":"set-1"}`, 410, nil, nil},
	{"load stop missing", "DELETE", "/api/v1/load", `{"index":"/data/none"}`, 410, nil, nil},
	{"load stop no selector", "DELETE", "/api/v1/load", `{}`, 400, nil, nil},
	{"load resume", "POST", "/api/v1/load", `{"paths":["/data/b","/data/a"],"alias":"set-1"}`, 409, []string{`"resumed":true`, `"id":"`}, nil},
	{"load resumed waits", "GET", "/api/v1/load?alias=set-1", "", 200, []string{`"state":"WAITING"`, `"attempts":2`, `"batchSize":200`}, []string{`"endTime"`}},

	{"free submit", "POST", "/api/v1/free", `{"paths":["/data/a"],"alias":"f1","options":{"force":true}}`, 200, []string{`"type":"free"`, `"force":true`}, nil},
	{"free list", "GET", "/api/v1/free", "", 200, []string{`"alias":"f1"`}, []string{`"type":"load"`}},
	{"free load option refused", "POST", "/api/v1/free", `{"paths":["/data/a"],"alias":"f2","options":{"verify":true}}`, 400, nil, nil},
	{"free stop", "DELETE", "/api/v1/free", `{"alias":"f1"}`, 200, nil, nil},

	{"rebalance unknown target", "POST", "/api/v1/rebalance", `{"target":"worker-x"}`, 400, nil, nil},
	{"rebalance no target", "POST", "/api/v1/rebalance", `{}`, 400, nil, nil},
	{"rebalance all", "POST", "/api/v1/rebalance", `{"target":"ALL","options":{"loadBandwidth":"10MiB","skipPrune":true}}`, 200, []string{`"target":"ALL"`, `"loadBandwidth":10485760`, `"skipPrune":true`}, nil},
	{"rebalance again", "POST", "/api/v1/rebalance", `{"target":"ALL"}`, 409, []string{`"id":"`}, nil},
	{"rebalance worker", "POST", "/api/v1/rebalance", `{"target":"worker-1"}`, 200, nil, nil},
	{"rebalance get target", "GET", "/api/v1/rebalance?target=ALL", "", 200, []string{`"target":"ALL"`}, nil},
	{"rebalance get missing", "GET", "/api/v1/rebalance?id=nope", "", 404, nil, nil},
	{"rebalance list", "GET", "/api/v1/rebalance", "", 200, []string{`"target":"ALL"`, `"target":"worker-1"`}, nil},
	{"rebalance stop", "DELETE", "/api/v1/rebalance", `{"target":"ALL"}`, 200, []string{`"state":"STOPPED"`}, nil},
	{"rebalance stop again", "DELETE", "/api/v1/rebalance", `{"target":"ALL"}`, 410, nil, nil},
	{"rebalance stop both", "DELETE", "/api/v1/rebalance", `{"id":"x","target":"ALL"}`, 400, nil, nil},
}

// contract is every scripted conversation; each starts from newLeader's state.
var contract = map[string][]step{
	"mount": mountSteps, "policy": policySteps, "filter": filterSteps,
	"nodes-index-cache": nodeIndexCacheSteps, "jobs": jobSteps,
}

func TestContractOnOneNode(t *testing.T) {
	for name, steps := range contract {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, newLeader(t), httpapi.DefaultOptions())
			run(t, srv.URL, steps, nil)
		})
	}
}

func TestFeaturesOff(t *testing.T) {
	opts := httpapi.DefaultOptions()
	opts.Disabled = httpapi.AllFeatures()
	opts.StaticMounts = true
	srv := serve(t, newLeader(t), opts)
	var steps []step
	for _, p := range []string{"/api/v1/quota", "/api/v1/ttl", "/api/v1/priority", "/api/v1/cache-filter"} {
		steps = append(steps,
			step{"get " + p, "GET", p, "", 501, []string{"not enabled"}, nil},
			step{"post " + p, "POST", p, `{"path":"/data"}`, 501, nil, nil},
			step{"delete " + p, "DELETE", p, `{"path":"/data"}`, 501, nil, nil},
		)
	}
	for _, m := range []string{"GET", "POST", "DELETE"} {
		steps = append(steps, step{m + " file index", m, "/api/v1/file_index", `{"paths":["/a"]}`, 404, []string{"file index is not enabled"}, nil})
	}
	steps = append(steps,
		step{"static mount add", "POST", "/api/v1/mount", `{"path":"/x","ufs":"file:///x"}`, 501, []string{"static"}, nil},
		step{"static mount delete", "DELETE", "/api/v1/mount", `{"path":"/data"}`, 501, nil, nil},
		step{"static mount list", "GET", "/api/v1/mount", "", 200, []string{"/data"}, nil},
	)
	run(t, srv.URL, steps, nil)
}

func TestAuthAndBodyBound(t *testing.T) {
	opts := httpapi.DefaultOptions()
	opts.AuthToken = "s3cret"
	opts.MaxBodyBytes = 1 << 20
	co := newLeader(t)
	srv := serve(t, co, opts)
	run(t, srv.URL, []step{
		{"no token", "GET", "/api/v1/mount", "", 401, []string{"bearer token"}, nil},
		{"no token write", "POST", "/api/v1/mount", `{"path":"/x","ufs":"file:///x"}`, 401, nil, nil},
	}, nil)
	run(t, srv.URL, []step{
		{"wrong token", "GET", "/api/v1/mount", "", 401, nil, nil},
	}, http.Header{"Authorization": {"Bearer s3cre"}})
	big := `{"paths":["` + strings.Repeat("a", 2<<20) + `"]}`
	run(t, srv.URL, []step{
		{"token", "GET", "/api/v1/mount", "", 200, nil, nil},
		{"body over 1 MiB", "POST", "/api/v1/file_index", big, 413, []string{"larger than"}, nil},
	}, http.Header{"Authorization": {"Bearer s3cret"}})
	if n := co.FSM().FileIndexLen(); n != 0 {
		t.Fatalf("a refused request changed the state: %d entries", n)
	}
}

func TestHTTPRouterAdapter(t *testing.T) {
	router := httprouter.New()
	httpapi.Register(httpapi.HTTPRouter(router), newLeader(t), httpapi.DefaultOptions())
	srv := httptest.NewServer(router)
	defer srv.Close()
	run(t, srv.URL, []step{
		{"get", "GET", "/api/v1/mount?path=/data", "", 200, []string{`"/data"`}, nil},
		{"post", "POST", "/api/v1/quota", `{"path":"/data","quota":"1GiB"}`, 200, nil, nil},
		{"health", "GET", "/api/v1/health", "", 200, []string{`"status":"ok"`}, nil},
	}, nil)
}

func TestNoLeaderAnswers503WithoutHanging(t *testing.T) {
	c := coordinatortest.New(t, 3)
	leader := c.WaitLeader()
	var follower *coordinator.Coordinator
	for _, co := range c.Coordinators() {
		if co != leader {
			follower = co
		}
	}
	opts := httpapi.DefaultOptions()
	opts.RequestTimeout = 2 * time.Second
	srv := serve(t, follower, opts)
	c.Partition(follower.ID()) // the follower alone: no leader it can reach
	deadline := time.Now().Add(15 * time.Second)
	for {
		start := time.Now()
		resp, err := http.Post(srv.URL+"/api/v1/quota", "application/json", strings.NewReader(`{"path":"/x","quota":1}`))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("a write without a leader took %s", took)
		}
		if resp.StatusCode == http.StatusServiceUnavailable {
			if !strings.Contains(string(raw), "no raft leader") {
				t.Fatalf("503 without the reason: %s", raw)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the isolated follower answered %d %s, want 503", resp.StatusCode, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestUnreachableUFSIsRefused(t *testing.T) {
	c := coordinatortest.New(t, 1, coordinatortest.WithConfig(func(cfg *coordinator.Config) {
		cfg.CheckUFS = ufs.CheckReachable
	}))
	srv := serve(t, c.WaitLeader(), httpapi.DefaultOptions())
	dir := t.TempDir()
	run(t, srv.URL, []step{
		{"missing dir", "POST", "/api/v1/mount", `{"path":"/gone","ufs":"file:///nonexistent/alluvium"}`, 400, []string{"cannot be reached"}, nil},
		{"dead s3 endpoint", "POST", "/api/v1/mount", `{"path":"/s3","ufs":"s3://bucket/p","options":{"s3.endpoint":"127.0.0.1:1","s3.secretAccessKey":"hunter2"}}`, 400, []string{"cannot be reached"}, []string{"hunter2"}},
		{"nothing was mounted", "GET", "/api/v1/mount", "", 200, []string{`{"results":[]}`}, nil},
		{"real dir", "POST", "/api/v1/mount", `{"path":"/ok","ufs":"file://` + dir + `"}`, 200, nil, nil},
	}, nil)
}
