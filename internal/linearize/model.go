package linearize

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// Op names one API call the model knows.
type Op uint8

// The calls, grouped by the register they touch.
const (
	MountAdd      Op = iota // POST /api/v1/mount
	MountRemove             // DELETE /api/v1/mount
	MountGet                // GET /api/v1/mount?path=
	PolicySet               // POST /api/v1/{quota,ttl,priority}
	PolicyDelete            // DELETE /api/v1/{quota,ttl,priority}
	PolicyGet               // GET /api/v1/{quota,ttl,priority}?path=
	JobSubmit               // POST /api/v1/load
	JobStop                 // DELETE /api/v1/load
	JobGet                  // GET /api/v1/load?alias=
	FilterAdd               // POST /api/v1/cache-filter
	FilterRemove            // DELETE /api/v1/cache-filter
	FilterDefault           // POST /api/v1/cache-filter with updateDefault
	FilterGet               // GET /api/v1/cache-filter
)

var opNames = [...]string{"mount+", "mount-", "mount?", "set", "delete", "get", "submit", "stop", "job?", "rule+", "rule-", "default", "filter?"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", o)
}

// Policy names the per-directory policies; each is one register of a
// mount's subtree.
type Policy uint8

// The policies, in the order of subtree.Policies.
const (
	Quota Policy = iota
	TTL
	Priority
)

var policyNames = [...]string{"quota", "ttl", "priority"}

func (p Policy) String() string { return policyNames[p] }

// Priorities are levels 1..3 in the model (0 is "not set").
var priorityNames = [...]string{"", "HIGH", "MEDIUM", "LOW"}

// PriorityLevel maps a priority name to its level, 0 when unknown.
func PriorityLevel(name string) int64 {
	for i, n := range priorityNames {
		if i > 0 && strings.EqualFold(n, name) {
			return int64(i)
		}
	}
	return 0
}

// Job states as the API answers them.
const (
	JobWaiting = "WAITING"
	JobStopped = "STOPPED"
)

// The partition key of the cache filter: its rules form one ordered list,
// so the whole filter is one register.
const filterKey = "filter"

// Input is one call. Key names the register group it touches (the
// partition): a mount point for mount and policy calls (the policies sit on
// <mount>/d, so removing the mount removes them), "job:<alias>" for jobs,
// "filter" for the cache filter.
type Input struct {
	Op     Op
	Key    string
	Policy Policy // policy calls
	// Value is what a write writes, unique per write where the register
	// allows: a mount's generation (an option), quota bytes, TTL seconds,
	// priority level, a maxAge rule's seconds.
	Value   int64
	Rule    Rule   // filter calls (Time is the written maxAge)
	Alias   string // job calls
	Path    string // mount and policy calls: the path in the request
	Comment string // free text for the visualisation
}

// Output is what came back.
type Output struct {
	// Unknown marks a call without a definite answer (the connection
	// failed, the client timed out, or a 5xx): a write may or may not have
	// taken effect, at any time after it was sent. Reads without an answer
	// are not recorded at all.
	Unknown bool
	// Status is the answer's status code. A definite 503 is a refusal
	// ("no raft leader"): the call had no effect.
	Status  int
	Value   int64  // a read's value: generation, bytes, seconds, level
	JobID   string // job calls: the id in the answer (also in a 409)
	State   string // job calls: the state in the answer
	Resumed bool   // a 409 to a submit: the job was resumed
	Filter  FilterView
}

// Rule is one cache-filter rule; the default rule has no pattern. Time is in
// seconds, set for maxAge only.
type Rule struct {
	Kind    string
	Pattern string
	Time    int64
}

func (r Rule) String() string {
	s := r.Kind
	if r.Pattern != "" {
		s += " " + r.Pattern
	}
	if r.Time != 0 {
		s += fmt.Sprintf(" %ds", r.Time)
	}
	return s
}

// FilterView is the answer of GET /api/v1/cache-filter.
type FilterView struct {
	Rules   []Rule
	Default Rule
}

// subtree is the state of one mount point and the policies on its
// directory. It is comparable, as porcupine's cache needs.
type subtree struct {
	Mounted  bool
	Gen      int64
	Policies [3]int64 // 0: not set
}

// job is the state of the load job with one alias. State "" means no such
// job; ID "" with a state means a job whose id nobody has seen yet (its
// submit got no answer), bound at the first answer that names it.
type job struct {
	State string
	ID    string
}

// maxRules bounds the filter rules the workload can create (two kinds times
// two patterns).
const maxRules = 4

// filter is the cache filter: rules in the order added, and the default.
type filter struct {
	N       int
	Rules   [maxRules]Rule
	Default Rule
}

// Model is the porcupine model of the API's registers. Histories are
// partitioned by Input.Key, so each mount subtree, each job alias and the
// filter are checked on their own: linearizability is local (Herlihy and
// Wing), so the whole history is linearizable when every part is.
var Model = porcupine.Model{
	Partition: partition,
	Init:      func() any { return state{} },
	Step: func(s, in, out any) (bool, any) {
		return step(s.(state), in.(Input), out.(Output))
	},
	DescribeOperation: describeOperation,
	DescribeState:     func(s any) string { return s.(state).String() },
	DescribeOperationMetadata: func(m any) string {
		if m == nil {
			return ""
		}
		return fmt.Sprint(m)
	},
}

// state is one partition's state: exactly one of the groups is used, chosen
// by the first operation's kind. A union keeps Init independent of the key.
type state struct {
	Subtree subtree
	Job     job
	Filter  filter
}

func partition(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		k := op.Input.(Input).Key
		byKey[k] = append(byKey[k], op)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

// step is the sequential specification of the API (spec/API.md). It returns
// whether the call could have answered out in state s, and the next state.
func step(s state, in Input, out Output) (bool, state) {
	if !out.Unknown && out.Status == http.StatusServiceUnavailable {
		// Refused for want of a leader: nothing happened.
		return true, s
	}
	switch in.Op {
	case MountAdd, MountRemove, MountGet, PolicySet, PolicyDelete, PolicyGet:
		ok, t := stepSubtree(s.Subtree, in, out)
		s.Subtree = t
		return ok, s
	case JobSubmit, JobStop, JobGet:
		ok, j := stepJob(s.Job, in, out)
		s.Job = j
		return ok, s
	case FilterAdd, FilterRemove, FilterDefault, FilterGet:
		ok, f := stepFilter(s.Filter, in, out)
		s.Filter = f
		return ok, s
	}
	return false, s
}

func stepSubtree(s subtree, in Input, out Output) (bool, subtree) {
	p := &s.Policies[in.Policy]
	switch in.Op {
	case MountAdd:
		// 200 when free; 409 when mounted already (the options of the
		// earlier mount stay).
		if out.Unknown || out.Status == http.StatusOK {
			if s.Mounted {
				return out.Unknown, s
			}
			s.Mounted, s.Gen = true, in.Value
			return true, s
		}
		return out.Status == http.StatusConflict && s.Mounted, s
	case MountRemove:
		// 200 removes the mount and the policies under it; 410 not mounted.
		if out.Unknown || out.Status == http.StatusOK {
			if !s.Mounted {
				return out.Unknown, s
			}
			return true, subtree{}
		}
		return out.Status == http.StatusGone && !s.Mounted, s
	case MountGet:
		if out.Status == http.StatusOK {
			return s.Mounted && out.Value == s.Gen, s
		}
		return out.Status == http.StatusNotFound && !s.Mounted, s
	case PolicySet:
		// 200 add or update; 400 when the path is under no mount point.
		if out.Unknown || out.Status == http.StatusOK {
			if !s.Mounted {
				return out.Unknown, s
			}
			*p = in.Value
			return true, s
		}
		return out.Status == http.StatusBadRequest && !s.Mounted, s
	case PolicyDelete:
		// 200 removed; 400 not found.
		if out.Unknown || out.Status == http.StatusOK {
			if *p == 0 {
				return out.Unknown, s
			}
			*p = 0
			return true, s
		}
		return out.Status == http.StatusBadRequest && *p == 0, s
	case PolicyGet:
		if out.Status == http.StatusOK {
			return *p != 0 && out.Value == *p, s
		}
		return out.Status == http.StatusNotFound && *p == 0, s
	}
	return false, s
}

// sameJob reports whether an answer's id fits the job's, and binds an id not
// seen yet.
func sameJob(j job, id string) (bool, job) {
	if id == "" || (j.ID != "" && j.ID != id) {
		return false, j
	}
	j.ID = id
	return true, j
}

func stepJob(j job, in Input, out Output) (bool, job) {
	switch in.Op {
	case JobSubmit:
		if out.Unknown {
			// A new job gets an id nobody knows; a stopped one resumes;
			// a waiting one goes on.
			if j.State == "" || j.State == JobStopped {
				j.State = JobWaiting
			}
			return true, j
		}
		switch out.Status {
		case http.StatusOK: // a new job, WAITING
			if j.State != "" || out.State != JobWaiting {
				return false, j
			}
			return true, job{State: JobWaiting, ID: out.JobID}
		case http.StatusConflict: // the job exists: resumed when it was stopped
			if j.State == "" || out.Resumed != (j.State == JobStopped) {
				return false, j
			}
			ok, j := sameJob(j, out.JobID)
			j.State = JobWaiting
			return ok, j
		}
		return false, j
	case JobStop:
		if out.Unknown {
			if j.State == JobWaiting {
				j.State = JobStopped
			}
			return true, j
		}
		switch out.Status {
		case http.StatusOK:
			if j.State != JobWaiting || out.State != JobStopped {
				return false, j
			}
			ok, j := sameJob(j, out.JobID)
			j.State = JobStopped
			return ok, j
		case http.StatusGone: // no such job, or it has ended
			return j.State != JobWaiting, j
		}
		return false, j
	case JobGet:
		switch out.Status {
		case http.StatusOK:
			if j.State == "" || out.State != j.State {
				return false, j
			}
			return sameJob(j, out.JobID)
		case http.StatusNotFound:
			return j.State == "", j
		}
	}
	return false, j
}

func (f filter) find(kind, pattern string) int {
	for i := range f.N {
		if f.Rules[i].Kind == kind && f.Rules[i].Pattern == pattern {
			return i
		}
	}
	return -1
}

func stepFilter(f filter, in Input, out Output) (bool, filter) {
	if !out.Unknown && in.Op != FilterGet && in.Op != FilterRemove && out.Status != http.StatusOK {
		return false, f
	}
	switch in.Op {
	case FilterAdd:
		// Same rule and pattern: updated in place; else appended.
		if i := f.find(in.Rule.Kind, in.Rule.Pattern); i >= 0 {
			f.Rules[i] = in.Rule
			return true, f
		}
		if f.N == maxRules {
			return false, f
		}
		f.Rules[f.N] = in.Rule
		f.N++
		return true, f
	case FilterRemove:
		i := f.find(in.Rule.Kind, in.Rule.Pattern)
		if !out.Unknown && out.Status != http.StatusOK {
			return out.Status == http.StatusBadRequest && i < 0, f
		}
		if i < 0 {
			return out.Unknown, f
		}
		copy(f.Rules[i:], f.Rules[i+1:f.N])
		f.N--
		f.Rules[f.N] = Rule{}
		return true, f
	case FilterDefault:
		f.Default = in.Rule
		return true, f
	case FilterGet:
		if out.Status != http.StatusOK || len(out.Filter.Rules) != f.N || out.Filter.Default != f.defaultRule() {
			return false, f
		}
		for i, r := range out.Filter.Rules {
			if r != f.Rules[i] {
				return false, f
			}
		}
		return true, f
	}
	return false, f
}

// defaultRule is the default as answered: immutable until changed.
func (f filter) defaultRule() Rule {
	if f.Default.Kind == "" {
		return Rule{Kind: "immutable"}
	}
	return f.Default
}

func (s state) String() string {
	var b strings.Builder
	if t := s.Subtree; t.Mounted {
		fmt.Fprintf(&b, "mounted gen=%d", t.Gen)
		for i, v := range t.Policies {
			if v != 0 {
				fmt.Fprintf(&b, " %s=%s", Policy(i), policyValue(Policy(i), v))
			}
		}
	}
	if j := s.Job; j.State != "" {
		id := j.ID
		if id == "" {
			id = "?"
		}
		fmt.Fprintf(&b, "job %s %s", id, j.State)
	}
	if f := s.Filter; f != (filter{}) {
		rules := make([]string, f.N)
		for i := range f.N {
			rules[i] = f.Rules[i].String()
		}
		fmt.Fprintf(&b, "rules [%s] default %s", strings.Join(rules, ", "), f.defaultRule())
	}
	if b.Len() == 0 {
		return "(empty)"
	}
	return b.String()
}

func policyValue(p Policy, v int64) string {
	switch p {
	case TTL:
		return fmt.Sprintf("%ds", v)
	case Priority:
		if v > 0 && int(v) < len(priorityNames) {
			return priorityNames[v]
		}
	}
	return fmt.Sprint(v)
}

func describeOperation(input, output any) string {
	in, out := input.(Input), output.(Output)
	var call string
	switch in.Op {
	case MountAdd:
		call = fmt.Sprintf("mount %s gen=%d", in.Path, in.Value)
	case MountRemove, MountGet:
		call = fmt.Sprintf("%s %s", in.Op, in.Path)
	case PolicySet:
		call = fmt.Sprintf("%s %s %s", in.Policy, in.Path, policyValue(in.Policy, in.Value))
	case PolicyDelete, PolicyGet:
		call = fmt.Sprintf("%s %s %s", in.Policy, in.Op, in.Path)
	case JobSubmit, JobStop, JobGet:
		call = fmt.Sprintf("%s %s", in.Op, in.Alias)
	case FilterAdd, FilterRemove, FilterDefault:
		call = fmt.Sprintf("%s %s", in.Op, in.Rule)
	default:
		call = in.Op.String()
	}
	if out.Unknown {
		return call + " -> ?"
	}
	res := fmt.Sprint(out.Status)
	switch {
	case out.Status != http.StatusOK && in.Op != JobSubmit:
	case in.Op == MountGet:
		res += fmt.Sprintf(" gen=%d", out.Value)
	case in.Op == PolicyGet:
		res += " " + policyValue(in.Policy, out.Value)
	case in.Op == FilterGet:
		rules := make([]string, len(out.Filter.Rules))
		for i, r := range out.Filter.Rules {
			rules[i] = r.String()
		}
		res += fmt.Sprintf(" [%s] default %s", strings.Join(rules, ", "), out.Filter.Default)
	}
	if out.JobID != "" {
		res += fmt.Sprintf(" %s %s", out.JobID, out.State)
		if out.Resumed {
			res += " resumed"
		}
	}
	return call + " -> " + res
}
