package dashboard

import (
	"embed"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/ring"
)

//go:embed static
var static embed.FS

// files maps each route to its embedded file and content type. The routes
// are listed one by one, not as a wildcard, so that they mount on any
// httpapi.Router (httprouter and ServeMux disagree on wildcards) and can
// never shadow an /api/v1 route.
var files = []struct{ route, file, ctype string }{
	{"/", "static/index.html", "text/html; charset=utf-8"},
	{"/ui/app.js", "static/app.js", "text/javascript; charset=utf-8"},
	{"/ui/style.css", "static/style.css", "text/css; charset=utf-8"},
	{"/ui/favicon.svg", "static/favicon.svg", "image/svg+xml"},
}

// RingPath answers the ring shares of a member list.
const RingPath = "/ui/ring"

// maxMembers bounds the ring a request may ask for: building one costs
// about a millisecond per member.
const maxMembers = 1024

// Register mounts the dashboard's routes: GET / and GET /ui/... .
func Register(r httpapi.Router) {
	for _, f := range files {
		r.Handle(http.MethodGet, f.route, fileHandler(f.route, f.file, f.ctype))
	}
	r.Handle(http.MethodGet, RingPath, &ringHandler{})
}

// Handler is the dashboard as one handler, for routers that take a prefix
// or a fallback rather than routes.
func Handler() http.Handler {
	mux := http.NewServeMux()
	Register(httpapi.ServeMux(mux))
	return mux
}

func fileHandler(route, name, ctype string) http.Handler {
	body, err := static.ReadFile(name)
	if err != nil {
		panic("dashboard: missing embedded file " + name) // a build error, not a runtime one
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != route { // ServeMux's "/" matches every path
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		// The files change only with the binary; revalidating is cheap and
		// keeps an upgraded cluster from serving a stale page.
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		if ctype == files[0].ctype {
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		}
		w.Write(body)
	})
}

// Shares is the answer of GET /ui/ring: how many of the ring's partitions
// each member owns. Keys hash uniformly onto partitions, so a member's
// share of partitions is its share of the files; CapacityShare is what it
// should be (the member's capacity over all).
type Shares struct {
	Partitions int     `json:"partitions"`
	Members    []Share `json:"members"`
}

// Share is one member's part of the ring.
type Share struct {
	ID         string  `json:"id"`
	Partitions int     `json:"partitions"`
	Fraction   float64 `json:"fraction"`
	// CapacityShare is the member's weight (capacity) over the ring's.
	CapacityShare float64 `json:"capacityShare"`
}

// RingShares computes the shares of the ring that Alluvium builds from
// its members' capacities (ring.FromCapacities; 0 = unknown), in member
// order.
func RingShares(capacity map[string]int64) (Shares, error) {
	members := make(map[string]ring.Capacity, len(capacity))
	for id, c := range capacity {
		members[id] = ring.Capacity{Bytes: c}
	}
	return MemberShares(members)
}

// MemberShares is RingShares with each member's --ring-weight
// (ring.FromMembers): CapacityShare is then the member's weight (capacity
// times ring weight) over the ring's.
func MemberShares(members map[string]ring.Capacity) (Shares, error) {
	rg, err := ring.FromMembers(members, ring.DefaultConfig())
	if err != nil {
		return Shares{}, err
	}
	parts := rg.Config().Partitions
	out := Shares{Partitions: parts, Members: []Share{}}
	counts, total := rg.Counts(), 0.0
	for _, id := range rg.Members() {
		total += rg.Weight(id)
	}
	for _, id := range rg.Members() {
		out.Members = append(out.Members, Share{ID: id, Partitions: counts[id],
			Fraction: float64(counts[id]) / float64(parts), CapacityShare: rg.Weight(id) / total})
	}
	return out, nil
}

// parseMember reads a member=id, member=id:capacityBytes or
// member=id:capacityBytes:ringWeight value (what it cannot read counts as
// unset).
func parseMember(v string) (string, ring.Capacity) {
	id, rest, _ := strings.Cut(v, ":")
	c, w, _ := strings.Cut(rest, ":")
	var out ring.Capacity
	if n, err := strconv.ParseInt(c, 10, 64); err == nil && n >= 0 {
		out.Bytes = n
	}
	if f, err := strconv.ParseFloat(w, 64); err == nil && f >= 0 {
		out.Scale = f
	}
	return id, out
}

// ringHandler answers GET /ui/ring?member=a&member=b (or member=a,b), each
// optionally id:capacityBytes or id:capacityBytes:ringWeight. The page polls it with an unchanged
// membership, so the last answer is kept.
type ringHandler struct {
	mu   sync.Mutex
	key  string
	last []byte
}

func (h *ringHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var members []string
	for _, v := range r.URL.Query()["member"] {
		for m := range strings.SplitSeq(v, ",") {
			if m = strings.TrimSpace(m); m != "" {
				members = append(members, m)
			}
		}
	}
	slices.Sort(members)
	members = slices.Compact(members)
	capacity := make(map[string]ring.Capacity, len(members))
	for _, m := range members {
		id, c := parseMember(m)
		capacity[id] = ring.Capacity{Bytes: max(capacity[id].Bytes, c.Bytes), Scale: max(capacity[id].Scale, c.Scale)}
	}
	if len(members) > maxMembers {
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "too many members: at most 1024"})
		return
	}
	key := strings.Join(members, "\x00")
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil || key != h.key {
		s, err := MemberShares(capacity)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"status": err.Error()})
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"status": err.Error()})
			return
		}
		h.key, h.last = key, b
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(h.last)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
