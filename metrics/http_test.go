package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

func do(t *testing.T, method, url string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestRouteLabelsByPattern mounts routes on httprouter as httpapi does:
// requests are labelled by the registered pattern, never by the raw URL.
func TestRouteLabelsByPattern(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newHTTP(reg, true)
	if err != nil {
		t.Fatal(err)
	}
	router := httprouter.New()
	item := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/missing") {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		// A forwarded answer is flushed through the wrapper.
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the metrics wrapper: %v", err)
		}
	})
	router.Handler(http.MethodGet, "/api/v1/items/:id", m.Route(http.MethodGet, "/api/v1/items/:id", item))
	router.Handler(http.MethodPost, "/api/v1/items/:id", m.Route(http.MethodPost, "/api/v1/items/:id", item))
	srv := httptest.NewServer(router)
	defer srv.Close()

	for _, u := range []string{"/api/v1/items/a", "/api/v1/items/b", "/api/v1/items/missing"} {
		do(t, http.MethodGet, srv.URL+u)
	}
	do(t, http.MethodPost, srv.URL+"/api/v1/items/c")
	m.Forwarded(http.MethodPost, "/api/v1/items/:id", false)
	m.Forwarded(http.MethodPost, "/api/v1/items/:id", false)
	m.Forwarded(http.MethodPost, "/api/v1/items/:id", true)

	if n := testutil.CollectAndCount(m.requests); n != 3 {
		t.Errorf("%d request series, want 3 (GET 200, GET 404, POST 200)", n)
	}
	for _, tc := range []struct {
		method, code string
		want         uint64
	}{{"GET", "200", 2}, {"GET", "404", 1}, {"POST", "200", 1}} {
		h := m.requests.WithLabelValues(tc.method, "/api/v1/items/:id", tc.code).(prometheus.Histogram)
		if got := histCount(t, h); got != tc.want {
			t.Errorf("%s %s: %d requests, want %d", tc.method, tc.code, got, tc.want)
		}
	}
	for _, tc := range []struct {
		mode string
		want float64
	}{{"forward", 2}, {"redirect", 1}} {
		if got := testutil.ToFloat64(m.forwarded.WithLabelValues("POST", "/api/v1/items/:id", tc.mode)); got != tc.want {
			t.Errorf("forwarded mode=%s: %v, want %v", tc.mode, got, tc.want)
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// TestMiddlewareReadsServeMuxPatterns wraps a ServeMux, as a worker's
// handler is: the route is the pattern the mux matched.
func TestMiddlewareReadsServeMuxPatterns(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newHTTP(reg, false)
	if err != nil {
		t.Fatal(err)
	}
	if m.forwarded != nil {
		t.Fatal("a worker's metrics count forwards")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /files/{path...}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.PathValue("path")) })
	mux.HandleFunc("POST /task", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	srv := httptest.NewServer(m.Middleware(mux))
	defer srv.Close()

	tests := []struct {
		method, path string
		labels       []string // method, route, code
	}{
		{"GET", "/files/a/b.bin", []string{"GET", "/files/{path...}", "200"}},
		{"GET", "/files/c", []string{"GET", "/files/{path...}", "200"}},
		{"HEAD", "/files/c", []string{"HEAD", "/files/{path...}", "200"}},
		{"POST", "/task", []string{"POST", "/task", "202"}},
		{"GET", "/nowhere/x", []string{"GET", "unmatched", "404"}},
		{"BREW", "/task", []string{"OTHER", "unmatched", "405"}},
	}
	want := map[[3]string]uint64{}
	for _, tc := range tests {
		do(t, tc.method, srv.URL+tc.path)
		want[[3]string(tc.labels)]++
	}
	for l, n := range want {
		if got := histCount(t, m.requests.WithLabelValues(l[0], l[1], l[2]).(prometheus.Histogram)); got != n {
			t.Errorf("%v: %d requests, want %d", l, got, n)
		}
	}
	if n := testutil.CollectAndCount(m.requests); n != len(want) {
		t.Errorf("%d series, want %d: a raw path became a label?", n, len(want))
	}
}

func histCount(t *testing.T, h prometheus.Histogram) uint64 {
	t.Helper()
	pb := new(dto.Metric)
	if err := h.Write(pb); err != nil {
		t.Fatal(err)
	}
	return pb.GetHistogram().GetSampleCount()
}
