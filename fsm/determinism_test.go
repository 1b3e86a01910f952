package fsm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// logGen writes a random but seeded log of mixed commands, valid and
// invalid. Commands that name a job pick its id from an oracle FSM that
// applies the log as it is written.
type logGen struct {
	r      *rand.Rand
	oracle *FSM
	idx    uint64
	now    time.Time
	log    [][]byte
}

func newLogGen(seed uint64) *logGen {
	return &logGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), oracle: New(), now: t0}
}

func (g *logGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

var (
	genMounts   = []string{"/m0", "/m1", "/m2", "/m3", "/m0/sub", "/", "bad", "/m1/"}
	genUFS      = []string{"s3://b/0", "s3://b/1", "s3://b/2", "s3://b", "s3://b/0/x", "file:///srv/0", "s3://c/", "hdfs://x/y"}
	genPolicy   = []string{"/m0", "/m0/a", "/m0/a/b", "/m1/x", "/m2", "/m3/y", "/nowhere", "rel", "/m0/"}
	genWorkers  = []string{"worker-1", "worker-2", "worker-3", "worker-4", "w5"}
	genPatterns = []string{`\.parquet$`, `^/m0/`, `(`, ``, `x+`, `^/tmp/`}
	genKinds    = []string{string(RuleImmutable), string(RuleSkipCache), string(RuleMaxAge), "bogus"}
	genStates   = []string{"", string(JobRunning), string(JobRunning), string(JobVerifying), string(JobSucceeded), string(JobFailed), string(JobWaiting), string(JobStopped)}
)

func (g *logGen) filePath() string {
	if g.r.IntN(50) == 0 {
		return "bad/path"
	}
	return fmt.Sprintf("/m%d/f%02d", g.r.IntN(3), g.r.IntN(40))
}

func (g *logGen) job() Job {
	var j Job
	switch g.r.IntN(5) {
	case 0, 1:
		j = Job{Type: JobLoad, Index: fmt.Sprintf("/m0/idx%d", g.r.IntN(3))}
	case 2:
		// One to three paths, repeated and in any order at times: one set
		// under several spellings, and several sets under one alias.
		j = Job{Type: JobType(g.pick("load", "free")), Paths: []string{g.filePath()}, Alias: fmt.Sprint("a", g.r.IntN(3))}
		for range g.r.IntN(3) {
			j.Paths = append(j.Paths, g.pick(j.Paths[0], g.filePath()))
		}
	case 3:
		j = Job{Type: JobRebalance, Target: g.pick("ALL", "worker-1")}
	default: // invalid shapes
		j = Job{Type: JobType(g.pick("load", "free", "rebalance", "copy")), Index: g.pick("", "/i"), Target: g.pick("", "ALL")}
	}
	j.Options = JobOptions{BatchSize: g.r.IntN(100), Verify: g.r.IntN(2) == 0}
	return j
}

// jobID picks the id of a job the oracle knows, or one it does not.
func (g *logGen) jobID() string {
	js, _ := g.oracle.Jobs("", "", 0)
	if len(js) == 0 || g.r.IntN(20) == 0 {
		return "01NOSUCHJOB"
	}
	if active := g.oracle.ActiveJobs(); len(active) > 0 && g.r.IntN(3) > 0 {
		return active[g.r.IntN(len(active))].ID
	}
	return js[g.r.IntN(len(js))].ID
}

func (g *logGen) command() Command {
	switch g.r.IntN(26) {
	case 0:
		return &SetCoordinator{Coordinator: Coordinator{ID: g.pick("c1", "c2", "c3", ""), RaftAddress: "r:1", HTTPAddress: g.pick("h:1", "h:2", "")}}
	case 1:
		return &RemoveCoordinator{ID: g.pick("c1", "c2", "c3")}
	case 2, 3:
		return &AddMount{Mount: Mount{Path: g.pick(genMounts...), UFS: g.pick(genUFS...), Options: map[string]string{"k": g.pick("1", "2"), "a": "b"}}}
	case 4:
		return &RemoveMount{Path: g.pick(genMounts...)}
	case 5:
		if g.r.IntN(3) > 0 {
			return &AddMount{Mount: Mount{Path: g.pick(genMounts...), UFS: g.pick(genUFS...)}}
		}
		var ms []Mount
		for range g.r.IntN(4) {
			ms = append(ms, Mount{Path: g.pick(genMounts...), UFS: g.pick(genUFS...)})
		}
		return &ReplaceMounts{Mounts: ms}
	case 6:
		return &SetQuota{Path: g.pick(genPolicy...), Bytes: int64(g.r.IntN(1000) - 50)}
	case 7:
		return &DeleteQuota{Path: g.pick(genPolicy...)}
	case 8:
		b := map[string]int64{}
		for range g.r.IntN(4) {
			b[g.pick(genWorkers...)] = int64(g.r.IntN(1000) - 20)
		}
		return &SetQuotaBudgets{Path: g.pick(genPolicy...), Budgets: budgetsOf(b)}
	case 9:
		return &SetTTL{Path: g.pick(genPolicy...), TTL: time.Duration(g.r.IntN(100)-5) * time.Second}
	case 10:
		return &DeleteTTL{Path: g.pick(genPolicy...)}
	case 11:
		return &SetPriority{Path: g.pick(genPolicy...), Priority: Priority(g.r.IntN(5))}
	case 12:
		return &DeletePriority{Path: g.pick(genPolicy...)}
	case 13:
		return &AddFilterRule{Rule: FilterRule{Rule: RuleKind(g.pick(genKinds...)), Pattern: g.pick(genPatterns...), Time: time.Duration(g.r.IntN(3)) * time.Minute}}
	case 14:
		return &RemoveFilterRule{Rule: RuleKind(g.pick(genKinds...)), Pattern: g.pick(genPatterns...)}
	case 15:
		return &SetDefaultFilter{Rule: FilterRule{Rule: RuleKind(g.pick(genKinds...)), Pattern: g.pick("", "", "x"), Time: time.Duration(g.r.IntN(2)) * time.Hour}}
	case 16:
		return &RegisterWorker{Worker: Worker{ID: g.pick(genWorkers...), Address: g.pick("a:1", "a:2", ""), CapacityBytes: int64(g.r.IntN(100) - 1),
			StartTime: g.now.Add(-time.Hour), Version: g.pick("v1", "v2")}, Now: g.now}
	case 17:
		s := g.pick(string(WorkerLive), string(WorkerLost), string(WorkerLost), string(WorkerDecommissioned), "ASLEEP")
		if s == string(WorkerDecommissioned) && g.r.IntN(4) > 0 {
			s = string(WorkerLost) // decommissioning is final: keep it rare
		}
		return &SetWorkerState{ID: g.pick(genWorkers...), State: WorkerState(s), Now: g.now}
	case 18, 19:
		return &SubmitJob{Job: g.job(), Now: g.now, Rules: SubmitRules(g.r.IntN(2))}
	case 20, 21, 22:
		u := &UpdateJob{ID: g.jobID(), State: JobState(g.pick(genStates...)), Delta: JobCounters{ScannedFiles: int64(g.r.IntN(10)), LoadedBytes: int64(g.r.IntN(1 << 20))}, Now: g.now}
		if g.r.IntN(2) == 0 {
			u.Cursor = strPtr(g.filePath())
		}
		if g.r.IntN(4) == 0 {
			u.Phase = strPtr(g.pick("load", "verify"))
			u.Failed = []FailedFile{{Path: g.filePath(), Reason: "r"}}
			u.QuotaCheckError = strPtr(g.pick("", "over"))
			u.ErrorMessage = g.pick("", "boom")
		}
		return u
	case 23:
		if g.r.IntN(2) == 0 {
			return &StopJob{ID: g.jobID(), Now: g.now}
		}
		j := g.job()
		return &StopJob{Key: j.Key(), Now: g.now}
	case 24:
		if g.r.IntN(5) == 0 {
			return &PruneJobs{Before: g.now.Add(-time.Duration(g.r.IntN(600)) * time.Second), Keep: g.r.IntN(8) - 1}
		}
		if g.r.IntN(4) == 0 { // a ceiling, often below the number of paths
			return &SetFileIndexLimit{Limit: g.r.IntN(60) - 10}
		}
		return &FileIndexRemove{Paths: []string{g.filePath(), g.filePath()}, Worker: g.pick("", "worker-1", "worker-2")}
	default:
		switch g.r.IntN(5) {
		case 3:
			return g.holdingReport()
		case 4:
			if g.r.IntN(4) == 0 {
				return &RemoveWorker{ID: g.pick(genWorkers...), Now: g.now}
			}
			return g.holdingReport()
		case 0:
			var es []FileEntry
			for range 1 + g.r.IntN(5) {
				es = append(es, FileEntry{Path: g.filePath(), Size: int64(g.r.IntN(1000) - 1)})
			}
			return &FileIndexAdd{Entries: es, Worker: g.pick("", "worker-1", "worker-2", "worker-3")}
		case 1:
			return &FileIndexHolders{Entries: []FileEntry{{Path: g.filePath(), Workers: []string{g.pick(genWorkers...), g.pick(genWorkers...)}}}}
		default:
			return &FileIndexAdd{Entries: []FileEntry{{Path: g.filePath(), Size: 1}}, Worker: g.pick(genWorkers...)}
		}
	}
}

// holdingReport is a worker's report: mostly a run that follows on, some
// with a reset, a gap or an invalid event.
func (g *logGen) holdingReport() Command {
	c := &FileIndexReport{Worker: g.pick(genWorkers...), Epoch: uint64(1 + g.r.IntN(3))}
	seq := uint64(1 + g.r.IntN(4))
	if g.r.IntN(3) == 0 {
		c.Events = append(c.Events, HoldingEvent{Seq: seq, Reset: true})
		seq++
	}
	for range g.r.IntN(5) {
		c.Events = append(c.Events, HoldingEvent{Seq: seq, Path: g.filePath(), Size: int64(g.r.IntN(100)), Held: g.r.IntN(3) > 0})
		seq++
	}
	if g.r.IntN(10) == 0 && len(c.Events) > 0 {
		c.Events[len(c.Events)-1].Seq += 2 // a gap inside a report is invalid
	}
	return c
}

// next appends one entry to the log and applies it to the oracle.
func (g *logGen) next() []byte {
	// The leader's clock mostly moves on, sometimes goes back.
	if g.r.IntN(10) == 0 {
		g.now = g.now.Add(-time.Duration(g.r.IntN(60)) * time.Second)
	} else {
		g.now = g.now.Add(time.Duration(g.r.IntN(5000)) * time.Millisecond)
	}
	var data []byte
	if g.r.IntN(100) == 0 { // a command of a newer build that may be skipped
		data = []byte{byte(IgnoreIfUnknown | CommandType(1+g.r.IntN(0x7f))), 0x81, 0xa1, 'x', 0x01}
	} else {
		var err error
		if data, err = Encode(g.command()); err != nil {
			panic(err)
		}
	}
	g.idx++
	g.oracle.Apply(g.idx, data)
	g.log = append(g.log, data)
	return data
}

func applyLog(f *FSM, from uint64, log [][]byte) []any {
	res := make([]any, len(log))
	for i, data := range log {
		res[i] = f.Apply(from+uint64(i), data)
	}
	return res
}

func TestDeterminism(t *testing.T) {
	const n = 3000
	g := newLogGen(20260301)
	for range n {
		g.next()
	}

	fsms := []*FSM{New(), New(), New()}
	results := make([][]any, len(fsms))
	for i, f := range fsms {
		results[i] = applyLog(f, 1, g.log)
	}
	for i := 1; i < len(fsms); i++ {
		for k := range g.log {
			if !reflect.DeepEqual(results[0][k], results[i][k]) {
				t.Fatalf("entry %d: replica 0 answered %v, replica %d %v", k+1, results[0][k], i, results[i][k])
			}
		}
	}

	// The log must have exercised both outcomes of nearly every command.
	ok, failed := map[CommandType]int{}, map[CommandType]int{}
	for k, data := range g.log {
		typ := CommandType(data[0])
		if _, isErr := results[0][k].(error); isErr {
			failed[typ]++
		} else {
			ok[typ]++
		}
	}
	for typ := range commandNames {
		if ok[typ] == 0 {
			t.Errorf("no %s succeeded in the random log", typ)
		}
		if failed[typ] == 0 && typ != CmdFileIndexRemove && typ != CmdFileIndexHolders && typ != CmdPruneJobs {
			t.Errorf("no %s failed in the random log", typ)
		}
	}
	if fsms[0].FileIndexLen() == 0 || len(fsms[0].Mounts()) == 0 || len(fsms[0].Workers()) == 0 {
		t.Errorf("the random log left an empty state: %d files, %d mounts, %d workers",
			fsms[0].FileIndexLen(), len(fsms[0].Mounts()), len(fsms[0].Workers()))
	}
	if js, _ := fsms[0].Jobs("", "", 0); len(js) == 0 {
		t.Errorf("the random log left no jobs")
	}

	snaps := make([][]byte, len(fsms))
	for i, f := range fsms {
		var buf bytes.Buffer
		if _, err := f.Snapshot().WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		snaps[i] = buf.Bytes()
	}
	for i := 1; i < len(snaps); i++ {
		if !bytes.Equal(snaps[0], snaps[i]) {
			t.Fatalf("replica %d wrote another snapshot (%d vs %d bytes)", i, len(snaps[i]), len(snaps[0]))
		}
	}
	if !bytes.Equal(snaps[0], snapshotBytes(t, g.oracle)) {
		t.Fatalf("the oracle wrote another snapshot")
	}

	fourth := New()
	if err := fourth.Restore(bytes.NewReader(snaps[0])); err != nil {
		t.Fatal(err)
	}
	if again := snapshotBytes(t, fourth); !bytes.Equal(again, snaps[0]) {
		t.Fatalf("the restored replica writes another snapshot (%d vs %d bytes)", len(again), len(snaps[0]))
	}
	requireSameView(t, fsms[0], fourth)

	// The restored replica goes on like the others.
	from := g.idx + 1
	for range 500 {
		g.next()
	}
	more := g.log[n:]
	r0, r4 := applyLog(fsms[0], from, more), applyLog(fourth, from, more)
	for k := range more {
		if !reflect.DeepEqual(normalizeResult(r0[k]), normalizeResult(r4[k])) {
			t.Fatalf("entry %d after restore: replica 0 answered %v, the restored one %v", from+uint64(k), r0[k], r4[k])
		}
	}
	if !bytes.Equal(snapshotBytes(t, fsms[0]), snapshotBytes(t, fourth)) {
		t.Fatalf("the restored replica diverged after %d more entries", len(more))
	}
}

// normalizeResult puts the times of a Job result in UTC: a restored replica
// holds them in another *time.Location (see TestRestoredTimesAreUTC).
func normalizeResult(r any) any {
	if j, ok := r.(Job); ok {
		j.SubmitTime, j.StartTime, j.EndTime = j.SubmitTime.UTC(), j.StartTime.UTC(), j.EndTime.UTC()
		return j
	}
	return r
}
