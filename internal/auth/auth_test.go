package auth_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/internal/auth"
)

func TestNeedAndAllows(t *testing.T) {
	for _, c := range []struct {
		method, route string
		need          auth.Role
	}{
		{"GET", "/api/v1/mount", auth.Read},
		{"HEAD", "/api/v1/data", auth.Read},
		{"POST", "/api/v1/mount", auth.Admin},
		{"DELETE", "/api/v1/load", auth.Admin},
		{"POST", "/api/v1/internal/workers/heartbeat", auth.Worker},
		{"GET", "/api/v1/internal/workers/policies", auth.Worker},
		{"POST", "/api/v1/internal/tasks/load", auth.Worker},
	} {
		if got := auth.Need(c.method, c.route); got != c.need {
			t.Errorf("Need(%s %s) = %s, want %s", c.method, c.route, got, c.need)
		}
	}
	for _, c := range []struct {
		have, need auth.Role
		ok         bool
	}{
		{auth.Admin, auth.Admin, true}, {auth.Admin, auth.Worker, true}, {auth.Admin, auth.Read, true},
		{auth.Worker, auth.Admin, false}, {auth.Worker, auth.Worker, true}, {auth.Worker, auth.Read, true},
		{auth.Read, auth.Admin, false}, {auth.Read, auth.Worker, false}, {auth.Read, auth.Read, true},
		{"", auth.Read, false},
	} {
		if got := c.have.Allows(c.need); got != c.ok {
			t.Errorf("%q.Allows(%q) = %v", c.have, c.need, got)
		}
	}
}

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileErrorsNameLinesNotTokens(t *testing.T) {
	for _, c := range []struct{ content, want string }{
		{"0123456789abcdef0 root\n", `role "root"`},
		{"short admin\n", "at least 16"},
		{"0123456789abcdef0\n", "TOKEN ROLE"},
		{"0123456789abcdef0 read a\n0123456789abcdef0 admin b\n", "line 2"},
		{"0123456789abcdef0 read a b c\n", "line 1"},
	} {
		_, err := auth.Load(write(t, c.content), "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error with %q", c.content, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "0123456789abcdef0") || strings.Contains(err.Error(), "short") {
			t.Errorf("the error shows a token: %v", err)
		}
	}
}

func TestDecideAndReload(t *testing.T) {
	path := write(t, "# comment\n\nread-token-0123456789 read dash\nworker-token-0123456789 worker\n")
	tokens, err := auth.Load(path, "the-single-admin-token")
	if err != nil {
		t.Fatal(err)
	}
	req := func(tok string) *http.Request {
		r := httptest.NewRequest("POST", "/api/v1/mount", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r
	}
	for _, c := range []struct {
		token, method, route, caller string
		status                       int
	}{
		{"", "GET", "/api/v1/mount", "", 401},
		{"nope", "GET", "/api/v1/mount", "", 401},
		{"read-token-0123456789", "GET", "/api/v1/mount", "dash", 0},
		{"read-token-0123456789", "POST", "/api/v1/mount", "dash", 403},
		{"worker-token-0123456789", "POST", "/api/v1/internal/workers/register", "worker@4", 0},
		{"worker-token-0123456789", "POST", "/api/v1/mount", "worker@4", 403},
		{"the-single-admin-token", "POST", "/api/v1/mount", auth.AdminTokenName, 0},
	} {
		caller, status, reason := tokens.Decide(req(c.token), c.method, c.route)
		if caller != c.caller || status != c.status {
			t.Errorf("%q %s %s: %q %d (%s), want %q %d", c.token, c.method, c.route, caller, status, reason, c.caller, c.status)
		}
		if c.token != "" && strings.Contains(reason, c.token) {
			t.Errorf("a reason shows the token: %s", reason)
		}
	}
	// A reload drops the read token and keeps the admin one; a broken file
	// keeps what is in force.
	if err := os.WriteFile(path, []byte("new-token-0123456789 admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tokens.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, status, _ := tokens.Decide(req("read-token-0123456789"), "GET", "/api/v1/mount"); status != 401 {
		t.Errorf("a removed token: %d, want 401", status)
	}
	os.WriteFile(path, []byte("bad line\n"), 0o600)
	if err := tokens.Reload(); err == nil {
		t.Fatal("a broken file reloaded")
	}
	for _, tok := range []string{"new-token-0123456789", "the-single-admin-token"} {
		if _, status, _ := tokens.Decide(req(tok), "POST", "/api/v1/mount"); status != 0 {
			t.Errorf("%s after a failed reload: %d", tok, status)
		}
	}
}
