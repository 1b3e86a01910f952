package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// policyCommands are the commands whose success moves the policy version.
var policyCommands = map[CommandType]bool{
	CmdAddMount: true, CmdRemoveMount: true, CmdReplaceMounts: true,
	CmdSetQuota: true, CmdDeleteQuota: true, CmdSetQuotaBudgets: true,
	CmdSetTTL: true, CmdDeleteTTL: true,
	CmdSetPriority: true, CmdDeletePriority: true,
	CmdAddFilterRule: true, CmdRemoveFilterRule: true, CmdSetDefaultFilter: true,
	CmdRegisterWorker: true, CmdSetWorkerState: true, CmdRemoveWorker: true,
}

// step is one command of a table-driven Apply test: the error it must fail
// with (nil for success) and a check of the state it leaves.
type step struct {
	name  string
	cmd   Command
	want  error
	check func(t *testing.T, f *FSM, res any)
}

// lazy is a step's command built when the step runs, for commands that name
// what an earlier step created (a job id).
type lazy func() Command

func (l lazy) Type() CommandType { return l().Type() }

// run applies the steps in order to one FSM. Every failing step (but a
// resumed job submit) must leave the state (snapshot bytes, policy version and watch channel) untouched;
// every successful policy step must move the policy version to its index and
// close the watch channel, and no other step may.
func run(t *testing.T, a *applier, steps []step) {
	t.Helper()
	for _, s := range steps {
		before := stateBytes(t, a.f)
		v0, ch0 := a.f.PolicyWatch()
		cmd := s.cmd
		if l, ok := cmd.(lazy); ok {
			cmd = l()
		}
		res := a.apply(cmd)
		err, isErr := res.(error)
		v1, ch1 := a.f.PolicyWatch()
		switch {
		case s.want == nil && isErr:
			t.Fatalf("%s: unexpected error %v", s.name, err)
		case s.want != nil && !isErr:
			t.Fatalf("%s: = %v, want an error matching %v", s.name, res, s.want)
		case s.want != nil && !errors.Is(err, s.want):
			t.Fatalf("%s: error %v does not match %v", s.name, err, s.want)
		case s.want != nil:
			// A resumed job is the one error answer that changes state, on purpose.
			var je *JobExistsError
			if resumed := errors.As(err, &je) && je.Resumed; !resumed && !bytes.Equal(before, stateBytes(t, a.f)) {
				t.Fatalf("%s: the failed command changed the state", s.name)
			}
			if v1 != v0 || ch1 != ch0 || isClosed(ch0) {
				t.Fatalf("%s: the failed command moved the policy version (%d -> %d)", s.name, v0, v1)
			}
		case policyCommands[cmd.Type()]:
			if v1 != a.idx || !isClosed(ch0) || isClosed(ch1) {
				t.Fatalf("%s: policy version %d (closed %v), want %d and the old channel closed", s.name, v1, isClosed(ch0), a.idx)
			}
		default:
			if v1 != v0 || isClosed(ch0) {
				t.Fatalf("%s: a non-policy command moved the policy version (%d -> %d)", s.name, v0, v1)
			}
		}
		if got := a.f.AppliedIndex(); got != a.idx {
			t.Fatalf("%s: AppliedIndex = %d, want %d", s.name, got, a.idx)
		}
		if s.check != nil {
			s.check(t, a.f, res)
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %+v, want %+v", what, got, want)
	}
}

func TestApplyCoordinators(t *testing.T) {
	a := newApplier(t)
	c1 := Coordinator{ID: "c1", RaftAddress: "10.0.0.1:9000", HTTPAddress: "10.0.0.1:19999"}
	c2 := Coordinator{ID: "c2", RaftAddress: "10.0.0.2:9000", HTTPAddress: "10.0.0.2:19999"}
	run(t, a, []step{
		{"set c2", &SetCoordinator{Coordinator: c2}, nil, func(t *testing.T, f *FSM, res any) {
			eq(t, "result", res, any(nil))
		}},
		{"set c1", &SetCoordinator{Coordinator: c1}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "Coordinators", f.Coordinators(), []Coordinator{c1, c2})
		}},
		{"update c1", &SetCoordinator{Coordinator: Coordinator{ID: "c1", HTTPAddress: "h:1"}}, nil, func(t *testing.T, f *FSM, _ any) {
			got, ok := f.Coordinator("c1")
			eq(t, "Coordinator(c1)", got, Coordinator{ID: "c1", HTTPAddress: "h:1"})
			eq(t, "found", ok, true)
		}},
		{"no id", &SetCoordinator{Coordinator: Coordinator{HTTPAddress: "h:1"}}, ErrInvalid, nil},
		{"no http address", &SetCoordinator{Coordinator: Coordinator{ID: "c3", RaftAddress: "r:1"}}, ErrInvalid, nil},
		{"remove unknown", &RemoveCoordinator{ID: "c9"}, ErrNotFound, nil},
		{"remove c1", &RemoveCoordinator{ID: "c1"}, nil, func(t *testing.T, f *FSM, _ any) {
			_, ok := f.Coordinator("c1")
			eq(t, "c1 found", ok, false)
			eq(t, "Coordinators", f.Coordinators(), []Coordinator{c2})
		}},
		{"remove c1 again", &RemoveCoordinator{ID: "c1"}, ErrNotFound, nil},
	})
}

func TestApplyMounts(t *testing.T) {
	a := newApplier(t)
	opts := map[string]string{"s3.endpoint": "http://127.0.0.1:9000", "s3.accessKey": "k"}
	run(t, a, []step{
		{"add /data", &AddMount{Mount: Mount{Path: "/data", UFS: "S3://bucket/data/", Options: opts}}, nil, func(t *testing.T, f *FSM, _ any) {
			m, ok := f.Mount("/data")
			eq(t, "found", ok, true)
			eq(t, "Mount(/data)", m, Mount{Path: "/data", UFS: "s3://bucket/data", Options: opts})
		}},
		{"same path", &AddMount{Mount: Mount{Path: "/data", UFS: "s3://other/x"}}, ErrConflict, nil},
		{"nested inside", &AddMount{Mount: Mount{Path: "/data/sub", UFS: "s3://other/y"}}, ErrConflict, nil},
		{"nested above", &AddMount{Mount: Mount{Path: "/", UFS: "s3://other/"}}, ErrConflict, nil},
		{"ufs inside a mounted ufs", &AddMount{Mount: Mount{Path: "/x", UFS: "s3://bucket/data/deeper"}}, ErrConflict, nil},
		{"ufs above a mounted ufs", &AddMount{Mount: Mount{Path: "/y", UFS: "s3://bucket"}}, ErrConflict, nil},
		{"same ufs", &AddMount{Mount: Mount{Path: "/z", UFS: "s3://bucket/data"}}, ErrConflict, nil},
		{"relative path", &AddMount{Mount: Mount{Path: "data2", UFS: "s3://b2/"}}, ErrInvalid, nil},
		{"unclean path", &AddMount{Mount: Mount{Path: "/data2/", UFS: "s3://b2/"}}, ErrInvalid, nil},
		{"empty path", &AddMount{Mount: Mount{UFS: "s3://b2/"}}, ErrInvalid, nil},
		{"bad scheme", &AddMount{Mount: Mount{Path: "/h", UFS: "hdfs://nn/x"}}, ErrInvalid, nil},
		{"empty ufs", &AddMount{Mount: Mount{Path: "/h"}}, ErrInvalid, nil},
		{"ufs with credentials", &AddMount{Mount: Mount{Path: "/h", UFS: "s3://k:s@b2/x"}}, ErrInvalid, nil},
		{"sibling sharing a prefix", &AddMount{Mount: Mount{Path: "/database", UFS: "s3://bucket/database"}}, nil, nil},
		{"file ufs", &AddMount{Mount: Mount{Path: "/local", UFS: "file:///srv/data/"}}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "Mounts", f.Mounts(), []Mount{
				{Path: "/data", UFS: "s3://bucket/data", Options: opts},
				{Path: "/database", UFS: "s3://bucket/database"},
				{Path: "/local", UFS: "file:///srv/data"},
			})
			if _, ok := f.Mount("/data/sub"); ok {
				t.Fatalf("Mount answers a path below a mount point")
			}
		}},
		{"remove unknown", &RemoveMount{Path: "/nope"}, ErrGone, nil},
		{"remove below a mount point", &RemoveMount{Path: "/data/sub"}, ErrGone, nil},
		{"remove /database", &RemoveMount{Path: "/database"}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "len(Mounts)", len(f.Mounts()), 2)
			if _, ok := f.Mount("/database"); ok {
				t.Fatalf("/database is still mounted")
			}
		}},
	})

	t.Run("Resolve", func(t *testing.T) {
		tests := []struct {
			in, path, ufs, mount string
			err                  error
		}{
			{in: "/data", path: "/data", ufs: "s3://bucket/data", mount: "/data"},
			{in: "/data/a/b.parquet", path: "/data/a/b.parquet", ufs: "s3://bucket/data/a/b.parquet", mount: "/data"},
			{in: "/local/x", path: "/local/x", ufs: "file:///srv/data/x", mount: "/local"},
			{in: "s3://bucket/data/a/b.parquet", path: "/data/a/b.parquet", ufs: "s3://bucket/data/a/b.parquet", mount: "/data"},
			{in: "s3://bucket/data/", path: "/data", ufs: "s3://bucket/data", mount: "/data"},
			{in: "file:///srv/data/y/z", path: "/local/y/z", ufs: "file:///srv/data/y/z", mount: "/local"},
			{in: "/database/x", err: ErrInvalid},
			{in: "/nowhere", err: ErrInvalid},
			{in: "/data/../local", err: ErrInvalid},
			{in: "s3://bucket/database/x", err: ErrInvalid},
			{in: "s3://bucket", err: ErrInvalid},
			{in: "hdfs://x/y", err: ErrInvalid},
			{in: "", err: ErrInvalid},
		}
		for _, tt := range tests {
			r, err := a.f.Resolve(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Errorf("Resolve(%q) = %+v, %v; want %v", tt.in, r, err, tt.err)
				}
				continue
			}
			if err != nil || r.Path != tt.path || r.UFS != tt.ufs || r.Mount.Path != tt.mount {
				t.Errorf("Resolve(%q) = %+v, %v; want path %q ufs %q mount %q", tt.in, r, err, tt.path, tt.ufs, tt.mount)
			}
		}
	})
}

// TestApplyMountRemovalDropsPolicies: removing or replacing mount points
// drops the quotas, TTLs and priorities that no longer lie under a mount,
// and keeps the others (including those under a sibling sharing a prefix).
func TestApplyMountRemovalDropsPolicies(t *testing.T) {
	a := newApplier(t)
	for _, c := range []Command{
		&AddMount{Mount: Mount{Path: "/a", UFS: "s3://b/a"}},
		&AddMount{Mount: Mount{Path: "/ab", UFS: "s3://b/ab"}},
		&SetQuota{Path: "/a", Bytes: 1},
		&SetQuota{Path: "/a/x", Bytes: 2},
		&SetQuota{Path: "/ab", Bytes: 3},
		&SetTTL{Path: "/a/y", TTL: time.Hour},
		&SetTTL{Path: "/ab/y", TTL: time.Minute},
		&SetPriority{Path: "/a/z", Priority: PriorityHigh},
		&SetPriority{Path: "/ab", Priority: PriorityLow},
	} {
		a.ok(c)
	}
	run(t, a, []step{
		{"remove /a", &RemoveMount{Path: "/a"}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "Quotas", f.Quotas(), []Quota{{Path: "/ab", QuotaBytes: 3}})
			eq(t, "TTLs", f.TTLs(), []TTL{{Path: "/ab/y", TTL: time.Minute}})
			eq(t, "Priorities", f.Priorities(), []PathPriority{{Path: "/ab", Priority: PriorityLow}})
			if _, ok := f.Quota("/a/x"); ok {
				t.Fatalf("quota /a/x survived the removal of /a")
			}
		}},
		{"policy under the removed mount", &SetQuota{Path: "/a/x", Bytes: 1}, ErrInvalid, nil},
		{"replace: nested", &ReplaceMounts{Mounts: []Mount{{Path: "/c", UFS: "s3://c/"}, {Path: "/c/d", UFS: "s3://d/"}}}, ErrConflict, nil},
		{"replace: same ufs twice", &ReplaceMounts{Mounts: []Mount{{Path: "/c", UFS: "s3://c/"}, {Path: "/d", UFS: "s3://c/x"}}}, ErrConflict, nil},
		{"replace: duplicate path", &ReplaceMounts{Mounts: []Mount{{Path: "/c", UFS: "s3://c/"}, {Path: "/c", UFS: "s3://d/"}}}, ErrConflict, nil},
		{"replace: invalid", &ReplaceMounts{Mounts: []Mount{{Path: "/c", UFS: "s3://c/"}, {Path: "d", UFS: "s3://d/"}}}, ErrInvalid, nil},
		{"replace keeping /ab", &ReplaceMounts{Mounts: []Mount{{Path: "/c", UFS: "s3://c/"}, {Path: "/ab", UFS: "s3://other/ab"}}}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "Mounts", f.Mounts(), []Mount{{Path: "/ab", UFS: "s3://other/ab"}, {Path: "/c", UFS: "s3://c/"}})
			eq(t, "Quotas", f.Quotas(), []Quota{{Path: "/ab", QuotaBytes: 3}})
			eq(t, "len(TTLs)", len(f.TTLs()), 1)
			eq(t, "len(Priorities)", len(f.Priorities()), 1)
		}},
		{"replace dropping /ab", &ReplaceMounts{Mounts: []Mount{{Path: "/c", UFS: "s3://c/"}}}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "len(Quotas)", len(f.Quotas()), 0)
			eq(t, "len(TTLs)", len(f.TTLs()), 0)
			eq(t, "len(Priorities)", len(f.Priorities()), 0)
		}},
		{"replace with nothing", &ReplaceMounts{}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "len(Mounts)", len(f.Mounts()), 0)
		}},
	})
}

func TestApplyQuotas(t *testing.T) {
	a := newApplier(t)
	a.ok(&AddMount{Mount: Mount{Path: "/s3", UFS: "s3://bucket/"}})
	run(t, a, []step{
		{"outside every mount", &SetQuota{Path: "/other/x", Bytes: 10}, ErrInvalid, nil},
		{"invalid path", &SetQuota{Path: "/s3/x/", Bytes: 10}, ErrInvalid, nil},
		{"zero bytes", &SetQuota{Path: "/s3/x", Bytes: 0}, ErrInvalid, nil},
		{"negative bytes", &SetQuota{Path: "/s3/x", Bytes: -1}, ErrInvalid, nil},
		{"set /s3/x", &SetQuota{Path: "/s3/x", Bytes: 100}, nil, func(t *testing.T, f *FSM, res any) {
			eq(t, "result", res, any(nil))
			q, ok := f.Quota("/s3/x")
			eq(t, "found", ok, true)
			eq(t, "Quota", q, Quota{Path: "/s3/x", QuotaBytes: 100})
		}},
		{"set on the mount point", &SetQuota{Path: "/s3", Bytes: 1000}, nil, nil},
		{"budgets of unknown quota", &SetQuotaBudgets{Path: "/s3/y", Budgets: map[string]int64{"worker-1": 1}}, ErrNotFound, nil},
		{"negative budget", &SetQuotaBudgets{Path: "/s3/x", Budgets: map[string]int64{"worker-1": 1, "worker-2": -1}}, ErrInvalid, nil},
		{"budgets", &SetQuotaBudgets{Path: "/s3/x", Budgets: map[string]int64{"worker-1": 60, "worker-2": 40}}, nil, func(t *testing.T, f *FSM, _ any) {
			q, _ := f.Quota("/s3/x")
			eq(t, "Budgets", q.Budgets, map[string]int64{"worker-1": 60, "worker-2": 40})
		}},
		{"update keeps budgets", &SetQuota{Path: "/s3/x", Bytes: 200}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "Quotas", f.Quotas(), []Quota{
				{Path: "/s3", QuotaBytes: 1000},
				{Path: "/s3/x", QuotaBytes: 200, Budgets: map[string]int64{"worker-1": 60, "worker-2": 40}},
			})
		}},
		{"budgets replaced", &SetQuotaBudgets{Path: "/s3/x", Budgets: map[string]int64{"worker-3": 0}}, nil, func(t *testing.T, f *FSM, _ any) {
			q, _ := f.Quota("/s3/x")
			eq(t, "Budgets", q.Budgets, map[string]int64{"worker-3": 0})
		}},
		{"delete unknown", &DeleteQuota{Path: "/s3/nope"}, ErrNotFound, nil},
		{"delete", &DeleteQuota{Path: "/s3/x"}, nil, func(t *testing.T, f *FSM, _ any) {
			if _, ok := f.Quota("/s3/x"); ok {
				t.Fatalf("quota still there")
			}
			eq(t, "Quotas", f.Quotas(), []Quota{{Path: "/s3", QuotaBytes: 1000}})
		}},
		{"delete again", &DeleteQuota{Path: "/s3/x"}, ErrNotFound, nil},
	})
}

// TestApplyQuotaBudgetsErrorIsDeterministic: the package promises that map
// order never reaches a result, so the error for budgets with several
// negative entries must name the same worker every time.
func TestApplyQuotaBudgetsErrorIsDeterministic(t *testing.T) {
	budgets := map[string]int64{}
	for i := range 16 {
		budgets[fmt.Sprintf("worker-%02d", i)] = -1
	}
	a := newApplier(t)
	a.ok(&AddMount{Mount: Mount{Path: "/s3", UFS: "s3://bucket/"}})
	a.ok(&SetQuota{Path: "/s3", Bytes: 10})
	msgs := map[string]bool{}
	for range 20 {
		msgs[a.fail(&SetQuotaBudgets{Path: "/s3", Budgets: budgets}, ErrInvalid).Error()] = true
	}
	if len(msgs) > 1 {
		t.Skipf("BUG: quotas.go applySetQuotaBudgets ranges over the Budgets map and names the first negative "+
			"entry it meets, so the same command answers %d different error messages", len(msgs))
	}
}

func TestApplyTTLs(t *testing.T) {
	a := newApplier(t)
	a.ok(&AddMount{Mount: Mount{Path: "/s3", UFS: "s3://bucket/"}})
	run(t, a, []step{
		{"outside every mount", &SetTTL{Path: "/x", TTL: time.Hour}, ErrInvalid, nil},
		{"invalid path", &SetTTL{Path: "s3/x", TTL: time.Hour}, ErrInvalid, nil},
		{"zero ttl", &SetTTL{Path: "/s3/x", TTL: 0}, ErrInvalid, nil},
		{"negative ttl", &SetTTL{Path: "/s3/x", TTL: -time.Second}, ErrInvalid, nil},
		{"set", &SetTTL{Path: "/s3/x", TTL: time.Hour}, nil, func(t *testing.T, f *FSM, _ any) {
			v, ok := f.TTL("/s3/x")
			eq(t, "found", ok, true)
			eq(t, "TTL", v, TTL{Path: "/s3/x", TTL: time.Hour})
		}},
		{"set another", &SetTTL{Path: "/s3/a", TTL: time.Minute}, nil, nil},
		{"update", &SetTTL{Path: "/s3/x", TTL: 2 * time.Hour}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "TTLs", f.TTLs(), []TTL{{Path: "/s3/a", TTL: time.Minute}, {Path: "/s3/x", TTL: 2 * time.Hour}})
		}},
		{"delete unknown", &DeleteTTL{Path: "/s3/nope"}, ErrNotFound, nil},
		{"delete", &DeleteTTL{Path: "/s3/x"}, nil, func(t *testing.T, f *FSM, _ any) {
			if _, ok := f.TTL("/s3/x"); ok {
				t.Fatalf("ttl still there")
			}
			eq(t, "TTLs", f.TTLs(), []TTL{{Path: "/s3/a", TTL: time.Minute}})
		}},
	})
}

func TestApplyPriorities(t *testing.T) {
	a := newApplier(t)
	a.ok(&AddMount{Mount: Mount{Path: "/s3", UFS: "s3://bucket/"}})
	run(t, a, []step{
		{"outside every mount", &SetPriority{Path: "/x", Priority: PriorityHigh}, ErrInvalid, nil},
		{"invalid path", &SetPriority{Path: "/s3//x", Priority: PriorityHigh}, ErrInvalid, nil},
		{"unset priority", &SetPriority{Path: "/s3/x"}, ErrInvalid, nil},
		{"too high", &SetPriority{Path: "/s3/x", Priority: PriorityHigh + 1}, ErrInvalid, nil},
		{"set", &SetPriority{Path: "/s3/x", Priority: PriorityLow}, nil, func(t *testing.T, f *FSM, _ any) {
			v, ok := f.Priority("/s3/x")
			eq(t, "found", ok, true)
			eq(t, "Priority", v, PathPriority{Path: "/s3/x", Priority: PriorityLow})
		}},
		{"update", &SetPriority{Path: "/s3/x", Priority: PriorityHigh}, nil, nil},
		{"set another", &SetPriority{Path: "/s3", Priority: PriorityMedium}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "Priorities", f.Priorities(), []PathPriority{{Path: "/s3", Priority: PriorityMedium}, {Path: "/s3/x", Priority: PriorityHigh}})
		}},
		{"delete unknown", &DeletePriority{Path: "/s3/nope"}, ErrNotFound, nil},
		{"delete", &DeletePriority{Path: "/s3/x"}, nil, func(t *testing.T, f *FSM, _ any) {
			if _, ok := f.Priority("/s3/x"); ok {
				t.Fatalf("priority still there")
			}
		}},
	})
}

func TestPriorityNames(t *testing.T) {
	for _, p := range []Priority{PriorityLow, PriorityMedium, PriorityHigh} {
		for _, s := range []string{p.String(), strings.ToLower(p.String())} {
			got, err := ParsePriority(s)
			if err != nil || got != p {
				t.Errorf("ParsePriority(%q) = %v, %v; want %v", s, got, err, p)
			}
		}
		b, err := p.MarshalJSON()
		if err != nil || string(b) != `"`+p.String()+`"` {
			t.Errorf("MarshalJSON(%v) = %s, %v", p, b, err)
		}
		var back Priority
		if err := back.UnmarshalJSON(b); err != nil || back != p {
			t.Errorf("UnmarshalJSON(%s) = %v, %v", b, back, err)
		}
	}
	if _, err := ParsePriority("urgent"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParsePriority(urgent) error = %v, want ErrInvalid", err)
	}
	var p Priority
	if err := p.UnmarshalJSON([]byte("3")); !errors.Is(err, ErrInvalid) {
		t.Errorf("UnmarshalJSON(3) error = %v, want ErrInvalid", err)
	}
	if s := Priority(9).String(); s != "Priority(9)" {
		t.Errorf("Priority(9).String() = %q", s)
	}
}

func TestApplyFilterRules(t *testing.T) {
	a := newApplier(t)
	if got := a.f.Filter(); !reflect.DeepEqual(got, FilterPolicy{Default: FilterRule{Rule: RuleImmutable}}) {
		t.Fatalf("initial Filter = %+v, want an immutable default and no rules", got)
	}
	parquet := FilterRule{Rule: RuleMaxAge, Pattern: `\.parquet$`, Time: time.Minute}
	tmp := FilterRule{Rule: RuleSkipCache, Pattern: `^/s3/tmp/`}
	run(t, a, []step{
		{"no pattern", &AddFilterRule{Rule: FilterRule{Rule: RuleSkipCache}}, ErrInvalid, nil},
		{"bad regex", &AddFilterRule{Rule: FilterRule{Rule: RuleSkipCache, Pattern: "(unclosed"}}, ErrInvalid, nil},
		{"maxAge without time", &AddFilterRule{Rule: FilterRule{Rule: RuleMaxAge, Pattern: "x"}}, ErrInvalid, nil},
		{"maxAge negative time", &AddFilterRule{Rule: FilterRule{Rule: RuleMaxAge, Pattern: "x", Time: -1}}, ErrInvalid, nil},
		{"immutable with time", &AddFilterRule{Rule: FilterRule{Rule: RuleImmutable, Pattern: "x", Time: time.Second}}, ErrInvalid, nil},
		{"unknown kind", &AddFilterRule{Rule: FilterRule{Rule: "sometimes", Pattern: "x"}}, ErrInvalid, nil},
		{"empty kind", &AddFilterRule{Rule: FilterRule{Pattern: "x"}}, ErrInvalid, nil},
		{"add maxAge", &AddFilterRule{Rule: parquet}, nil, nil},
		{"add skipCache", &AddFilterRule{Rule: tmp}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "Rules", f.Filter().Rules, []FilterRule{parquet, tmp})
		}},
		{"update keeps the place", &AddFilterRule{Rule: FilterRule{Rule: RuleMaxAge, Pattern: `\.parquet$`, Time: time.Hour}}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "Rules", f.Filter().Rules, []FilterRule{{Rule: RuleMaxAge, Pattern: `\.parquet$`, Time: time.Hour}, tmp})
		}},
		{"same pattern, other kind", &AddFilterRule{Rule: FilterRule{Rule: RuleImmutable, Pattern: `\.parquet$`}}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "len(Rules)", len(f.Filter().Rules), 3)
		}},
		{"remove unknown", &RemoveFilterRule{Rule: RuleSkipCache, Pattern: "nope"}, ErrNotFound, nil},
		{"remove with the wrong kind", &RemoveFilterRule{Rule: RuleSkipCache, Pattern: `\.parquet$`}, ErrNotFound, nil},
		{"remove the default rule", &RemoveFilterRule{Rule: RuleImmutable}, ErrInvalid, nil},
		{"remove an empty pattern of another kind", &RemoveFilterRule{Rule: RuleSkipCache}, ErrNotFound, nil},
		{"remove", &RemoveFilterRule{Rule: RuleImmutable, Pattern: `\.parquet$`}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "Rules", f.Filter().Rules, []FilterRule{{Rule: RuleMaxAge, Pattern: `\.parquet$`, Time: time.Hour}, tmp})
		}},
		{"default with a pattern", &SetDefaultFilter{Rule: FilterRule{Rule: RuleSkipCache, Pattern: "x"}}, ErrInvalid, nil},
		{"default maxAge without time", &SetDefaultFilter{Rule: FilterRule{Rule: RuleMaxAge}}, ErrInvalid, nil},
		{"default skipCache with time", &SetDefaultFilter{Rule: FilterRule{Rule: RuleSkipCache, Time: time.Second}}, ErrInvalid, nil},
		{"default unknown kind", &SetDefaultFilter{Rule: FilterRule{Rule: "never"}}, ErrInvalid, nil},
		{"default maxAge", &SetDefaultFilter{Rule: FilterRule{Rule: RuleMaxAge, Time: 10 * time.Minute}}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "Default", f.Filter().Default, FilterRule{Rule: RuleMaxAge, Time: 10 * time.Minute})
		}},
		{"remove the new default rule", &RemoveFilterRule{Rule: RuleMaxAge}, ErrInvalid, nil},
		{"the old default is no rule", &RemoveFilterRule{Rule: RuleImmutable}, ErrNotFound, nil},
		{"remove all", &RemoveFilterRule{Rule: RuleMaxAge, Pattern: `\.parquet$`}, nil, nil},
		{"remove all 2", &RemoveFilterRule{Rule: RuleSkipCache, Pattern: `^/s3/tmp/`}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "len(Rules)", len(f.Filter().Rules), 0)
		}},
	})

	for _, s := range []string{"IMMUTABLE", "skipcache", "maxAge"} {
		if _, err := ParseRuleKind(s); err != nil {
			t.Errorf("ParseRuleKind(%q): %v", s, err)
		}
	}
	if _, err := ParseRuleKind("cache"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseRuleKind(cache) error = %v, want ErrInvalid", err)
	}
}

func TestApplyFilterRuleLimit(t *testing.T) {
	a := newApplier(t)
	for i := range MaxFilterRules {
		a.ok(&AddFilterRule{Rule: FilterRule{Rule: RuleSkipCache, Pattern: fmt.Sprintf("^/r%d$", i)}})
	}
	a.fail(&AddFilterRule{Rule: FilterRule{Rule: RuleSkipCache, Pattern: "^/one-too-many$"}}, ErrInvalid)
	// Updating a rule at the limit adds none and is allowed.
	a.ok(&AddFilterRule{Rule: FilterRule{Rule: RuleSkipCache, Pattern: "^/r0$"}})
	if n := len(a.f.Filter().Rules); n != MaxFilterRules {
		t.Fatalf("%d rules, want %d", n, MaxFilterRules)
	}
}

func TestApplyWorkers(t *testing.T) {
	a := newApplier(t)
	paris := time.FixedZone("CET", 3600)
	w1 := Worker{ID: "worker-1", Address: "10.0.0.1:29999", CapacityBytes: 1 << 30,
		StartTime: t0.Add(-time.Hour).In(paris), Version: "v1", State: WorkerLost}
	want := Worker{ID: "worker-1", Address: "10.0.0.1:29999", CapacityBytes: 1 << 30,
		StartTime: t0.Add(-time.Hour), Version: "v1", State: WorkerLive, StateSince: t0}
	worker := func(t *testing.T, f *FSM, id string) Worker {
		t.Helper()
		w, ok := f.Worker(id)
		if !ok {
			t.Fatalf("worker %s is not known", id)
		}
		if w.StartTime.Location() != time.UTC || w.StateSince.Location() != time.UTC {
			t.Fatalf("worker times are not in UTC: %v, %v", w.StartTime, w.StateSince)
		}
		return w
	}
	run(t, a, []step{
		{"id without prefix", &RegisterWorker{Worker: Worker{ID: "w1", Address: "a:1"}, Now: t0}, ErrInvalid, nil},
		{"id is only the prefix", &RegisterWorker{Worker: Worker{ID: "worker-", Address: "a:1"}, Now: t0}, ErrInvalid, nil},
		{"no address", &RegisterWorker{Worker: Worker{ID: "worker-1"}, Now: t0}, ErrInvalid, nil},
		{"negative capacity", &RegisterWorker{Worker: Worker{ID: "worker-1", Address: "a:1", CapacityBytes: -1}, Now: t0}, ErrInvalid, nil},
		{"register", &RegisterWorker{Worker: w1, Now: t0.In(paris)}, nil, func(t *testing.T, f *FSM, res any) {
			eq(t, "result", res, any(nil))
			eq(t, "Worker", worker(t, f, "worker-1"), want)
		}},
		{"register again while live keeps StateSince", &RegisterWorker{Worker: Worker{ID: "worker-1", Address: "10.0.0.9:1", StartTime: t0}, Now: at(time.Minute)}, nil, func(t *testing.T, f *FSM, _ any) {
			w := worker(t, f, "worker-1")
			eq(t, "Address", w.Address, "10.0.0.9:1")
			eq(t, "StartTime", w.StartTime, t0)
			eq(t, "StateSince", w.StateSince, t0)
			eq(t, "Version", w.Version, "")
		}},
		{"register worker-0", &RegisterWorker{Worker: Worker{ID: "worker-0", Address: "a:0"}, Now: t0}, nil, func(t *testing.T, f *FSM, _ any) {
			ws := f.Workers()
			eq(t, "len(Workers)", len(ws), 2)
			eq(t, "Workers order", []string{ws[0].ID, ws[1].ID}, []string{"worker-0", "worker-1"})
		}},
		{"state of unknown worker", &SetWorkerState{ID: "worker-9", State: WorkerLost, Now: t0}, ErrNotFound, nil},
		{"unknown state", &SetWorkerState{ID: "worker-1", State: "ASLEEP", Now: t0}, ErrInvalid, nil},
		{"empty state", &SetWorkerState{ID: "worker-1", Now: t0}, ErrInvalid, nil},
		{"lost", &SetWorkerState{ID: "worker-1", State: WorkerLost, Now: at(2 * time.Minute)}, nil, func(t *testing.T, f *FSM, _ any) {
			w := worker(t, f, "worker-1")
			eq(t, "State", w.State, WorkerLost)
			eq(t, "StateSince", w.StateSince, at(2*time.Minute))
		}},
		{"lost again keeps StateSince", &SetWorkerState{ID: "worker-1", State: WorkerLost, Now: at(3 * time.Minute)}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "StateSince", worker(t, f, "worker-1").StateSince, at(2*time.Minute))
		}},
		{"register brings it back", &RegisterWorker{Worker: Worker{ID: "worker-1", Address: "a:1"}, Now: at(4 * time.Minute)}, nil, func(t *testing.T, f *FSM, _ any) {
			w := worker(t, f, "worker-1")
			eq(t, "State", w.State, WorkerLive)
			eq(t, "StateSince", w.StateSince, at(4*time.Minute))
		}},
		{"worker-0 lost", &SetWorkerState{ID: "worker-0", State: WorkerLost, Now: at(4 * time.Minute)}, nil, nil},
		{"live again", &SetWorkerState{ID: "worker-0", State: WorkerLive, Now: at(5 * time.Minute)}, nil, func(t *testing.T, f *FSM, _ any) {
			w := worker(t, f, "worker-0")
			eq(t, "State", w.State, WorkerLive)
			eq(t, "StateSince", w.StateSince, at(5*time.Minute))
		}},
		{"decommission", &SetWorkerState{ID: "worker-1", State: WorkerDecommissioned, Now: at(6 * time.Minute)}, nil, func(t *testing.T, f *FSM, _ any) {
			eq(t, "State", worker(t, f, "worker-1").State, WorkerDecommissioned)
			eq(t, "len(Workers)", len(f.Workers()), 2)
		}},
		{"decommissioned cannot register", &RegisterWorker{Worker: Worker{ID: "worker-1", Address: "a:1"}, Now: at(7 * time.Minute)}, ErrGone, nil},
		{"decommissioned cannot come back", &SetWorkerState{ID: "worker-1", State: WorkerLive, Now: at(7 * time.Minute)}, ErrGone, nil},
		{"decommissioned twice", &SetWorkerState{ID: "worker-1", State: WorkerDecommissioned, Now: at(7 * time.Minute)}, ErrGone, nil},
	})
}

// TestPolicyWatch: the version is the index of the last successful policy
// command; its channel closes then, and only then.
func TestPolicyWatch(t *testing.T) {
	a := newApplier(t)
	v, ch := a.f.PolicyWatch()
	if v != 0 || isClosed(ch) {
		t.Fatalf("fresh FSM: version %d, closed %v", v, isClosed(ch))
	}
	a.ok(&SetCoordinator{Coordinator: Coordinator{ID: "c", HTTPAddress: "h:1"}}) // index 1
	a.ok(&FileIndexAdd{Entries: []FileEntry{{Path: "/f"}}})                      // 2
	if v2, ch2 := a.f.PolicyWatch(); v2 != 0 || ch2 != ch || isClosed(ch) {
		t.Fatalf("non-policy commands moved the version to %d", v2)
	}
	a.ok(&AddMount{Mount: Mount{Path: "/m", UFS: "s3://b/"}}) // 3
	v, ch3 := a.f.PolicyWatch()
	if v != 3 || !isClosed(ch) || isClosed(ch3) {
		t.Fatalf("after AddMount at 3: version %d, old closed %v, new closed %v", v, isClosed(ch), isClosed(ch3))
	}
	a.fail(&SetQuota{Path: "/elsewhere", Bytes: 1}, ErrInvalid) // 4
	if v4, ch4 := a.f.PolicyWatch(); v4 != 3 || ch4 != ch3 || isClosed(ch3) {
		t.Fatalf("a failed policy command moved the version to %d", v4)
	}
	a.ok(&RegisterWorker{Worker: Worker{ID: "worker-a", Address: "a:1"}, Now: t0}) // 5
	if v5, _ := a.f.PolicyWatch(); v5 != 5 || !isClosed(ch3) {
		t.Fatalf("worker membership: version %d, want 5", v5)
	}
	if a.f.AppliedIndex() != 5 {
		t.Fatalf("AppliedIndex = %d, want 5", a.f.AppliedIndex())
	}
}

// TestQueriesReturnCopies changes everything the queries answer and checks
// that the state did not follow.
func TestQueriesReturnCopies(t *testing.T) {
	a := newApplier(t)
	a.ok(&AddMount{Mount: Mount{Path: "/s3", UFS: "s3://b/", Options: map[string]string{"k": "v"}}})
	a.ok(&SetQuota{Path: "/s3", Bytes: 10})
	a.ok(&SetQuotaBudgets{Path: "/s3", Budgets: map[string]int64{"worker-1": 5}})
	a.ok(&SetTTL{Path: "/s3", TTL: time.Hour})
	a.ok(&SetPriority{Path: "/s3", Priority: PriorityHigh})
	a.ok(&AddFilterRule{Rule: FilterRule{Rule: RuleSkipCache, Pattern: "x"}})
	a.ok(&SetCoordinator{Coordinator: Coordinator{ID: "c", HTTPAddress: "h:1"}})
	a.ok(&RegisterWorker{Worker: Worker{ID: "worker-1", Address: "a:1"}, Now: t0})
	submitted := a.job(&SubmitJob{Job: Job{Type: JobLoad, Paths: []string{"/s3/a", "/s3/b"}, Alias: "x"}, Now: t0})
	a.job(&UpdateJob{ID: submitted.ID, Failed: []FailedFile{{Path: "/s3/a", Reason: "r"}}, Now: t0})
	a.ok(&FileIndexAdd{Entries: []FileEntry{{Path: "/s3/a", Size: 1}}, Worker: "worker-1"})
	before := stateBytes(t, a.f)
	want := viewOf(a.f)

	submitted.Paths[0] = "changed"
	ms := a.f.Mounts()
	ms[0].Options["k"] = "changed"
	ms[0].Path = "changed"
	m, _ := a.f.Mount("/s3")
	m.Options["k"] = "changed"
	r, _ := a.f.Resolve("/s3/a")
	r.Mount.Options["k"] = "changed"
	qs := a.f.Quotas()
	qs[0].Budgets["worker-1"] = 99
	q, _ := a.f.Quota("/s3")
	q.Budgets["worker-2"] = 99
	a.f.TTLs()[0].TTL = 1
	a.f.Priorities()[0].Priority = PriorityLow
	fp := a.f.Filter()
	fp.Rules[0].Pattern = "changed"
	a.f.Coordinators()[0].ID = "changed"
	a.f.Workers()[0].Address = "changed"
	for _, j := range [][]Job{a.f.ActiveJobs(), func() []Job { js, _ := a.f.Jobs("", "", 0); return js }()} {
		j[0].Paths[1] = "changed"
		j[0].FailedFileSamples[0].Reason = "changed"
	}
	j, _ := a.f.Job(submitted.ID)
	j.Paths[0] = "changed"
	j.FailedFileSamples[0].Path = "changed"
	j, _ = a.f.JobByKey(KeyByAlias(JobLoad, "x"))
	j.Paths[0] = "changed"
	e, _ := a.f.FileIndexGet("/s3/a")
	e.Workers[0] = "changed"
	es, _ := a.f.FileIndexList("", "", 0)
	es[0].Workers[0] = "changed"

	if !bytes.Equal(before, stateBytes(t, a.f)) {
		t.Fatalf("changing query results changed the state")
	}
	if got := viewOf(a.f); !reflect.DeepEqual(got, want) {
		t.Fatalf("changing query results changed the answers:\nwant %+v\n got %+v", want, got)
	}
}

// TestApplyUnknownAndUndecodable: an unknown command with the
// IgnoreIfUnknown bit is skipped (and its index recorded); anything else that
// does not decode panics, by design.
func TestApplyUnknownAndUndecodable(t *testing.T) {
	f := New()
	if res := f.Apply(7, []byte{byte(IgnoreIfUnknown | 0x7f), 0x80}); res != nil {
		t.Fatalf("skippable unknown command answered %v", res)
	}
	if f.AppliedIndex() != 7 {
		t.Fatalf("AppliedIndex = %d after a skipped command, want 7", f.AppliedIndex())
	}
	for name, data := range map[string][]byte{
		"empty":            nil,
		"unknown type":     {0x7f, 0x80},
		"retired gap":      {byte(CmdAddMount) + 5, 0x80},
		"garbage payload":  {byte(CmdAddMount), 0xc1},
		"truncated":        {byte(CmdSetQuota), 0x82, 0xa4, 'P'},
		"wrong field type": append([]byte{byte(CmdSetQuota)}, 0x81, 0xa5, 'B', 'y', 't', 'e', 's', 0xa1, 'x'),
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Apply did not panic", name)
				}
			}()
			f.Apply(8, data)
		}()
	}
	if f.AppliedIndex() != 7 {
		t.Fatalf("AppliedIndex = %d after panics, want 7", f.AppliedIndex())
	}
}

// TestEveryCommandTypeHasAHandler applies the zero value of every known type:
// it may fail, but it must not panic.
func TestEveryCommandTypeHasAHandler(t *testing.T) {
	known := 0
	for i := range 256 {
		typ := CommandType(i)
		c := newCommand(typ)
		if c == nil {
			if n := typ.String(); n != fmt.Sprintf("CommandType(%d)", i) {
				t.Errorf("unknown type %d is named %q", i, n)
			}
			continue
		}
		known++
		if c.Type() != typ {
			t.Errorf("newCommand(%d).Type() = %d", i, c.Type())
		}
		if strings.HasPrefix(typ.String(), "CommandType(") {
			t.Errorf("type %d has no name", i)
		}
		if typ&IgnoreIfUnknown != 0 {
			t.Errorf("type %d has the IgnoreIfUnknown bit but is known", i)
		}
		data, err := Encode(c)
		if err != nil {
			t.Fatalf("Encode(%s): %v", typ, err)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("Apply(zero %s) panicked: %v", typ, r)
				}
			}()
			New().Apply(1, data)
		}()
	}
	if known != len(commandNames) || known != 27 {
		t.Fatalf("%d known command types, %d names; want 27", known, len(commandNames))
	}
}

// TestTimedCommands: every command that carries a time can be stamped, and
// the stamp is in UTC.
func TestTimedCommands(t *testing.T) {
	now := time.Date(2026, 5, 1, 14, 0, 0, 0, time.FixedZone("X", 2*3600))
	for _, c := range []Timed{&SubmitJob{}, &UpdateJob{}, &StopJob{}, &RegisterWorker{}, &SetWorkerState{}, &RemoveWorker{}} {
		c.SetNow(now)
		got := reflect.ValueOf(c).Elem().FieldByName("Now").Interface().(time.Time)
		if !got.Equal(now) || got.Location() != time.UTC {
			t.Errorf("%s.SetNow: Now = %v, want %v in UTC", c.Type(), got, now.UTC())
		}
	}
}
