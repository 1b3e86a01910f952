package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/httpapi"
)

// jobCall sends one request and returns the status and the decoded JSON
// object of the answer.
func jobCall(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %v", method, url, err)
	}
	return resp.StatusCode, m
}

// TestJobIdentityOverHTTP: a load or free job is the job of its index file
// or of its set of paths, however a request spells them and whatever alias
// it gives; the alias names one job; a rerun takes the request's options.
func TestJobIdentityOverHTTP(t *testing.T) {
	co := newLeader(t)
	base := serve(t, co, httpapi.DefaultOptions()).URL + "/api/v1/"
	type exp struct {
		code   int
		fields map[string]any // top-level fields the answer has ("id": a name of ids)
		absent []string       // top-level fields it lacks
	}
	ids := map[string]string{}
	for _, s := range []struct {
		name, method, path, body string
		save                     string // remember the answer's id under this name
		want                     exp
	}{
		{"a set of paths", "POST", "load", `{"paths":["/data/a","file:///srv/data/b"],"alias":"set-1","options":{"batchSize":10}}`, "set",
			exp{200, map[string]any{"paths": []any{"/data/a", "/data/b"}, "alias": "set-1", "state": "WAITING"}, []string{"startTime", "timeElapsedMilliseconds", "scannedFiles"}}},
		{"the same set spelled otherwise, another alias", "POST", "load", `{"paths":["file:///srv/data/b/","/data//a/","/data/./a"],"alias":"set-2"}`, "",
			exp{409, map[string]any{"id": "set", "state": "WAITING", "resumed": false, "alias": "set-1"}, nil}},
		{"the request's alias is not recorded", "GET", "load?alias=set-2", "", "", exp{404, nil, nil}},
		{"the alias over other paths", "POST", "load", `{"paths":["/data/c"],"alias":"set-1"}`, "",
			exp{409, map[string]any{"id": "set"}, []string{"state", "resumed", "alias"}}},
		{"nothing changed", "GET", "load?alias=set-1", "", "",
			exp{200, map[string]any{"id": "set", "paths": []any{"/data/a", "/data/b"}, "attempts": 1.0}, nil}},
		{"a UFS URI of a path outside every mount", "POST", "load", `{"paths":["file:///elsewhere/a"],"alias":"x"}`, "",
			exp{400, nil, nil}},
		{"an index file as a UFS URI", "POST", "load", `{"index":"file:///srv/data/list.txt"}`, "index",
			exp{200, map[string]any{"index": "/data/list.txt"}, nil}},
		{"the same index file, spelled otherwise", "POST", "load", `{"index":"/data/./list.txt"}`, "",
			exp{409, map[string]any{"id": "index", "resumed": false}, []string{"alias"}}},
		{"get by the index as a URI", "GET", "load?index=file:///srv/data/list.txt", "", "", exp{200, map[string]any{"id": "index"}, nil}},
		{"stop by the index as a URI", "DELETE", "load", `{"index":"file:///srv/data/list.txt"}`, "", exp{200, map[string]any{"state": "STOPPED"}, nil}},
		{"a stopped job runs again with the request's options", "POST", "load", `{"index":"/data/list.txt","options":{"batchSize":7}}`, "",
			exp{409, map[string]any{"id": "index", "state": "WAITING", "resumed": true}, nil}},
		{"with them", "GET", "load?index=/data/list.txt", "", "",
			exp{200, map[string]any{"options": map[string]any{"batchSize": 7.0, "replicas": 1.0}, "attempts": 2.0}, []string{"endTime"}}},
		{"stop the set by its alias", "DELETE", "load", `{"alias":"set-1"}`, "", exp{200, map[string]any{"id": "set", "state": "STOPPED"}, nil}},
		{"the same set under another alias resumes it", "POST", "load", `{"paths":["/data/b","/data/a"],"alias":"again","options":{"batchSize":10}}`, "",
			exp{409, map[string]any{"id": "set", "state": "WAITING", "resumed": true, "alias": "set-1"}, nil}},
		{"resumed", "GET", "load?alias=set-1", "", "", exp{200, map[string]any{"state": "WAITING", "attempts": 2.0}, nil}},
		{"free: the same set is a free job of its own", "POST", "free", `{"paths":["/data/a","/data/b"],"alias":"set-1"}`, "free",
			exp{200, map[string]any{"type": "free"}, nil}},
		{"free: the same set again", "POST", "free", `{"paths":["/data/b","file:///srv/data/a","/data/b"],"alias":"f"}`, "",
			exp{409, map[string]any{"id": "free", "resumed": false, "alias": "set-1"}, nil}},
		{"free: the alias over other paths", "POST", "free", `{"paths":["/data/z"],"alias":"set-1"}`, "",
			exp{409, map[string]any{"id": "free"}, []string{"state"}}},
	} {
		code, got := jobCall(t, s.method, base+s.path, s.body)
		if code != s.want.code {
			t.Fatalf("%s: %s %s %s = %d %v, want %d", s.name, s.method, s.path, s.body, code, got, s.want.code)
		}
		if s.save != "" {
			ids[s.save], _ = got["id"].(string)
		}
		for k, v := range s.want.fields {
			if k == "id" {
				v = ids[v.(string)]
			}
			if k == "options" { // only the options named
				opts, _ := got[k].(map[string]any)
				for ok, ov := range v.(map[string]any) {
					if !reflect.DeepEqual(opts[ok], ov) {
						t.Errorf("%s: options.%s = %v, want %v (answer %v)", s.name, ok, opts[ok], ov, got)
					}
				}
				continue
			}
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s: %q = %#v, want %#v (answer %v)", s.name, k, got[k], v, got)
			}
		}
		for _, k := range s.want.absent {
			if _, ok := got[k]; ok {
				t.Errorf("%s: the answer has %q: %v", s.name, k, got)
			}
		}
	}
	if code, got := jobCall(t, "GET", base+"load", ""); code != 200 || len(got["results"].([]any)) != 2 {
		t.Fatalf("load jobs = %d %v, want the two submitted", code, got)
	}
}

// TestLegacyJobsOverHTTP: jobs that an earlier version committed (keyed by
// alias, UFS URIs kept as spelled) are found by the requests of this one.
func TestLegacyJobsOverHTTP(t *testing.T) {
	co := newLeader(t)
	base := serve(t, co, httpapi.DefaultOptions()).URL + "/api/v1/"
	ctx := context.Background()
	legacy := func(j fsm.Job) string {
		t.Helper()
		res, err := co.Apply(ctx, &fsm.SubmitJob{Job: j}) // Rules: RulesByAlias, as an old log entry
		if err != nil {
			t.Fatal(err)
		}
		return res.(fsm.Job).ID
	}
	paths := legacy(fsm.Job{Type: fsm.JobLoad, Paths: []string{"file:///srv/data/p/", "/data/q"}, Alias: "old", Options: fsm.JobOptions{BatchSize: 200, Replicas: 1}})
	index := legacy(fsm.Job{Type: fsm.JobLoad, Index: "file:///srv/data/old.txt", Options: fsm.JobOptions{BatchSize: 200, Replicas: 1}})
	for _, s := range []struct {
		name, method, path, body string
		code                     int
		id                       string
	}{
		{"by alias", "GET", "load?alias=old", "", 200, paths},
		{"by index as spelled", "GET", "load?index=file:///srv/data/old.txt", "", 200, index},
		{"its paths as spelled, in another order", "POST", "load", `{"paths":["/data/q","file:///srv/data/p/"],"alias":"new"}`, 409, paths},
		{"its index as spelled", "POST", "load", `{"index":"file:///srv/data/old.txt"}`, 409, index},
		{"its alias over other paths", "POST", "load", `{"paths":["/data/r"],"alias":"old"}`, 409, paths},
		{"stop by index as spelled", "DELETE", "load", `{"index":"file:///srv/data/old.txt"}`, 200, index},
		{"stop by alias", "DELETE", "load", `{"alias":"old"}`, 200, paths},
	} {
		code, got := jobCall(t, s.method, base+s.path, s.body)
		if code != s.code || got["id"] != s.id {
			t.Errorf("%s: %s %s %s = %d %v, want %d naming %s", s.name, s.method, s.path, s.body, code, got, s.code, s.id)
		}
	}
}
