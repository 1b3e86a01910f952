package fsm

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// benchCase is one kind of command to benchmark: setup builds the state
// before the timer starts (n is b.N), cmd returns the i-th command. Every
// command must succeed, so that the figures are those of real work.
type benchCase struct {
	name  string
	setup func(a *applier, n int)
	cmd   func(i int) Command
	per   int // entries per command, for a per-entry figure (0: none)
}

func benchMount(a *applier, _ int) {
	a.ok(&AddMount{Mount: Mount{Path: "/s3", UFS: "s3://bucket/"}})
	for i := range 100 { // a realistic table to check new mounts against
		a.ok(&AddMount{Mount: Mount{Path: fmt.Sprintf("/m%03d", i), UFS: fmt.Sprintf("s3://b%03d/", i)}})
	}
}

func benchFiles(from, n int) []FileEntry {
	es := make([]FileEntry, n)
	for i := range es {
		k := from + i
		es[i] = FileEntry{Path: fmt.Sprintf("/s3/dataset-%02d/shard-%04d/part-%05d.parquet", k%16, k/1000%10000, k), Size: int64(k%4096) << 10}
	}
	return es
}

func benchCases() []benchCase {
	var jobID string
	jobs := []string{}
	return []benchCase{
		{name: "SetCoordinator", cmd: func(i int) Command {
			return &SetCoordinator{Coordinator: Coordinator{ID: fmt.Sprint("c", i%3), RaftAddress: "r:1", HTTPAddress: "h:1"}}
		}},
		{name: "RemoveCoordinator", setup: func(a *applier, n int) {
			for i := range n {
				a.ok(&SetCoordinator{Coordinator: Coordinator{ID: fmt.Sprint("c", i), HTTPAddress: "h:1"}})
			}
		}, cmd: func(i int) Command { return &RemoveCoordinator{ID: fmt.Sprint("c", i)} }},
		{name: "AddMount+RemoveMount", setup: benchMount, cmd: func(i int) Command {
			if i%2 == 0 {
				return &AddMount{Mount: Mount{Path: "/new", UFS: "s3://new/", Options: map[string]string{"s3.endpoint": "e"}}}
			}
			return &RemoveMount{Path: "/new"}
		}},
		{name: "ReplaceMounts", cmd: func(i int) Command {
			ms := make([]Mount, 10)
			for k := range ms {
				ms[k] = Mount{Path: fmt.Sprintf("/m%d", k), UFS: fmt.Sprintf("s3://b%d/%d", k, i%2)}
			}
			return &ReplaceMounts{Mounts: ms}
		}},
		{name: "SetQuota", setup: benchMount, cmd: func(i int) Command { return &SetQuota{Path: fmt.Sprintf("/s3/q%d", i%100), Bytes: 1 << 30} }},
		{name: "DeleteQuota", setup: func(a *applier, n int) {
			benchMount(a, n)
			for i := range n {
				a.ok(&SetQuota{Path: fmt.Sprintf("/s3/q%d", i), Bytes: 1})
			}
		}, cmd: func(i int) Command { return &DeleteQuota{Path: fmt.Sprintf("/s3/q%d", i)} }},
		{name: "SetQuotaBudgets", setup: func(a *applier, n int) {
			benchMount(a, n)
			a.ok(&SetQuota{Path: "/s3/q", Bytes: 1 << 40})
		}, cmd: func(i int) Command {
			bs := map[string]int64{}
			for w := range 16 {
				bs[fmt.Sprint("worker-", w)] = int64(i+w) << 20
			}
			return &SetQuotaBudgets{Path: "/s3/q", Budgets: bs}
		}},
		{name: "SetTTL", setup: benchMount, cmd: func(i int) Command { return &SetTTL{Path: fmt.Sprintf("/s3/t%d", i%100), TTL: time.Hour} }},
		{name: "DeleteTTL", setup: func(a *applier, n int) {
			benchMount(a, n)
			for i := range n {
				a.ok(&SetTTL{Path: fmt.Sprintf("/s3/t%d", i), TTL: time.Hour})
			}
		}, cmd: func(i int) Command { return &DeleteTTL{Path: fmt.Sprintf("/s3/t%d", i)} }},
		{name: "SetPriority", setup: benchMount, cmd: func(i int) Command {
			return &SetPriority{Path: fmt.Sprintf("/s3/p%d", i%100), Priority: Priority(1 + i%3)}
		}},
		{name: "DeletePriority", setup: func(a *applier, n int) {
			benchMount(a, n)
			for i := range n {
				a.ok(&SetPriority{Path: fmt.Sprintf("/s3/p%d", i), Priority: PriorityLow})
			}
		}, cmd: func(i int) Command { return &DeletePriority{Path: fmt.Sprintf("/s3/p%d", i)} }},
		{name: "AddFilterRule", cmd: func(i int) Command {
			return &AddFilterRule{Rule: FilterRule{Rule: RuleMaxAge, Pattern: fmt.Sprintf(`^/s3/t%d/.*\.json$`, i%50), Time: time.Minute}}
		}},
		{name: "AddFilterRule+RemoveFilterRule", cmd: func(i int) Command {
			if i%2 == 0 {
				return &AddFilterRule{Rule: FilterRule{Rule: RuleSkipCache, Pattern: `^/tmp/`}}
			}
			return &RemoveFilterRule{Rule: RuleSkipCache, Pattern: `^/tmp/`}
		}},
		{name: "SetDefaultFilter", cmd: func(i int) Command {
			return &SetDefaultFilter{Rule: FilterRule{Rule: RuleMaxAge, Time: time.Duration(1+i%10) * time.Minute}}
		}},
		{name: "RegisterWorker", cmd: func(i int) Command {
			return &RegisterWorker{Worker: Worker{ID: fmt.Sprint("worker-", i%16), Address: "10.0.0.1:29999", CapacityBytes: 1 << 40}, Now: t0}
		}},
		{name: "SetWorkerState", setup: func(a *applier, _ int) {
			a.ok(&RegisterWorker{Worker: Worker{ID: "worker-1", Address: "a:1"}, Now: t0})
		}, cmd: func(i int) Command {
			return &SetWorkerState{ID: "worker-1", State: []WorkerState{WorkerLost, WorkerLive}[i%2], Now: at(time.Duration(i) * time.Second)}
		}},
		{name: "SubmitJob", cmd: func(i int) Command {
			return &SubmitJob{Job: Job{Type: JobLoad, Paths: []string{"/s3/data"}, Alias: fmt.Sprint("a", i), Options: JobOptions{BatchSize: 100}}, Now: t0}
		}},
		{name: "UpdateJob", setup: func(a *applier, _ int) {
			jobID = a.job(&SubmitJob{Job: Job{Type: JobLoad, Index: "/s3/index"}, Now: t0}).ID
			a.job(&UpdateJob{ID: jobID, State: JobRunning, Now: t0})
		}, cmd: func(i int) Command {
			return &UpdateJob{ID: jobID, Delta: JobCounters{ScannedFiles: 100, LoadedFiles: 100, LoadedBytes: 100 << 20},
				Cursor: strPtr(fmt.Sprintf("/s3/part-%08d", i)), Now: at(time.Duration(i) * time.Millisecond)}
		}},
		{name: "StopJob", setup: func(a *applier, n int) {
			jobs = jobs[:0]
			for i := range n {
				jobs = append(jobs, a.job(&SubmitJob{Job: Job{Type: JobLoad, Paths: []string{"/p"}, Alias: fmt.Sprint("a", i)}, Now: t0}).ID)
			}
		}, cmd: func(i int) Command { return &StopJob{ID: jobs[i], Now: t0} }},
		{name: "PruneJobs", setup: func(a *applier, _ int) {
			for i := range 1000 {
				id := a.job(&SubmitJob{Job: Job{Type: JobLoad, Paths: []string{"/p"}, Alias: fmt.Sprint("a", i)}, Now: t0}).ID
				a.job(&StopJob{ID: id, Now: t0})
			}
		}, cmd: func(int) Command { return &PruneJobs{Before: t0, Keep: 1 << 30} }},
		{name: "FileIndexAdd", per: 100, cmd: func(i int) Command {
			return &FileIndexAdd{Entries: benchFiles(i*100, 100), Worker: "worker-1"}
		}},
		{name: "FileIndexRemove", per: 10, setup: func(a *applier, n int) {
			for i := 0; i < n*10; i += 1000 {
				a.ok(&FileIndexAdd{Entries: benchFiles(i, 1000), Worker: "worker-1"})
			}
		}, cmd: func(i int) Command {
			var ps []string
			for _, e := range benchFiles(i*10, 10) {
				ps = append(ps, e.Path)
			}
			return &FileIndexRemove{Paths: ps}
		}},
		{name: "FileIndexHolders", per: 100, setup: func(a *applier, _ int) {
			for i := 0; i < 100000; i += 1000 {
				a.ok(&FileIndexAdd{Entries: benchFiles(i, 1000), Worker: "worker-1"})
			}
		}, cmd: func(i int) Command {
			es := benchFiles((i*100)%100000, 100)
			for k := range es {
				es[k].Workers = []string{"worker-2", fmt.Sprint("worker-", i%16)}
			}
			return &FileIndexHolders{Entries: es}
		}},
	}
}

// BenchmarkApply applies pre-encoded commands, one sub-benchmark per type
// and one for a mix like a busy cluster's (job progress and file index
// updates, with some membership and policy changes).
func BenchmarkApply(b *testing.B) {
	cases := benchCases()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			a := newApplier(b)
			if c.setup != nil {
				c.setup(a, b.N)
			}
			data := make([][]byte, b.N)
			size := 0
			for i := range data {
				data[i] = mustEncode(b, c.cmd(i))
				size += len(data[i])
			}
			base := a.idx
			b.ReportAllocs()
			b.ResetTimer()
			for i := range data {
				if err, failed := a.f.Apply(base+uint64(i)+1, data[i]).(error); failed {
					b.Fatalf("command %d: %v", i, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(size)/float64(b.N), "bytes/cmd")
			if c.per > 0 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.per), "ns/entry")
			}
		})
	}
	b.Run("mix", func(b *testing.B) {
		a := newApplier(b)
		benchMount(a, 0)
		a.ok(&SetQuota{Path: "/s3/q", Bytes: 1 << 40})
		id := a.job(&SubmitJob{Job: Job{Type: JobLoad, Index: "/s3/index"}, Now: t0}).ID
		a.job(&UpdateJob{ID: id, State: JobRunning, Now: t0})
		mix := []func(i int) Command{
			func(i int) Command {
				return &UpdateJob{ID: id, Delta: JobCounters{LoadedFiles: 10}, Cursor: strPtr(fmt.Sprint(i)), Now: t0}
			},
			func(i int) Command {
				return &FileIndexAdd{Entries: benchFiles(i*10, 10), Worker: fmt.Sprint("worker-", i%4)}
			},
			func(i int) Command {
				return &UpdateJob{ID: id, Delta: JobCounters{LoadedBytes: 1 << 20}, Now: t0}
			},
			func(i int) Command {
				return &FileIndexAdd{Entries: benchFiles(i*10, 10), Worker: fmt.Sprint("worker-", 1+i%4)}
			},
			func(i int) Command {
				return &RegisterWorker{Worker: Worker{ID: fmt.Sprint("worker-", i%8), Address: "a:1"}, Now: t0}
			},
			func(i int) Command {
				return &SetQuotaBudgets{Path: "/s3/q", Budgets: map[string]int64{"worker-1": int64(i), "worker-2": 1}}
			},
			func(i int) Command { return &SetCoordinator{Coordinator: Coordinator{ID: "c1", HTTPAddress: "h:1"}} },
			func(i int) Command {
				return &FileIndexRemove{Paths: []string{benchFiles(i*10, 1)[0].Path}, Worker: "worker-0"}
			},
		}
		data := make([][]byte, b.N)
		for i := range data {
			data[i] = mustEncode(b, mix[i%len(mix)](i))
		}
		base := a.idx
		b.ReportAllocs()
		b.ResetTimer()
		for i := range data {
			if err, failed := a.f.Apply(base+uint64(i)+1, data[i]).(error); failed {
				b.Fatalf("command %d: %v", i, err)
			}
		}
	})
}

const entries1M = 1_000_000

// build1M returns an FSM whose file index holds 1,000,000 entries (each held
// by one or two of 16 workers) beside a small policy and job state.
func build1M(b *testing.B) *FSM {
	a := newApplier(b)
	fillAll(a)
	before := a.f.FileIndexLen()
	const batch = 10_000
	for i := 0; i < entries1M; i += batch {
		es := benchFiles(i, batch)
		a.ok(&FileIndexAdd{Entries: es, Worker: fmt.Sprint("worker-", (i/batch)%16)})
		a.ok(&FileIndexAdd{Entries: es[:batch/2], Worker: fmt.Sprint("worker-", (i/batch+5)%16)})
	}
	if n := a.f.FileIndexLen() - before; n != entries1M {
		b.Fatalf("built %d entries", n)
	}
	return a.f
}

// Each benchmark builds its state once (the first run, with b.N = 1) and
// keeps it for its later runs.
var (
	writeState struct {
		once sync.Once
		f    *FSM
	}
	restoreState struct {
		once sync.Once
		data []byte
		len  int
	}
	captureState struct {
		once sync.Once
		f    *FSM
	}
)

// BenchmarkSnapshotWrite1M persists a snapshot of a 1,000,000-entry file
// index: Snapshot() plus WriteTo, to a writer that only counts.
func BenchmarkSnapshotWrite1M(b *testing.B) {
	writeState.once.Do(func() { writeState.f = build1M(b) })
	f := writeState.f
	var n int64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var err error
		if n, err = f.Snapshot().WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	entries := float64(f.FileIndexLen())
	b.SetBytes(n)
	b.ReportMetric(float64(n)/entries, "bytes/entry")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/entries, "ns/entry")
}

// BenchmarkRestore1M restores that snapshot into a fresh FSM.
func BenchmarkRestore1M(b *testing.B) {
	restoreState.once.Do(func() {
		f := build1M(b)
		var buf bytes.Buffer
		if _, err := f.Snapshot().WriteTo(&buf); err != nil {
			b.Fatal(err)
		}
		restoreState.data, restoreState.len = buf.Bytes(), f.FileIndexLen()
	})
	data := restoreState.data
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		g := New()
		if err := g.Restore(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		if g.FileIndexLen() != restoreState.len {
			b.Fatalf("restored %d entries, want %d", g.FileIndexLen(), restoreState.len)
		}
	}
	b.StopTimer()
	entries := float64(restoreState.len)
	b.SetBytes(int64(len(data)))
	b.ReportMetric(float64(len(data))/entries, "bytes/entry")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/entries, "ns/entry")
}

// BenchmarkSnapshotCapture1M is the part of a snapshot taken under the
// lock: Snapshot() alone, which clones the file index copy-on-write.
func BenchmarkSnapshotCapture1M(b *testing.B) {
	captureState.once.Do(func() { captureState.f = build1M(b) })
	f := captureState.f
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if s := f.Snapshot(); s.LastIndex() == 0 {
			b.Fatal("empty snapshot")
		}
	}
}
