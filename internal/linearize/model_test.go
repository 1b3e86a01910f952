package linearize

import (
	"github.com/anishathalye/porcupine"
	"net/http"
	"testing"
)

// call is one step of a sequential run of the model.
type call struct {
	in  Input
	out Output
	ok  bool // whether the model must accept it
}

var (
	unknown = Output{Unknown: true}
	refused = Output{Status: http.StatusServiceUnavailable}
)

func status(code int) Output { return Output{Status: code} }
func value(v int64) Output   { return Output{Status: http.StatusOK, Value: v} }

func jobOut(code int, id, state string, resumed bool) Output {
	return Output{Status: code, JobID: id, State: state, Resumed: resumed}
}

func filterOut(def Rule, rules ...Rule) Output {
	if rules == nil {
		rules = []Rule{}
	}
	return Output{Status: http.StatusOK, Filter: FilterView{Rules: rules, Default: def}}
}

func mount(op Op, v int64) Input { return Input{Op: op, Key: "/m0", Path: "/m0", Value: v} }
func policy(op Op, p Policy, v int64) Input {
	return Input{Op: op, Key: "/m0", Path: "/m0/d", Policy: p, Value: v}
}
func jobIn(op Op) Input        { return Input{Op: op, Key: "job:a0", Alias: "a0"} }
func rule(op Op, r Rule) Input { return Input{Op: op, Key: filterKey, Rule: r} }

var (
	immutable = Rule{Kind: "immutable"}
	ruleA     = Rule{Kind: "maxAge", Pattern: "^/a/", Time: 10}
	ruleA2    = Rule{Kind: "maxAge", Pattern: "^/a/", Time: 20}
	ruleB     = Rule{Kind: "skipCache", Pattern: "^/b/"}
)

// TestStep runs the model's step function through sequences of calls: each
// step must be accepted or refused as the contract says, and an accepted
// step moves the state on for the next.
func TestStep(t *testing.T) {
	ok := http.StatusOK
	tests := []struct {
		name  string
		calls []call
	}{
		{"mount then read it", []call{
			{mount(MountGet, 0), status(http.StatusNotFound), true},
			{mount(MountAdd, 1), status(ok), true},
			{mount(MountGet, 0), value(1), true},
		}},
		{"read a mount never made", []call{{mount(MountGet, 0), value(1), false}}},
		{"mount twice: 409 keeps the first", []call{
			{mount(MountAdd, 1), status(ok), true},
			{mount(MountAdd, 2), status(http.StatusConflict), true},
			{mount(MountGet, 0), value(2), false},
			{mount(MountGet, 0), value(1), true},
		}},
		{"a second mount cannot succeed", []call{
			{mount(MountAdd, 1), status(ok), true},
			{mount(MountAdd, 2), status(ok), false},
		}},
		{"409 without a mount", []call{{mount(MountAdd, 1), status(http.StatusConflict), false}}},
		{"an unanswered mount took effect", []call{
			{mount(MountAdd, 7), unknown, true},
			{mount(MountGet, 0), value(7), true},
		}},
		{"an unanswered mount on a mounted path changes nothing", []call{
			{mount(MountAdd, 1), status(ok), true},
			{mount(MountAdd, 2), unknown, true},
			{mount(MountGet, 0), value(1), true},
		}},
		{"a refused write changes nothing", []call{
			{mount(MountAdd, 1), refused, true},
			{mount(MountGet, 0), status(http.StatusNotFound), true},
			{mount(MountAdd, 2), status(ok), true},
			{mount(MountRemove, 0), refused, true},
			{mount(MountGet, 0), value(2), true},
		}},
		{"unmount", []call{
			{mount(MountRemove, 0), status(http.StatusGone), true},
			{mount(MountRemove, 0), status(ok), false},
			{mount(MountAdd, 1), status(ok), true},
			{mount(MountRemove, 0), status(http.StatusGone), false},
			{mount(MountRemove, 0), status(ok), true},
			{mount(MountGet, 0), status(http.StatusNotFound), true},
		}},
		{"policies need a mount", []call{
			{policy(PolicySet, Quota, 5), status(ok), false},
			{policy(PolicySet, Quota, 5), status(http.StatusBadRequest), true},
			{policy(PolicyGet, Quota, 0), status(http.StatusNotFound), true},
			{mount(MountAdd, 1), status(ok), true},
			{policy(PolicySet, Quota, 5), status(http.StatusBadRequest), false},
			{policy(PolicySet, Quota, 5), status(ok), true},
			{policy(PolicyGet, Quota, 0), value(5), true},
		}},
		{"policies are separate registers", []call{
			{mount(MountAdd, 1), status(ok), true},
			{policy(PolicySet, TTL, 60), status(ok), true},
			{policy(PolicySet, Priority, 3), status(ok), true},
			{policy(PolicyGet, Quota, 0), status(http.StatusNotFound), true},
			{policy(PolicyGet, TTL, 0), value(3), false},
			{policy(PolicyGet, TTL, 0), value(60), true},
			{policy(PolicyGet, Priority, 0), value(3), true},
		}},
		{"policy update and delete", []call{
			{mount(MountAdd, 1), status(ok), true},
			{policy(PolicyDelete, TTL, 0), status(ok), false},
			{policy(PolicyDelete, TTL, 0), status(http.StatusBadRequest), true},
			{policy(PolicySet, TTL, 60), status(ok), true},
			{policy(PolicySet, TTL, 90), status(ok), true},
			{policy(PolicyGet, TTL, 0), value(60), false},
			{policy(PolicyGet, TTL, 0), value(90), true},
			{policy(PolicyDelete, TTL, 0), status(http.StatusBadRequest), false},
			{policy(PolicyDelete, TTL, 0), status(ok), true},
			{policy(PolicyGet, TTL, 0), value(90), false},
			{policy(PolicyGet, TTL, 0), status(http.StatusNotFound), true},
		}},
		{"unmount removes the policies under it", []call{
			{mount(MountAdd, 1), status(ok), true},
			{policy(PolicySet, Quota, 5), status(ok), true},
			{mount(MountRemove, 0), status(ok), true},
			{mount(MountAdd, 2), status(ok), true},
			{policy(PolicyGet, Quota, 0), value(5), false},
			{policy(PolicyGet, Quota, 0), status(http.StatusNotFound), true},
		}},
		{"an unanswered unmount took effect", []call{
			{mount(MountAdd, 1), status(ok), true},
			{policy(PolicySet, Priority, 1), status(ok), true},
			{mount(MountRemove, 0), unknown, true},
			{policy(PolicyGet, Priority, 0), status(http.StatusNotFound), true},
		}},
		{"job submit, resubmit, stop, resume", []call{
			{jobIn(JobGet), status(http.StatusNotFound), true},
			{jobIn(JobStop), status(http.StatusGone), true},
			{jobIn(JobSubmit), jobOut(ok, "J1", JobWaiting, false), true},
			{jobIn(JobGet), jobOut(ok, "J2", JobWaiting, false), false},
			{jobIn(JobGet), jobOut(ok, "J1", JobStopped, false), false},
			{jobIn(JobGet), jobOut(ok, "J1", JobWaiting, false), true},
			{jobIn(JobSubmit), jobOut(ok, "J2", JobWaiting, false), false},
			{jobIn(JobSubmit), jobOut(http.StatusConflict, "J1", "", true), false},
			{jobIn(JobSubmit), jobOut(http.StatusConflict, "J1", JobWaiting, false), true},
			{jobIn(JobStop), status(http.StatusGone), false},
			{jobIn(JobStop), jobOut(ok, "J1", JobStopped, false), true},
			{jobIn(JobStop), jobOut(ok, "J1", JobStopped, false), false},
			{jobIn(JobStop), status(http.StatusGone), true},
			{jobIn(JobGet), jobOut(ok, "J1", JobStopped, false), true},
			{jobIn(JobSubmit), jobOut(http.StatusConflict, "J1", JobWaiting, false), false},
			{jobIn(JobSubmit), jobOut(http.StatusConflict, "J1", JobWaiting, true), true},
			{jobIn(JobGet), jobOut(ok, "J1", JobWaiting, false), true},
		}},
		{"an unanswered submit: the id is bound by the first answer naming it", []call{
			{jobIn(JobSubmit), unknown, true},
			{jobIn(JobGet), status(http.StatusNotFound), false},
			{jobIn(JobGet), jobOut(ok, "J9", JobWaiting, false), true},
			{jobIn(JobGet), jobOut(ok, "J8", JobWaiting, false), false},
			{jobIn(JobStop), jobOut(ok, "J9", JobStopped, false), true},
		}},
		{"an unanswered stop", []call{
			{jobIn(JobSubmit), jobOut(ok, "J1", JobWaiting, false), true},
			{jobIn(JobStop), unknown, true},
			{jobIn(JobGet), jobOut(ok, "J1", JobStopped, false), true},
		}},
		{"filter starts empty with immutable as default", []call{
			{rule(FilterGet, Rule{}), filterOut(Rule{Kind: "skipCache"}), false},
			{rule(FilterGet, Rule{}), filterOut(immutable, ruleA), false},
			{rule(FilterGet, Rule{}), filterOut(immutable), true},
		}},
		{"filter rules keep the order added; an update keeps its place", []call{
			{rule(FilterAdd, ruleA), status(ok), true},
			{rule(FilterAdd, ruleB), status(ok), true},
			{rule(FilterGet, Rule{}), filterOut(immutable, ruleB, ruleA), false},
			{rule(FilterGet, Rule{}), filterOut(immutable, ruleA, ruleB), true},
			{rule(FilterAdd, ruleA2), status(ok), true},
			{rule(FilterGet, Rule{}), filterOut(immutable, ruleB, ruleA2), false},
			{rule(FilterGet, Rule{}), filterOut(immutable, ruleA, ruleB), false},
			{rule(FilterGet, Rule{}), filterOut(immutable, ruleA2, ruleB), true},
		}},
		{"filter rule removal", []call{
			{rule(FilterRemove, ruleA), status(ok), false},
			{rule(FilterRemove, ruleA), status(http.StatusBadRequest), true},
			{rule(FilterAdd, ruleA), status(ok), true},
			{rule(FilterAdd, ruleB), status(ok), true},
			{rule(FilterRemove, ruleA), status(http.StatusBadRequest), false},
			{rule(FilterRemove, Rule{Kind: "maxAge", Pattern: "^/a/"}), status(ok), true},
			{rule(FilterGet, Rule{}), filterOut(immutable, ruleB), true},
			{rule(FilterRemove, ruleB), unknown, true},
			{rule(FilterGet, Rule{}), filterOut(immutable), true},
		}},
		{"filter default", []call{
			{rule(FilterDefault, Rule{Kind: "maxAge", Time: 30}), status(ok), true},
			{rule(FilterGet, Rule{}), filterOut(immutable), false},
			{rule(FilterGet, Rule{}), filterOut(Rule{Kind: "maxAge", Time: 30}), true},
			{rule(FilterDefault, Rule{Kind: "skipCache"}), status(http.StatusBadRequest), false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Model.Init()
			for i, c := range tt.calls {
				ok, next := Model.Step(s, c.in, c.out)
				if ok != c.ok {
					t.Fatalf("step %d: %s in state %q: accepted=%v, want %v",
						i, Model.DescribeOperation(c.in, c.out), Model.DescribeState(s), ok, c.ok)
				}
				if ok {
					s = next
				}
			}
		})
	}
}

// TestPartitionByKey checks that the partitions are the registers the model
// says are independent.
func TestPartitionByKey(t *testing.T) {
	var ops []porcupine.Operation
	for _, in := range []Input{mount(MountGet, 0), policy(PolicyGet, TTL, 0), jobIn(JobGet), rule(FilterGet, Rule{}), {Op: MountGet, Key: "/m1"}} {
		ops = append(ops, porcupine.Operation{Input: in, Output: status(http.StatusNotFound)})
	}
	parts := Model.Partition(ops)
	if len(parts) != 4 {
		t.Fatalf("%d partitions, want 4 (/m0 with its policies, /m1, the job, the filter)", len(parts))
	}
	for _, p := range parts {
		for _, op := range p[1:] {
			if op.Input.(Input).Key != p[0].Input.(Input).Key {
				t.Fatalf("keys %q and %q in one partition", op.Input.(Input).Key, p[0].Input.(Input).Key)
			}
		}
	}
}
