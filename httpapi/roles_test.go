package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/audit"
	"github.com/alluvium/alluvium/internal/auth"
)

const (
	adminTok  = "admin-token-0123456789"
	readTok   = "read-token-0123456789"
	workerTok = "worker-token-0123456789"
)

// lockedBuffer is an audit log the test can read while servers write it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// scopedServer serves the API of a fresh leader with the three tokens of
// a token file and an audit log.
func scopedServer(t *testing.T) (string, *lockedBuffer) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "tokens")
	content := "# the cluster's tokens\n" + adminTok + " admin ops\n" + readTok + " read dashboards\n" + workerTok + " worker\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.Load(file, "")
	if err != nil {
		t.Fatal(err)
	}
	log := &lockedBuffer{}
	opts := httpapi.DefaultOptions()
	opts.Authorize = func(r *http.Request, method, route string) httpapi.Access {
		c, s, why := tokens.Decide(r, method, route)
		return httpapi.Access{Caller: c, Status: s, Reason: why}
	}
	opts.Audit = audit.New(log).Record
	return serve(t, newLeader(t), opts).URL, log
}

// routes are the document's operations and the internal routes, as
// method and concrete path ({id} filled in).
func routes(t *testing.T) [][2]string {
	doc := servedOpenAPI(t)
	param := regexp.MustCompile(`\{[^}]+\}`)
	var out [][2]string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, [2]string{method, param.ReplaceAllString(path, "worker-1")})
		}
	}
	for _, p := range []string{api.PathWorkerRegister, api.PathWorkerHeartbeat} {
		out = append(out, [2]string{http.MethodPost, p})
	}
	out = append(out, [2]string{http.MethodGet, api.PathWorkerPolicies + "?id=worker-1&wait=1ms"})
	sort.Slice(out, func(i, j int) bool { return out[i][0]+out[i][1] < out[j][0]+out[j][1] })
	return out
}

// TestEachRoleAgainstEachRoute: every route of the OpenAPI document (and
// the internal ones) with no token, a wrong one, and a token of each role:
// 401 without a valid token, 403 with one lacking the role, neither with
// one that has it; every refusal and every write is audited, by token
// name, never by token.
func TestEachRoleAgainstEachRoute(t *testing.T) {
	base, log := scopedServer(t)
	callers := []struct {
		name, token string
		role        auth.Role
	}{{"none", "", ""}, {"wrong", "not-a-token-0123456789", ""}, {"read", readTok, auth.Read}, {"worker", workerTok, auth.Worker}, {"admin", adminTok, auth.Admin}}
	refusals := 0
	for _, rt := range routes(t) {
		method, path := rt[0], rt[1]
		route := strings.SplitN(path, "?", 2)[0]
		for _, c := range callers {
			want := 0 // anything but 401 and 403
			switch {
			case c.role == "":
				want = http.StatusUnauthorized
			case !c.role.Allows(auth.Need(method, route)):
				want = http.StatusForbidden
			}
			got := callAs(t, base, method, path, c.token)
			if (want != 0 && got != want) || (want == 0 && (got == 401 || got == 403)) {
				t.Errorf("%s %s as %s: %d, want %s", method, path, c.name, got, statusWant(want))
			}
			if want != 0 {
				refusals++
			}
		}
	}
	lines := auditLines(t, log.String())
	refused := 0
	for _, e := range lines {
		if e.Status == 401 || e.Status == 403 {
			refused++
		}
		if e.Status == 403 && e.Caller == "" || e.Time.IsZero() || e.Remote == "" || e.Route == "" {
			t.Errorf("incomplete audit line %+v", e)
		}
	}
	if refused != refusals {
		t.Errorf("%d refusals audited, want %d", refused, refusals)
	}
	for _, tok := range []string{adminTok, readTok, workerTok, "not-a-token"} {
		if strings.Contains(log.String(), tok) {
			t.Fatalf("the audit log holds a token")
		}
	}
}

func statusWant(code int) string {
	if code == 0 {
		return "neither 401 nor 403"
	}
	return http.StatusText(code)
}

func callAs(t *testing.T, base, method, path, token string) int {
	t.Helper()
	var body io.Reader
	if method != http.MethodGet && method != http.MethodHead {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func auditLines(t *testing.T, s string) []api.AuditEvent {
	t.Helper()
	var out []api.AuditEvent
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		var e api.AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// TestAuditRecordsWrites: an accepted write and a refused one, with their
// objects, and no line for reads.
func TestAuditRecordsWrites(t *testing.T) {
	base, log := scopedServer(t)
	for _, c := range []struct {
		method, path, body, token string
		want                      int
	}{
		{"POST", "/api/v1/mount", `{"path":"/logs","ufs":"file:///srv/logs"}`, adminTok, 200},
		{"POST", "/api/v1/quota", `{"path":"/logs","quota":"1GiB"}`, readTok, 403},
		{"GET", "/api/v1/mount", "", readTok, 200},
		{"DELETE", "/api/v1/mount?path=/logs", "", "", 401},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
	}
	lines := auditLines(t, log.String())
	want := []api.AuditEvent{
		{Caller: "ops", Method: "POST", Route: "/api/v1/mount", Path: "/logs", Status: 200},
		{Caller: "dashboards", Method: "POST", Route: "/api/v1/quota", Path: "/logs", Status: 403},
		{Caller: "", Method: "DELETE", Route: "/api/v1/mount", Path: "/logs", Status: 401},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d audit lines, want %d:\n%s", len(lines), len(want), log.String())
	}
	for i, w := range want {
		g := lines[i]
		if g.Caller != w.Caller || g.Method != w.Method || g.Route != w.Route || g.Path != w.Path || g.Status != w.Status || g.Node == "" {
			t.Errorf("audit line %d: %+v, want %+v", i, g, w)
		}
	}
}
