package fsm

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// The commands of the golden set v1 (testdata/compat/v1.*), in log order:
// entry i+1 of v1.log is compatV1Log()[i], encoded by the version that wrote
// the set. Never change this list, its values or the expectations below: they
// describe bytes already on disk. A new command or field gets a new set (see
// compat_test.go).

var compatT0 = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)

func ct(d time.Duration) time.Time { return compatT0.Add(d) }

const (
	cwA = "worker-3f1c9a52-7b4e-4d8a-9c61-2e5b8f0a1d47"
	cwB = "worker-8a0d6e13-52c9-4f7b-b1e4-6c3a9d2f5e80"
	cwC = "worker-c27b4f90-1e8d-4a36-8f5c-d09e7a6b3c12"

	gib = int64(1) << 30
	mib = int64(1) << 20
)

// The ids the state machine gave the jobs of v1 (entries 32 to 36).
const (
	cJobPaths  = "01KQS5QQC00000000000000010"
	cJobIndex  = "01KQS5SHZ00000000000000011"
	cJobFree   = "01KQS5VCJ00000000000000012"
	cJobRebal  = "01KQS5X7500000000000000013"
	cJobLegacy = "01KQS5Z1R00000000000000014"
)

func compatV1Log() []Command {
	return []Command{
		/* 1 */ &SetCoordinator{Coordinator: Coordinator{ID: "coord-1", RaftAddress: "10.0.0.1:9201", HTTPAddress: "10.0.0.1:9200"}},
		/* 2 */ &SetCoordinator{Coordinator: Coordinator{ID: "coord-2", RaftAddress: "10.0.0.2:9201", HTTPAddress: "10.0.0.2:9200"}},
		/* 3 */ &RemoveCoordinator{ID: "coord-2"},
		/* 4 */ &ReplaceMounts{Mounts: []Mount{
			{Path: "/s3", UFS: "s3://bucket/data", Options: map[string]string{"s3.endpoint": "http://minio.local:9000", "s3.region": "eu-west-1"}},
			{Path: "/local", UFS: "file:///srv/local"},
		}},
		/* 5 */ &AddMount{Mount: Mount{Path: "/scratch", UFS: "file:///srv/scratch", Options: map[string]string{"readonly": "true"}}},
		/* 6 */ &RemoveMount{Path: "/scratch"},
		/* 7 */ &SetQuota{Path: "/s3/train", Bytes: 1024 * gib},
		/* 8 */ &SetQuota{Path: "/local", Bytes: 10 * gib},
		/* 9 */ &DeleteQuota{Path: "/local"},
		/* 10 */ &SetQuotaBudgets{Path: "/s3/train", Budgets: Budgets{cwA: 512 * gib, cwB: 384 * gib, cwC: 128 * gib}},
		/* 11 */ &SetTTL{Path: "/s3/tmp", TTL: 24 * time.Hour},
		/* 12 */ &SetTTL{Path: "/local/scratch", TTL: 90 * time.Minute},
		/* 13 */ &DeleteTTL{Path: "/local/scratch"},
		/* 14 */ &SetPriority{Path: "/s3/train", Priority: PriorityHigh},
		/* 15 */ &SetPriority{Path: "/local", Priority: PriorityLow},
		/* 16 */ &SetPriority{Path: "/s3/tmp", Priority: PriorityMedium},
		/* 17 */ &DeletePriority{Path: "/s3/tmp"},
		/* 18 */ &AddFilterRule{Rule: FilterRule{Rule: RuleMaxAge, Pattern: "^/s3/logs/", Time: 10 * time.Minute}},
		/* 19 */ &AddFilterRule{Rule: FilterRule{Rule: RuleSkipCache, Pattern: `\.tmp$`}},
		/* 20 */ &AddFilterRule{Rule: FilterRule{Rule: RuleImmutable, Pattern: "^/s3/train/"}},
		/* 21 */ &RemoveFilterRule{Rule: RuleSkipCache, Pattern: `\.tmp$`},
		/* 22 */ &SetDefaultFilter{Rule: FilterRule{Rule: RuleMaxAge, Time: time.Hour}},
		/* 23 */ &RegisterWorker{Worker: Worker{ID: cwA, Address: "10.0.1.1:29999", State: WorkerLive, CapacityBytes: 2048 * gib,
			StartTime: ct(-time.Hour).Add(123456789), Version: "0.9.0", StateSince: ct(-time.Hour)}, Now: ct(time.Minute)},
		/* 24 */ &RegisterWorker{Worker: Worker{ID: cwB, Address: "10.0.1.2:29999", CapacityBytes: 1024 * gib,
			StartTime: ct(-30 * time.Minute), Version: "0.9.0"}, Now: ct(2 * time.Minute)},
		/* 25 */ &RegisterWorker{Worker: Worker{ID: cwC, Address: "10.0.1.3:29999", CapacityBytes: 512 * gib,
			StartTime: ct(-10 * time.Minute), Version: "0.8.2"}, Now: ct(3 * time.Minute)},
		/* 26 */ &SetWorkerState{ID: cwB, State: WorkerLost, Now: ct(4 * time.Minute)},
		/* 27 */ &FileIndexReport{Worker: cwA, Epoch: 3, Events: []HoldingEvent{
			{Seq: 1, Reset: true},
			{Seq: 2, Path: "/s3/train/a.parquet", Size: 4 * mib, Held: true},
			{Seq: 3, Path: "/s3/train/b.parquet", Size: 3 * mib, Held: true},
			{Seq: 4, Path: "/s3/train/c.parquet", Size: 5 * mib, Held: true},
			{Seq: 5, Path: "/s3/train/c.parquet"},
		}},
		/* 28 */ &FileIndexReport{Worker: cwC, Epoch: 1, Events: []HoldingEvent{
			{Seq: 1, Reset: true},
			{Seq: 2, Path: "/s3/train/a.parquet", Size: 4 * mib, Held: true},
		}},
		/* 29 */ &FileIndexAdd{Entries: []FileEntry{
			{Path: "/s3/train/d.parquet", Size: 1000, Workers: []string{cwB}, Replicas: 2},
			{Path: "/local/x.bin", Size: 77},
			{Path: "/local/y.bin", Size: 78},
		}, Worker: cwA},
		/* 30 */ &FileIndexRemove{Paths: []string{"/local/y.bin", "/local/absent.bin"}, Worker: cwA},
		/* 31 */ &FileIndexHolders{Entries: []FileEntry{{Path: "/s3/train/d.parquet", Workers: []string{cwB}}}},
		/* 32 */ &SubmitJob{Job: Job{Type: JobLoad, Paths: []string{"/s3/train/b", "/s3/train/a", "/s3/train/a"}, Alias: "train-set",
			Options: JobOptions{BatchSize: 64, FileFilterRegex: `\.parquet$`, Replicas: 2, SkipIfExists: true, LoadPolicy: "IF_CHANGED",
				Verify: true, Bandwidth: 100 * mib}},
			Now: ct(10 * time.Minute), Rules: RulesByCoverage, GivenPaths: []string{"s3://bucket/data/train/b", "s3://bucket/data/train/a"}},
		/* 33 */ &SubmitJob{Job: Job{Type: JobLoad, Index: "/s3/lists/train.txt", Options: JobOptions{BatchSize: 128, Replicas: 1, LoadMetadataOnly: true}},
			Now: ct(11 * time.Minute), Rules: RulesByCoverage, GivenIndex: "s3://bucket/data/lists/train.txt"},
		/* 34 */ &SubmitJob{Job: Job{Type: JobFree, Paths: []string{"/s3/tmp"}, Alias: "tmp", Options: JobOptions{BatchSize: 10, Force: true}},
			Now: ct(12 * time.Minute), Rules: RulesByCoverage},
		/* 35 */ &SubmitJob{Job: Job{Type: JobRebalance, Target: "ALL", Options: JobOptions{LoadBatchSize: 32, LoadBandwidth: 50 * mib,
			PruneBandwidth: 20 * mib, SkipPrune: true}}, Now: ct(13 * time.Minute), Rules: RulesByCoverage},
		/* 36 */ &SubmitJob{Job: Job{Type: JobLoad, Paths: []string{"/local/models"}, Alias: "models"}, Now: ct(14 * time.Minute)},
		/* 37 */ &UpdateJob{ID: cJobPaths, Attempt: 1, State: JobRunning,
			Delta: JobCounters{ScannedFiles: 3, LoadedNonEmptyFiles: 2, LoadedFiles: 2, LoadedBytes: 6 * mib, SkippedFiles: 1,
				SkippedBytes: 2048, TotalBytes: 9 * mib, FailedFiles: 1, FreedFiles: 4, FreedBytes: 5, PrunedFiles: 6, PrunedBytes: 7,
				ReloadedFiles: 8},
			Cursor: strPtr("/s3/train/a"), Phase: strPtr("load"),
			Failed:             []FailedFile{{Path: "/s3/train/bad.parquet", Reason: "read s3://bucket/data/train/bad.parquet: connection reset"}},
			FailedFileListPath: "/var/lib/alluvium/jobs/failed.txt", ErrorMessage: "1 file failed",
			QuotaCheckError: strPtr("quota /s3/train is 90% used"), Now: ct(15 * time.Minute),
			Observed: []WorkerObservation{
				{Worker: cwA, Epoch: 3, Files: []ObservedFile{
					{Path: "/s3/train/e.parquet", Size: 2048, Seq: 6, Held: true, Replicas: 2},
					{Path: "/s3/train/b.parquet", Seq: 7},
				}},
				{Worker: cwC, Epoch: 1, Files: []ObservedFile{{Path: "/s3/train/a.parquet", Size: 4 * mib, Seq: 2, Held: true, Replicas: 2}}},
			}},
		/* 38 */ &UpdateJob{ID: cJobIndex, State: JobRunning, Now: ct(16 * time.Minute)},
		/* 39 */ &UpdateJob{ID: cJobIndex, State: JobFailed, ErrorMessage: "list s3://bucket/data/lists/train.txt: access denied", Now: ct(40 * time.Minute)},
		/* 40 */ &UpdateJob{ID: cJobFree, State: JobRunning, Now: ct(17 * time.Minute)},
		/* 41 */ &UpdateJob{ID: cJobFree, State: JobSucceeded, Delta: JobCounters{FreedFiles: 12, FreedBytes: 12 * mib}, Now: ct(30 * time.Minute)},
		/* 42 */ &StopJob{ID: cJobRebal, Now: ct(41 * time.Minute)},
		/* 43 */ &StopJob{Key: KeyByAlias(JobLoad, "models"), Now: ct(42 * time.Minute)},
		/* 44 */ &PruneJobs{Before: ct(35 * time.Minute), Keep: 5},
		/* 45 */ &RemoveWorker{ID: cwC, Now: ct(50 * time.Minute)},
		/* 46 */ &SubmitJob{Job: Job{Type: JobRebalance, Target: "ALL", Options: JobOptions{LoadBatchSize: 32, LoadBandwidth: 50 * mib,
			PruneBandwidth: 20 * mib, SkipPrune: true}}, Now: ct(55 * time.Minute), Rules: RulesByCoverage},
	}
}

// compatV1Want is the state v1's log reaches, as the queries answer it.
func compatV1Want() view {
	j1 := Job{ID: cJobPaths, Type: JobLoad, State: JobRunning, Alias: "train-set", Paths: []string{"/s3/train/a", "/s3/train/b"},
		Options: JobOptions{BatchSize: 64, FileFilterRegex: `\.parquet$`, Replicas: 2, SkipIfExists: true, LoadPolicy: "IF_CHANGED",
			Verify: true, Bandwidth: 100 * mib},
		SubmitTime: ct(10 * time.Minute), StartTime: ct(15 * time.Minute),
		JobCounters: JobCounters{ScannedFiles: 3, LoadedNonEmptyFiles: 2, LoadedFiles: 2, LoadedBytes: 6 * mib, SkippedFiles: 1,
			SkippedBytes: 2048, TotalBytes: 9 * mib, FailedFiles: 1, FreedFiles: 4, FreedBytes: 5, PrunedFiles: 6, PrunedBytes: 7,
			ReloadedFiles: 8},
		FailedFileSamples:  []FailedFile{{Path: "/s3/train/bad.parquet", Reason: "read s3://bucket/data/train/bad.parquet: connection reset"}},
		FailedFileListPath: "/var/lib/alluvium/jobs/failed.txt", ErrorMessage: "1 file failed", QuotaCheckError: "quota /s3/train is 90% used",
		Cursor: "/s3/train/a", Phase: "load", Attempts: 1}
	j2 := Job{ID: cJobIndex, Type: JobLoad, State: JobFailed, Index: "/s3/lists/train.txt",
		Options:    JobOptions{BatchSize: 128, Replicas: 1, LoadMetadataOnly: true},
		SubmitTime: ct(11 * time.Minute), StartTime: ct(16 * time.Minute), EndTime: ct(40 * time.Minute),
		ErrorMessage: "list s3://bucket/data/lists/train.txt: access denied", Attempts: 1}
	// The free job (entry 34) ended before entry 44's Before: pruned.
	j4 := Job{ID: cJobRebal, Type: JobRebalance, State: JobWaiting, Target: "ALL",
		Options:    JobOptions{LoadBatchSize: 32, LoadBandwidth: 50 * mib, PruneBandwidth: 20 * mib, SkipPrune: true},
		SubmitTime: ct(13 * time.Minute), Attempts: 2} // stopped, then resumed by entry 46
	j5 := Job{ID: cJobLegacy, Type: JobLoad, State: JobStopped, Alias: "models", Paths: []string{"/local/models"},
		SubmitTime: ct(14 * time.Minute), EndTime: ct(42 * time.Minute), Attempts: 1}
	return view{
		AppliedIndex:  46,
		PolicyVersion: 45,
		Coordinators:  []Coordinator{{ID: "coord-1", RaftAddress: "10.0.0.1:9201", HTTPAddress: "10.0.0.1:9200"}},
		Mounts: []Mount{
			{Path: "/local", UFS: "file:///srv/local"},
			{Path: "/s3", UFS: "s3://bucket/data", Options: map[string]string{"s3.endpoint": "http://minio.local:9000", "s3.region": "eu-west-1"}},
		},
		Quotas:     []Quota{{Path: "/s3/train", QuotaBytes: 1024 * gib, Budgets: Budgets{cwA: 512 * gib, cwB: 384 * gib}}},
		TTLs:       []TTL{{Path: "/s3/tmp", TTL: 24 * time.Hour}},
		Priorities: []PathPriority{{Path: "/local", Priority: PriorityLow}, {Path: "/s3/train", Priority: PriorityHigh}},
		Filter: FilterPolicy{
			Rules:   []FilterRule{{Rule: RuleMaxAge, Pattern: "^/s3/logs/", Time: 10 * time.Minute}, {Rule: RuleImmutable, Pattern: "^/s3/train/"}},
			Default: FilterRule{Rule: RuleMaxAge, Time: time.Hour},
		},
		Workers: []Worker{
			{ID: cwA, Address: "10.0.1.1:29999", State: WorkerLive, CapacityBytes: 2048 * gib, StartTime: ct(-time.Hour).Add(123456789),
				Version: "0.9.0", StateSince: ct(time.Minute)},
			{ID: cwB, Address: "10.0.1.2:29999", State: WorkerLost, CapacityBytes: 1024 * gib, StartTime: ct(-30 * time.Minute),
				Version: "0.9.0", StateSince: ct(4 * time.Minute)},
		},
		Jobs:       []Job{j1, j2, j4, j5},
		ActiveJobs: []Job{j1, j4},
		Files: []FileEntry{
			{Path: "/local/x.bin", Size: 77, Workers: []string{cwA}},
			{Path: "/s3/train/a.parquet", Size: 4 * mib, Workers: []string{cwA}, Replicas: 2},
			{Path: "/s3/train/d.parquet", Size: 1000, Workers: []string{cwB}, Replicas: 2},
			{Path: "/s3/train/e.parquet", Size: 2048, Workers: []string{cwA}, Replicas: 2},
		},
		FileIndexLen: 4,
		KeyedJobs: map[JobKey]string{
			KeyByPaths(JobLoad, []string{"/s3/train/a", "/s3/train/b"}): cJobPaths,
			KeyByIndex(JobLoad, "/s3/lists/train.txt"):                  cJobIndex,
			KeyByTarget("ALL"): cJobRebal,
			KeyByPaths(JobLoad, []string{"/local/models"}): cJobLegacy,
		},
	}
}

// checkCompatV1 checks the state v1's log reaches, field by field.
func checkCompatV1(t *testing.T, f *FSM) {
	t.Helper()
	requireView(t, viewOf(f), compatV1Want())
	f.mu.RLock()
	lastJobID := f.s.lastJobID
	f.mu.RUnlock()
	eq(t, "last job id", lastJobID, cJobLegacy)
	eq(t, "holding of A", f.Holding(cwA), HoldingState{Worker: cwA, Epoch: 3, Seq: 5})
	eq(t, "holding of C (removed)", f.Holding(cwC), HoldingState{Worker: cwC})
	eq(t, "held by A", f.HeldBy(cwA, "", 0), []string{"/local/x.bin", "/s3/train/a.parquet", "/s3/train/e.parquet"})
	eq(t, "held by B", f.HeldBy(cwB, "", 0), []string{"/s3/train/d.parquet"})
	eq(t, "held by C", len(f.HeldBy(cwC, "", 0)), 0)
	r, ok := f.Removed(cwC)
	r.At = r.At.UTC()
	eq(t, "C removed", ok, true)
	eq(t, "removal of C", r, RemovedWorker{ID: cwC, At: ct(50 * time.Minute)})
	if _, ok := f.Removed(cwA); ok {
		t.Errorf("A is recorded as removed")
	}
	for key, want := range map[JobKey]string{
		KeyByAlias(JobLoad, "train-set"): cJobPaths,
		KeyByAlias(JobLoad, "models"):    cJobLegacy,
		KeyByAlias(JobFree, "tmp"):       "",
	} {
		j, _ := f.JobByKey(key)
		eq(t, fmt.Sprintf("job of %v", key), j.ID, want)
	}
}

// requireView compares two views field by field.
func requireView(t *testing.T, got, want view) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			t.Errorf("%s:\n got %+v\nwant %+v", g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
}
