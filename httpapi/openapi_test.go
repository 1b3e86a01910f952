package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
)

// servedOpenAPI fetches the document a fresh server serves, loads it and
// validates it as OpenAPI 3.0.3.
func servedOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	srv := serve(t, newLeader(t), httpapi.DefaultOptions())
	resp, err := http.Get(srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json = %d %s", resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET /api/v1/openapi.json: Content-Type %q", ct)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load the served document: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi %q, want 3.0.3", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the served document is not valid OpenAPI: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	servedOpenAPI(t)
}

// Every public route Register mounts is in the document, and every
// operation of the document is a route. The internal routes between workers
// and coordinators (/api/v1/internal/) are not part of the contract.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := servedOpenAPI(t)
	registered := map[string]bool{}
	httpapi.Register(httpapi.RouterFunc(func(method, path string, _ http.Handler) {
		if strings.HasPrefix(path, "/api/v1/internal/") {
			return
		}
		key := method + " " + path
		if registered[key] {
			t.Errorf("%s is registered twice", key)
		}
		registered[key] = true
	}), nil, httpapi.DefaultOptions())
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for key := range registered {
		if !documented[key] {
			t.Errorf("route %s is not in the document", key)
		}
	}
	for key := range documented {
		if !registered[key] {
			t.Errorf("the document has %s, which is not a route", key)
		}
	}
	if len(registered) == 0 {
		t.Fatal("Register mounted no routes")
	}
}

// jsonFields lists a struct type's JSON field names (embedded structs
// flattened) and whether each is omitted when empty (omitempty or omitzero).
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		if f.Anonymous && !hasTag && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out[name] = slices.Contains(strings.Split(opts, ","), "omitempty") || slices.Contains(strings.Split(opts, ","), "omitzero")
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The component schemas carry the api package's JSON names exactly: answers
// require precisely the fields that are never omitted; request schemas have
// the fields of the type the server decodes (or, where one Go type serves
// several routes, a subset of them).
func TestOpenAPISchemasMatchAPITypes(t *testing.T) {
	doc := servedOpenAPI(t)
	const (
		answer  = iota // properties equal, required = the fields without omitempty
		request        // properties equal
		subset         // properties a subset
	)
	type of struct {
		v    any
		mode int
	}
	types := map[string]of{
		"Error": {api.Error{}, answer}, "Empty": {api.Empty{}, answer},
		"Job": {api.Job{}, answer}, "Jobs": {api.Jobs{}, answer}, "JobOptions": {api.JobOptions{}, answer},
		"JobQuota": {api.JobQuota{}, answer}, "FailedFile": {api.FailedFile{}, answer},
		"Mount": {api.Mount{}, answer}, "Mounts": {api.Mounts{}, answer},
		"Quota": {api.Quota{}, answer}, "Quotas": {api.Quotas{}, answer},
		"TTL": {api.TTL{}, answer}, "TTLs": {api.TTLs{}, answer},
		"Priority": {api.Priority{}, answer}, "Priorities": {api.Priorities{}, answer},
		"FilterRule": {api.FilterRule{}, answer}, "CacheFilter": {api.CacheFilter{}, answer},
		"Node": {api.Node{}, answer}, "Nodes": {api.Nodes{}, answer},
		"FileEntry": {api.FileEntry{}, answer}, "FileIndex": {api.FileIndex{}, answer},
		"FileIndexAdded": {api.FileIndexAdded{}, answer}, "FileIndexRemoved": {api.FileIndexRemoved{}, answer},
		"CacheOpResult": {api.CacheOpResult{}, answer}, "ClearStaleStatus": {api.ClearStaleStatus{}, answer},
		"CacheStatus": {api.CacheStatus{}, answer},
		"Coordinator": {api.Coordinator{}, answer}, "Coordinators": {api.Coordinators{}, answer},
		"Health": {api.Health{}, answer}, "JoinRequest": {api.JoinRequest{}, answer},

		"LoadRequest": {api.LoadRequest{}, request}, "LoadOptions": {api.LoadOptions{}, request},
		"FreeRequest": {api.FreeRequest{}, request}, "FreeOptions": {api.FreeOptions{}, request},
		"RebalanceRequest": {api.RebalanceRequest{}, request}, "RebalanceOptions": {api.RebalanceOptions{}, request},
		"MountRequest": {api.Mount{}, request}, "PathRequest": {api.PathRequest{}, request},
		"QuotaRequest": {api.QuotaRequest{}, request}, "TTLRequest": {api.TTL{}, request},
		"PriorityRequest": {api.Priority{}, request}, "FilterRequest": {api.FilterRequest{}, request},
		"CacheOp": {api.CacheOp{}, request}, "FileIndexAddRequest": {api.FileIndexRequest{}, request},

		"StopByIndexOrAlias": {api.JobSelector{}, subset}, "StopByIDOrTarget": {api.JobSelector{}, subset},
		"FileIndexEntryRequest": {api.FileEntry{}, subset}, "FileIndexRemoveRequest": {api.FileIndexRequest{}, subset},
	}
	scalars := map[string]bool{"Size": true, "Duration": true}
	for name, ref := range doc.Components.Schemas {
		s := ref.Value
		if scalars[name] {
			continue
		}
		typ, ok := types[name]
		if !ok {
			t.Errorf("schema %s has no api type in this test", name)
			continue
		}
		if !s.Type.Is("object") {
			t.Errorf("schema %s is not an object", name)
		}
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("schema %s does not refuse unknown fields (additionalProperties: false)", name)
		}
		fields := jsonFields(reflect.TypeOf(typ.v))
		for _, p := range sortedKeys(s.Properties) {
			if _, ok := fields[p]; !ok {
				t.Errorf("schema %s has property %q, which %T lacks", name, p, typ.v)
			}
		}
		if typ.mode == subset {
			continue
		}
		for _, f := range sortedKeys(fields) {
			if _, ok := s.Properties[f]; !ok {
				t.Errorf("schema %s lacks %T's field %q", name, typ.v, f)
			}
		}
		if typ.mode != answer {
			continue
		}
		var required []string
		for _, f := range sortedKeys(fields) {
			if !fields[f] {
				required = append(required, f)
			}
		}
		got := slices.Clone(s.Required)
		sort.Strings(got)
		if !slices.Equal(got, required) {
			t.Errorf("schema %s requires %v; %T always has %v", name, got, typ.v, required)
		}
	}
	for name := range types {
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("no schema %s", name)
		}
	}
}

// oasReplay sends scripted steps and checks each exchange against the
// document: the request (method, path, query parameters, body) and the
// answer (a documented status, its schema).
type oasReplay struct {
	t      *testing.T
	router routers.Router
	// refusedCodes are the statuses with which the server may answer a
	// request the document refuses.
	refusedCodes []int
	// seen records the operations exercised.
	seen map[string]bool
}

func newOASReplay(t *testing.T, doc *openapi3.T, refusedCodes ...int) *oasReplay {
	t.Helper()
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &oasReplay{t: t, router: router, refusedCodes: refusedCodes, seen: map[string]bool{}}
}

// checkQuery refuses query parameters the operation does not declare, or
// one given twice: the server answers both with 400, which kin-openapi
// alone does not check.
func checkQuery(op *openapi3.Operation, req *http.Request) error {
	declared := map[string]bool{}
	for _, p := range op.Parameters {
		if p.Value.In == openapi3.ParameterInQuery {
			declared[p.Value.Name] = true
		}
	}
	for k, vs := range req.URL.Query() {
		if !declared[k] {
			return fmt.Errorf("query parameter %q is not documented", k)
		}
		if len(vs) > 1 {
			return fmt.Errorf("query parameter %q is given %d times", k, len(vs))
		}
	}
	return nil
}

func (o *oasReplay) run(base string, steps []step, header http.Header) {
	t := o.t
	t.Helper()
	ctx := context.Background()
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	newRequest := func(s step) *http.Request {
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
		if s.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return req
	}
	for _, s := range steps {
		resp, err := http.DefaultClient.Do(newRequest(s))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if resp.StatusCode != s.code {
			t.Errorf("%s: %s %s = %d %s, want %d", s.name, s.method, s.path, resp.StatusCode, compact(raw), s.code)
			continue
		}

		req := newRequest(s) // the same request again, unread, for the validator
		route, pathParams, err := o.router.FindRoute(req)
		if err != nil {
			t.Errorf("%s: %s %s is not in the document: %v", s.name, s.method, s.path, err)
			continue
		}
		o.seen[route.Method+" "+route.Path] = true
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: opts}
		reqErr := checkQuery(route.Operation, req)
		if reqErr == nil {
			reqErr = openapi3filter.ValidateRequest(ctx, in)
		}
		if reqErr != nil && !slices.Contains(o.refusedCodes, resp.StatusCode) {
			t.Errorf("%s: %s %s %s was answered %d, but the document refuses the request: %v",
				s.name, s.method, s.path, s.body, resp.StatusCode, reqErr)
		}
		err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in,
			Status:                 resp.StatusCode,
			Header:                 resp.Header,
			Body:                   io.NopCloser(bytes.NewReader(raw)),
			Options:                opts,
		})
		if err != nil {
			t.Errorf("%s: %s %s: the answer %d %s does not match the document: %v",
				s.name, s.method, s.path, resp.StatusCode, compact(raw), err)
		}
	}
}

// clusterSteps cover the routes the contract conversations leave out.
func clusterSteps(co *coordinator.Coordinator) []step {
	st, err := co.Status()
	raftAddr := ""
	if err == nil && len(st.Results) > 0 {
		raftAddr = st.Results[0].RaftAddress
	}
	self := fmt.Sprintf(`{"id":%q,"raftAddress":%q,"httpAddress":"127.0.0.1:8001"}`, co.ID(), raftAddr)
	return []step{
		{"coordinators", "GET", "/api/v1/coordinators", "", 200, []string{`"leader":"` + co.ID() + `"`}, nil},
		{"coordinators unknown query", "GET", "/api/v1/coordinators?id=x", "", 400, nil, nil},
		{"coordinators stale", "GET", "/api/v1/coordinators?stale=true", "", 200, nil, nil},
		{"announce self", "POST", "/api/v1/coordinators", self, 200, []string{`"httpAddress":"127.0.0.1:8001"`}, nil},
		{"join without addresses", "POST", "/api/v1/coordinators", `{"id":"c9"}`, 400, nil, nil},
		{"join unknown field", "POST", "/api/v1/coordinators", `{"id":"c9","raftAddress":"a","httpAddress":"b","voter":true}`, 400, nil, nil},
		{"remove without id", "DELETE", "/api/v1/coordinators", "", 400, nil, nil},
		{"remove the leader", "DELETE", "/api/v1/coordinators?id=" + co.ID(), "", 400, nil, nil},
		{"remove a stranger", "DELETE", "/api/v1/coordinators?id=c9", "", 404, nil, nil},
		{"health", "GET", "/api/v1/health", "", 200, []string{`"status":"ok"`}, nil},
		{"openapi", "GET", "/api/v1/openapi.json", "", 200, []string{`"openapi":"3.0.3"`}, nil},
		{"openapi unknown query", "GET", "/api/v1/openapi.json?format=yaml", "", 400, nil, nil},
		{"stale mounts", "GET", "/api/v1/mount?stale=true", "", 200, nil, nil},
		{"stale nodes", "GET", "/api/v1/nodes?stale=true&id=worker-1", "", 200, nil, nil},
		{"stale jobs", "GET", "/api/v1/load?stale=true&count=5", "", 200, nil, nil},
		{"stale index", "GET", "/api/v1/file_index?stale=true&prefix=/data", "", 200, nil, nil},
		{"selector twice", "GET", "/api/v1/quota?path=/a&path=/b", "", 400, nil, nil},
		{"remove", "DELETE", "/api/v1/nodes?id=worker-1", "", 200, nil, nil},
		{"remove again", "DELETE", "/api/v1/nodes?id=worker-1", "", 404, nil, nil},
		{"decommission without id", "DELETE", "/api/v1/nodes", "", 400, nil, nil},
		{"rebalance stop by id", "DELETE", "/api/v1/rebalance", `{"id":"nope"}`, 410, nil, nil},
		{"rebalance by stop selector of load", "DELETE", "/api/v1/rebalance", `{"alias":"x"}`, 400, nil, nil},
		{"free get alias", "GET", "/api/v1/free?alias=none", "", 404, nil, nil},
		{"free stop missing", "DELETE", "/api/v1/free", `{"index":"/data/i"}`, 410, nil, nil},
		{"free submit index", "POST", "/api/v1/free", `{"index":"/data/list.txt","options":{"batchSize":10,"replicas":1}}`, 200, []string{`"type":"free"`}, nil},
		{"free again", "POST", "/api/v1/free", `{"index":"/data/list.txt"}`, 409, []string{`"id":"`}, nil},
		{"load options", "POST", "/api/v1/load", `{"index":"/data/x.txt","options":{"skipIfExists":true,"loadMetadataOnly":true,"verify":true,"replicas":1,"bandwidth":1048576}}`, 200, []string{`"verify":true`}, nil},
		{"rebalance options", "POST", "/api/v1/rebalance", `{"target":"ALL","options":{"loadBatchSize":10,"loadBandwidth":100,"pruneBandwidth":"1MiB"}}`, 200, []string{`"pruneBandwidth":1048576`}, nil},
		{"rebalance page", "GET", "/api/v1/rebalance?count=1", "", 200, nil, nil},
		{"filter default maxAge", "POST", "/api/v1/cache-filter", `{"rule":"MAXAGE","updateDefault":true,"time":60}`, 200, []string{`"time":"1m0s"`}, nil},
		{"filter with default time", "GET", "/api/v1/cache-filter", "", 200, []string{`"defaultTime":"1m0s"`}, nil},
	}
}

// Every exchange of the contract, and of the feature switches and
// authentication, agrees with the document, and every operation is
// exercised.
func TestOpenAPIContract(t *testing.T) {
	doc := servedOpenAPI(t)
	var seen []map[string]bool
	check := func(r *oasReplay) { seen = append(seen, r.seen) }

	names := sortedKeys(contract)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			r := newOASReplay(t, doc, http.StatusBadRequest)
			srv := serve(t, newLeader(t), httpapi.DefaultOptions())
			r.run(srv.URL, contract[name], nil)
			check(r)
		})
	}

	t.Run("cluster", func(t *testing.T) {
		r := newOASReplay(t, doc, http.StatusBadRequest)
		co := newLeader(t)
		srv := serve(t, co, httpapi.DefaultOptions())
		r.run(srv.URL, clusterSteps(co), nil)
		check(r)
	})

	t.Run("features-off", func(t *testing.T) {
		// A switched-off feature answers before it reads the request.
		r := newOASReplay(t, doc, http.StatusBadRequest, http.StatusNotFound, http.StatusNotImplemented)
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
		r.run(srv.URL, steps, nil)
		check(r)
	})

	t.Run("auth", func(t *testing.T) {
		r := newOASReplay(t, doc, http.StatusBadRequest)
		opts := httpapi.DefaultOptions()
		opts.AuthToken = "s3cret"
		srv := serve(t, newLeader(t), opts)
		r.run(srv.URL, []step{
			{"no token", "GET", "/api/v1/mount", "", 401, []string{"bearer token"}, nil},
			{"no token write", "POST", "/api/v1/mount", `{"path":"/x","ufs":"file:///x"}`, 401, nil, nil},
			{"no token document", "GET", "/api/v1/openapi.json", "", 401, nil, nil},
			{"no token health", "GET", "/api/v1/health", "", 401, nil, nil},
		}, nil)
		r.run(srv.URL, []step{
			{"wrong token", "GET", "/api/v1/mount", "", 401, nil, nil},
		}, http.Header{"Authorization": {"Bearer s3cre"}})
		big := `{"paths":["` + strings.Repeat("a", 2<<20) + `"]}`
		r.run(srv.URL, []step{
			{"token", "GET", "/api/v1/mount", "", 200, nil, nil},
			{"body over 1 MiB", "POST", "/api/v1/file_index", big, 413, []string{"larger than"}, nil},
			{"mount body over 1 MiB", "POST", "/api/v1/mount", `{"path":"/x","ufs":"file:///` + strings.Repeat("x", 2<<20) + `"}`, 413, nil, nil},
		}, http.Header{"Authorization": {"Bearer s3cret"}})
		check(r)
	})

	if t.Failed() {
		return
	}
	exercised := map[string]bool{}
	for _, m := range seen {
		for k := range m {
			exercised[k] = true
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !exercised[method+" "+path] {
				t.Errorf("no exchange exercises %s %s", method, path)
			}
		}
	}
}
