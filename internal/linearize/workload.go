package linearize

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/anishathalye/porcupine"
)

// Workload shape. Few keys per group make conflicts (and so informative
// histories) likely; each group is one porcupine partition.
var (
	mountPaths = []string{"/m0", "/m1", "/m2"}
	jobAliases = []string{"a0", "a1"}
	patterns   = []string{"^/m0/", "^/m1/"}
)

// JobMount is mounted before the history starts and never removed: job
// paths lie under it, so a job's fate does not depend on the mount
// registers (which keeps the job partitions independent).
const JobMount = "/jobs"

// Recorder collects a history. Its clock is monotonic nanoseconds since the
// history began.
type Recorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
}

// NewRecorder starts a history now.
func NewRecorder() *Recorder { return &Recorder{start: time.Now()} }

// Now is the history's clock.
func (r *Recorder) Now() int64 { return int64(time.Since(r.start)) }

func (r *Recorder) add(op porcupine.Operation) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

// Operations returns the history, every call without an answer given a
// return time after every other event: it may take effect at any moment
// after it was called (porcupine may also place it last, which is the same
// as never).
func (r *Recorder) Operations() []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	end := r.Now()
	for _, op := range r.ops {
		end = max(end, op.Return)
	}
	out := make([]porcupine.Operation, len(r.ops))
	copy(out, r.ops)
	for i := range out {
		if out[i].Output.(Output).Unknown {
			out[i].Return = end + 1
		}
	}
	return out
}

// Client is one sequential client of the API: it sends each call to a node
// chosen at random and records the call and its answer.
type Client struct {
	ID    int
	HTTP  *http.Client
	Nodes []string // base URLs
	Rec   *Recorder
	Rand  *rand.Rand
	// Stale sends reads with ?stale=true, which lets a follower answer from
	// its own replica: a deliberately broken client for the checker's own
	// test.
	Stale bool
	// unique numbers the values that writes write.
	unique *atomic.Int64
}

// NewClients makes n clients with generators derived from seed, sharing one
// HTTP client and one source of unique values.
func NewClients(n int, seed uint64, hc *http.Client, nodes []string, rec *Recorder) []*Client {
	var unique atomic.Int64
	cs := make([]*Client, n)
	for i := range cs {
		cs[i] = &Client{ID: i, HTTP: hc, Nodes: nodes, Rec: rec, Rand: rand.New(rand.NewPCG(seed, uint64(i))), unique: &unique}
	}
	return cs
}

// Run makes random calls until ctx is done. Protocol errors (an answer that
// the contract does not allow in any state, or cannot be decoded) go to
// report.
func (c *Client) Run(ctx context.Context, report func(error)) {
	for ctx.Err() == nil {
		if _, err := c.Do(c.randomInput()); err != nil {
			report(err)
		}
	}
}

func (c *Client) next() int64 { return c.unique.Add(1) }

// randomInput picks a call: about half reads, spread over the registers.
func (c *Client) randomInput() Input {
	r := c.Rand
	switch g := r.IntN(20); {
	case g < 12:
		m := mountPaths[r.IntN(len(mountPaths))]
		in := Input{Key: m, Path: m}
		switch k := r.IntN(20); {
		case k < 3:
			in.Op, in.Value = MountAdd, c.next()
		case k < 5:
			in.Op = MountRemove
		case k < 8:
			in.Op = MountGet
		default:
			in.Policy, in.Path = Policy(r.IntN(3)), m+"/d"
			switch k % 3 {
			case 0:
				in.Op, in.Value = PolicySet, c.next()
				if in.Policy == Priority {
					in.Value = 1 + in.Value%3
				}
			case 1:
				in.Op = PolicyDelete
			default:
				in.Op = PolicyGet
			}
		}
		return in
	case g < 17:
		a := jobAliases[r.IntN(len(jobAliases))]
		return Input{Op: []Op{JobSubmit, JobStop, JobGet, JobGet}[r.IntN(4)], Key: "job:" + a, Alias: a}
	default:
		in := Input{Key: filterKey}
		rule := Rule{Kind: "maxAge", Pattern: patterns[r.IntN(len(patterns))]}
		if r.IntN(2) == 0 {
			rule.Kind = "skipCache"
		}
		switch k := r.IntN(10); {
		case k < 3:
			in.Op = FilterAdd
		case k < 5:
			in.Op = FilterRemove
		case k < 6:
			in.Op, rule.Pattern = FilterDefault, ""
			if r.IntN(3) == 0 {
				rule.Kind = "immutable"
			}
		default:
			in.Op = FilterGet
		}
		if rule.Kind == "maxAge" && in.Op != FilterRemove {
			rule.Time = c.next()
		}
		in.Rule = rule
		return in
	}
}

// IsRead reports whether a call changes nothing.
func (in Input) IsRead() bool {
	switch in.Op {
	case MountGet, PolicyGet, JobGet, FilterGet:
		return true
	}
	return false
}

// request is the HTTP form of a call.
func (in Input) request() (method, path string, body any) {
	switch in.Op {
	case MountAdd:
		return http.MethodPost, "/api/v1/mount", api.Mount{Path: in.Path, UFS: "file:///srv" + in.Path, Options: map[string]string{"gen": strconv.FormatInt(in.Value, 10)}}
	case MountRemove:
		return http.MethodDelete, "/api/v1/mount", api.PathRequest{Path: in.Path}
	case MountGet:
		return http.MethodGet, "/api/v1/mount?path=" + in.Path, nil
	case PolicySet:
		switch in.Policy {
		case Quota:
			return http.MethodPost, "/api/v1/quota", map[string]any{"path": in.Path, "quota": in.Value}
		case TTL:
			return http.MethodPost, "/api/v1/ttl", map[string]any{"path": in.Path, "ttl": in.Value}
		default:
			return http.MethodPost, "/api/v1/priority", api.Priority{Path: in.Path, Priority: priorityNames[in.Value]}
		}
	case PolicyDelete:
		return http.MethodDelete, "/api/v1/" + in.Policy.String(), api.PathRequest{Path: in.Path}
	case PolicyGet:
		return http.MethodGet, "/api/v1/" + in.Policy.String() + "?path=" + in.Path, nil
	case JobSubmit:
		return http.MethodPost, "/api/v1/load", api.LoadRequest{Paths: []string{JobMount + "/" + in.Alias}, Alias: in.Alias}
	case JobStop:
		return http.MethodDelete, "/api/v1/load", api.JobSelector{Alias: in.Alias}
	case JobGet:
		return http.MethodGet, "/api/v1/load?alias=" + in.Alias, nil
	case FilterAdd, FilterDefault:
		req := api.FilterRequest{Rule: in.Rule.Kind, Pattern: in.Rule.Pattern, UpdateDefault: in.Op == FilterDefault}
		if in.Rule.Time != 0 {
			d := api.Duration(time.Duration(in.Rule.Time) * time.Second)
			req.Time = &d
		}
		return http.MethodPost, "/api/v1/cache-filter", req
	case FilterRemove:
		return http.MethodDelete, "/api/v1/cache-filter", api.FilterRequest{Rule: in.Rule.Kind, Pattern: in.Rule.Pattern}
	case FilterGet:
		return http.MethodGet, "/api/v1/cache-filter", nil
	}
	panic(fmt.Sprintf("linearize: no request for %v", in.Op))
}

// Do sends one call to a random node and records it. A read without a
// definite answer is not recorded; a write without one is recorded as
// Unknown.
func (c *Client) Do(in Input) (Output, error) {
	return c.DoOn(c.Nodes[c.Rand.IntN(len(c.Nodes))], in)
}

// DoOn sends one call to the node at base and records it; it returns the
// answer (ok false when there was none).
func (c *Client) DoOn(base string, in Input) (Output, error) {
	method, path, body := in.request()
	if c.Stale && in.IsRead() {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "stale=true"
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Output{}, err
		}
		rd = bytes.NewReader(b)
	}
	call := c.Rec.Now()
	out, servedBy, err := c.roundTrip(method, base+path, rd, in)
	ret := c.Rec.Now()
	if out.Unknown || out.Status >= 500 {
		// Back off as a real client would, rather than spin while no
		// node can answer.
		time.Sleep(time.Duration(10+c.Rand.IntN(40)) * time.Millisecond)
		if in.IsRead() {
			return Output{Unknown: true}, nil
		}
	}
	meta := fmt.Sprintf("client %d via %s", c.ID, strings.TrimPrefix(base, "http://"))
	if servedBy != "" {
		meta += ", served by " + servedBy
	}
	c.Rec.add(porcupine.Operation{ClientId: c.ID, Input: in, Call: call, Output: out, Return: ret, Metadata: meta})
	if err != nil {
		return out, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return out, nil
}

// roundTrip sends the request and decodes the answer. A transport error or
// a 5xx is an Unknown outcome; an undecodable definite answer is an error.
func (c *Client) roundTrip(method, url string, body io.Reader, in Input) (Output, string, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return Output{Unknown: true}, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Output{Unknown: true}, "", nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	servedBy := resp.Header.Get("X-Alluvium-Served-By")
	if err != nil {
		return Output{Unknown: true}, servedBy, nil
	}
	if resp.StatusCode == http.StatusServiceUnavailable && Refused(b) {
		return Output{Status: resp.StatusCode}, servedBy, nil
	}
	if resp.StatusCode >= 500 {
		return Output{Unknown: true}, servedBy, nil
	}
	out := Output{Status: resp.StatusCode}
	if err := decode(in, resp.StatusCode, b, &out); err != nil {
		return out, servedBy, fmt.Errorf("%d %s: %w", resp.StatusCode, b, err)
	}
	return out, servedBy, nil
}

// Refused reports whether a 503's body says that no leader took the call:
// the contract's `{"status": "no raft leader: ..."}`. httpapi answers so
// only before a command reaches Raft's log (raft's ErrNotLeader is given
// only to entries it never dispatched), so such a write changed nothing;
// the model holds the API to that. Any other 5xx may have taken effect.
func Refused(body []byte) bool {
	var e api.Error
	return json.Unmarshal(body, &e) == nil && strings.HasPrefix(e.Status, "no raft leader")
}

// decode fills the parts of out that the model checks.
func decode(in Input, code int, b []byte, out *Output) error {
	if in.Op == JobSubmit && code == http.StatusConflict {
		var e api.Error
		err := json.Unmarshal(b, &e)
		out.JobID, out.State, out.Resumed = e.ID, e.State, e.Resumed
		return err
	}
	if code != http.StatusOK {
		return nil
	}
	switch in.Op {
	case MountGet:
		var m api.Mount
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		v, err := strconv.ParseInt(m.Options["gen"], 10, 64)
		out.Value = v
		return err
	case PolicyGet:
		switch in.Policy {
		case Quota:
			var q api.Quota
			err := json.Unmarshal(b, &q)
			out.Value = q.QuotaBytes
			return err
		case TTL:
			var t api.TTL
			if err := json.Unmarshal(b, &t); err != nil || t.TTL == nil {
				return fmt.Errorf("no ttl: %v", err)
			}
			out.Value = int64(time.Duration(*t.TTL) / time.Second)
		default:
			var p api.Priority
			if err := json.Unmarshal(b, &p); err != nil {
				return err
			}
			if out.Value = PriorityLevel(p.Priority); out.Value == 0 {
				return fmt.Errorf("unknown priority %q", p.Priority)
			}
		}
	case JobSubmit, JobStop, JobGet:
		var j api.Job
		err := json.Unmarshal(b, &j)
		out.JobID, out.State = j.ID, j.State
		return err
	case FilterGet:
		var f api.CacheFilter
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		out.Filter.Rules = make([]Rule, len(f.Rules))
		for i, r := range f.Rules {
			out.Filter.Rules[i] = Rule{Kind: r.Rule, Pattern: r.Pattern, Time: seconds(r.Time)}
		}
		out.Filter.Default = Rule{Kind: f.DefaultRule, Time: seconds(f.DefaultTime)}
	}
	return nil
}

func seconds(d *api.Duration) int64 {
	if d == nil {
		return 0
	}
	return int64(time.Duration(*d) / time.Second)
}

// FinalReads returns a read of every register, to record once the faults
// are over: they pin down what the cluster ended up holding, so a write
// that was acknowledged and then lost shows up as a violation.
func FinalReads() []Input {
	var ins []Input
	for _, m := range mountPaths {
		ins = append(ins, Input{Op: MountGet, Key: m, Path: m})
		for p := range Policy(3) {
			ins = append(ins, Input{Op: PolicyGet, Key: m, Path: m + "/d", Policy: p})
		}
	}
	for _, a := range jobAliases {
		ins = append(ins, Input{Op: JobGet, Key: "job:" + a, Alias: a})
	}
	return append(ins, Input{Op: FilterGet, Key: filterKey})
}
