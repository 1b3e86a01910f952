package dashboard_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/dashboard"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/julienschmidt/httprouter"
)

// The dashboard mounts on both routers httpapi supports, beside the API,
// and answers its files with the right types.
func TestRoutes(t *testing.T) {
	routers := map[string]func() http.Handler{
		"httprouter": func() http.Handler {
			r := httprouter.New()
			dashboard.Register(httpapi.HTTPRouter(r))
			return r
		},
		"ServeMux": func() http.Handler { return dashboard.Handler() },
	}
	cases := []struct {
		path, ctype, contains string
		status                int
	}{
		{"/", "text/html; charset=utf-8", `<script src="/ui/app.js"`, 200},
		{"/ui/app.js", "text/javascript; charset=utf-8", "/api/v1/nodes", 200},
		{"/ui/style.css", "text/css; charset=utf-8", ".bar", 200},
		{"/ui/favicon.svg", "image/svg+xml", "<svg", 200},
		{"/ui/ring?member=w1&member=w2,w3", "application/json", `"partitions":1048576`, 200},
		{"/ui/ring", "application/json", `"members":[]`, 200},
		{"/ui/nothing.js", "", "", 404},
		{"/api/v1/nodes", "", "", 404}, // never the dashboard's
	}
	for name, mk := range routers {
		h := mk()
		for _, c := range cases {
			t.Run(name+c.path, func(t *testing.T) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
				if rec.Code != c.status {
					t.Fatalf("GET %s: %d, want %d", c.path, rec.Code, c.status)
				}
				if c.status != 200 {
					return
				}
				if got := rec.Header().Get("Content-Type"); got != c.ctype {
					t.Errorf("Content-Type %q, want %q", got, c.ctype)
				}
				if !strings.Contains(rec.Body.String(), c.contains) {
					t.Errorf("body lacks %q", c.contains)
				}
			})
		}
	}
}

func TestRingShares(t *testing.T) {
	h := dashboard.Handler()
	get := func(q string) (int, dashboard.Shares) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/ui/ring"+q, nil))
		var s dashboard.Shares
		body, _ := io.ReadAll(rec.Body)
		if rec.Code == 200 {
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
		}
		return rec.Code, s
	}
	cases := []struct {
		query   string
		members []string
	}{
		{"?member=w1", []string{"w1"}},
		{"?member=w2&member=w1&member=w3", []string{"w1", "w2", "w3"}},
		{"?member=w3,w1,w1,%20w2", []string{"w1", "w2", "w3"}},         // duplicates and spaces
		{"?member=w1&member=w2&member=w3", []string{"w1", "w2", "w3"}}, // the cached answer
	}
	for _, c := range cases {
		code, s := get(c.query)
		if code != 200 || len(s.Members) != len(c.members) {
			t.Fatalf("%s: %d %+v", c.query, code, s)
		}
		total := 0
		for i, m := range s.Members {
			if m.ID != c.members[i] || m.Partitions <= 0 {
				t.Fatalf("%s: member %d is %+v, want %s with partitions", c.query, i, m, c.members[i])
			}
			total += m.Partitions
		}
		if total != s.Partitions {
			t.Fatalf("%s: shares sum to %d of %d partitions", c.query, total, s.Partitions)
		}
	}
	// The shares are the ring's: what RingShares (and so ring.New) computes.
	want, err := dashboard.RingShares(map[string]int64{"w1": 0, "w2": 0, "w3": 0})
	if err != nil {
		t.Fatal(err)
	}
	if _, got := get("?member=w1,w2,w3"); got.Members[1] != want.Members[1] {
		t.Fatalf("served %+v, computed %+v", got.Members[1], want.Members[1])
	}
	var many []string
	for i := range 1025 {
		many = append(many, "w"+strconv.Itoa(i))
	}
	if code, _ := get("?member=" + strings.Join(many, ",")); code != http.StatusBadRequest {
		t.Fatalf("1025 members: %d, want 400", code)
	}
}
