package worker

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The worker's API answers unknown routes and methods as the coordinators'
// does: JSON 404, and 405 with Allow, over loopback HTTP.
func TestUnknownRoutesAnswerJSON(t *testing.T) {
	w := newWorker(t, testConfig(t.TempDir()))
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	for _, tt := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/api/v1/nope", 404, ""},
		{"POST", "/api/v1/data/sample/hello.txt", 405, "GET"},
		{"DELETE", "/api/v1/stats", 405, "GET"},
		{"GET", "/api/v1/internal/tasks/load", 405, "POST"},
	} {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Status string }
		if resp.StatusCode != tt.code || resp.Header.Get("Content-Type") != "application/json" ||
			json.Unmarshal(b, &e) != nil || e.Status == "" {
			t.Errorf("%s %s: %d %s %s, want %d with a JSON error", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), b, tt.code)
		}
		if tt.allow != "" && !strings.Contains(resp.Header.Get("Allow"), tt.allow) {
			t.Errorf("%s %s: Allow %q lacks %s", tt.method, tt.path, resp.Header.Get("Allow"), tt.allow)
		}
	}
}
