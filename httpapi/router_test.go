package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/julienschmidt/httprouter"
)

// adapters serve the API through each router adapter, with a route of the
// embedder's own under /api/v1 (GET /api/v1/custom) and one outside it.
var adapters = map[string]func(t *testing.T, b httpapi.Backend, opts httpapi.Options) *httptest.Server{
	"httprouter": func(t *testing.T, b httpapi.Backend, opts httpapi.Options) *httptest.Server {
		r := httprouter.New()
		r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "the embedder's own 404", http.StatusNotFound)
		})
		r.Handler(http.MethodGet, "/api/v1/custom", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
		r.Handler(http.MethodGet, "/hello", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
		httpapi.Register(httpapi.HTTPRouter(r), b, opts)
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return srv
	},
	"ServeMux": func(t *testing.T, b httpapi.Backend, opts httpapi.Options) *httptest.Server {
		m := http.NewServeMux()
		m.HandleFunc("GET /api/v1/custom", func(w http.ResponseWriter, _ *http.Request) {})
		m.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) {})
		httpapi.Register(httpapi.ServeMux(m), b, opts)
		srv := httptest.NewServer(m)
		t.Cleanup(srv.Close)
		return srv
	},
}

type answer struct {
	code        int
	contentType string
	allow       string
	body        string
	status      string // the JSON error's reason, when the body is one
}

func do(t *testing.T, method, url, token string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), allow: resp.Header.Get("Allow"), body: string(b)}
	var e api.Error
	if json.Unmarshal(b, &e) == nil {
		a.status = e.Status
	}
	return a
}

// Unknown routes and methods under /api/v1 answer the JSON error body, 404
// or 405 with Allow, on both adapters, over loopback HTTP; other paths keep
// the router's own answers, and the embedder's routes under /api/v1 count
// as known.
func TestUnknownRoutesAndMethodsAnswerJSON(t *testing.T) {
	co := newLeader(t)
	for name, serve := range adapters {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, co, httpapi.DefaultOptions())
			for _, tt := range []struct {
				method, path string
				code         int
				allow        []string // methods the Allow header must name
				status       string   // a fragment of the JSON reason; "" for a non-JSON answer
			}{
				{"GET", "/api/v1/nope", 404, nil, "no such route: GET /api/v1/nope"},
				{"POST", "/api/v1/mount/extra", 404, nil, "no such route"},
				{"DELETE", "/api/v1/", 404, nil, "no such route"},
				{"GET", "/api/v1", 404, nil, "no such route"},
				{"PUT", "/api/v1/mount", 405, []string{"GET", "POST", "DELETE"}, "/api/v1/mount does not take PUT"},
				{"PATCH", "/api/v1/health", 405, []string{"GET"}, "does not take PATCH"},
				{"DELETE", "/api/v1/openapi.json", 405, []string{"GET"}, "does not take DELETE"},
				{"PUT", "/api/v1/internal/snapshot", 405, []string{"GET", "POST"}, "does not take PUT"},
				{"POST", "/api/v1/custom", 405, []string{"GET"}, "does not take POST"},
				{"GET", "/api/v1/custom", 200, nil, ""},
				{"GET", "/api/v1/health", 200, nil, ""},
				{"GET", "/elsewhere", 404, nil, ""},
			} {
				a := do(t, tt.method, srv.URL+tt.path, "")
				if a.code != tt.code {
					t.Errorf("%s %s: %d, want %d: %s", tt.method, tt.path, a.code, tt.code, a.body)
					continue
				}
				if tt.status != "" && (a.contentType != "application/json" || !strings.Contains(a.status, tt.status)) {
					t.Errorf("%s %s: %s %q, want a JSON error with %q", tt.method, tt.path, a.contentType, a.body, tt.status)
				}
				for _, m := range tt.allow {
					if !strings.Contains(a.allow, m) {
						t.Errorf("%s %s: Allow %q lacks %s", tt.method, tt.path, a.allow, m)
					}
				}
				if tt.path == "/elsewhere" && strings.Contains(a.contentType, "json") {
					t.Errorf("GET /elsewhere, outside the API, answered JSON: %s", a.body)
				}
			}
		})
	}
}

// With a token configured, an unknown route is a 401 like every other
// request without the token, and names no methods; with it, a 404 or 405.
func TestUnknownRoutesNeedTheToken(t *testing.T) {
	co := newLeader(t)
	opts := httpapi.DefaultOptions()
	opts.AuthToken = "s3cret"
	for name, serve := range adapters {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, co, opts)
			if a := do(t, "GET", srv.URL+"/api/v1/nope", ""); a.code != 401 || a.status == "" {
				t.Errorf("unknown route without token: %d %s", a.code, a.body)
			}
			if a := do(t, "PUT", srv.URL+"/api/v1/mount", ""); a.code != 401 || a.allow != "" {
				t.Errorf("unknown method without token: %d, Allow %q", a.code, a.allow)
			}
			if a := do(t, "GET", srv.URL+"/api/v1/nope", "s3cret"); a.code != 404 || a.status == "" {
				t.Errorf("unknown route with token: %d %s", a.code, a.body)
			}
			if a := do(t, "PUT", srv.URL+"/api/v1/mount", "s3cret"); a.code != 405 || !strings.Contains(a.allow, "POST") {
				t.Errorf("unknown method with token: %d, Allow %q: %s", a.code, a.allow, a.body)
			}
		})
	}
}
