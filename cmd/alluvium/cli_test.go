package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/spf13/pflag"
)

func TestBytesText(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0B"}, {1023, "1023B"}, {1024, "1KiB"}, {1536, "1.5KiB"},
		{50 << 30, "50GiB"}, {12<<20 + 512<<10, "12.5MiB"}, {3<<20 + 200<<10, "3.2MiB"},
		{1<<40 + 1, "1.0TiB"}, {1 << 62, "4EiB"},
	}
	for _, tt := range tests {
		if got := bytesText(tt.n); got != tt.want {
			t.Errorf("bytesText(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	if got := bandwidthText(0); got != "unlimited" {
		t.Errorf("no bandwidth reads %q", got)
	}
	if got := bandwidthText(100 << 20); got != "100MiB/s" {
		t.Errorf("100MiB bandwidth reads %q", got)
	}
}

func TestJobSubject(t *testing.T) {
	tests := []struct {
		job  api.Job
		want string
	}{
		{api.Job{Paths: []string{"/sample"}, Alias: "/sample"}, "path '/sample'"},
		{api.Job{Paths: []string{"/sample"}}, "path '/sample'"},
		{api.Job{Paths: []string{"/sample"}, Alias: "s"}, "path '/sample' (alias 's')"},
		{api.Job{Paths: []string{"/a", "/b"}, Alias: "set-1"}, "paths '/a', '/b' (alias 'set-1')"},
		{api.Job{Paths: []string{"/a", "/b", "/c", "/d", "/e"}, Alias: "x"}, "paths '/a', '/b', '/c' and 2 more (alias 'x')"},
		{api.Job{Index: "/data/list.txt"}, "index file '/data/list.txt'"},
		{api.Job{Target: "ALL"}, "target 'ALL'"},
		{api.Job{Alias: "set-1"}, "alias 'set-1'"},
	}
	for _, tt := range tests {
		if got := jobSubject(tt.job); got != tt.want {
			t.Errorf("jobSubject(%+v) = %q, want %q", tt.job, got, tt.want)
		}
	}
}

func TestWriteProgress(t *testing.T) {
	tests := []struct {
		name string
		job  api.Job
		want string
	}{
		{"running load", api.Job{
			ID: "J1", Type: "load", State: "RUNNING", Paths: []string{"/sample"}, Alias: "/sample",
			StartTime: "2026-01-01T00:00:00Z", TimeElapsedMilliseconds: 3900,
			JobCounters: api.JobCounters{ScannedFiles: 500, LoadedNonEmptyFiles: 118, FailedFiles: 2,
				LoadedBytes: 12<<20 + 512<<10, TotalBytes: 50 << 20},
			ThroughputBytesPerSecond: 3<<20 + 200<<10,
			FailedFileSamples:        []api.FailedFile{{Path: "/sample/x", Reason: "permission denied"}},
		}, `Progress for loading path '/sample':
	Settings:	bandwidth: unlimited	verify: false
	Job Id: J1
	Job State: RUNNING
	Time Elapsed: 3.9s
	Files Processed: 120 out of 500
	Bytes Loaded: 12.5MiB out of 50MiB
	Throughput: 3.2MiB/s
	Files Failed: 2
		/sample/x: permission denied
		... and 1 more
`},
		{"waiting load of an index, with options and a quota", api.Job{
			ID: "J2", Type: "load", State: "WAITING", Index: "/data/list.txt",
			Options:     api.JobOptions{Bandwidth: 100 << 20, Verify: true},
			JobCounters: api.JobCounters{SkippedFiles: 3, SkippedBytes: 4096},
			Quota:       &api.JobQuota{TotalBytes: 1 << 30, Remaining: 1 << 29}, QuotaCheckError: "over quota",
			FailedFileListPath: "/var/lib/alluvium/J2.failed", ErrorMessage: "listing failed",
		}, `Progress for loading index file '/data/list.txt':
	Settings:	bandwidth: 100MiB/s	verify: true
	Job Id: J2
	Job State: WAITING
	Files Processed: 3
	Bytes Loaded: 0B
	Files Skipped: 3 (4KiB)
	Throughput: 0B/s
	Files Failed: 0
	Failed File List: /var/lib/alluvium/J2.failed
	Quota: 512MiB remaining of 1GiB
	Quota Check: over quota
	Error: listing failed
`},
		{"free", api.Job{
			ID: "J3", Type: "free", State: "SUCCEEDED", Paths: []string{"/a", "/b"}, Alias: "f1",
			Options: api.JobOptions{Force: true}, StartTime: "x", TimeElapsedMilliseconds: 61500,
			JobCounters: api.JobCounters{ScannedFiles: 10, FreedFiles: 10, FreedBytes: 10 << 20},
		}, `Progress for freeing paths '/a', '/b' (alias 'f1'):
	Settings:	force: true
	Job Id: J3
	Job State: SUCCEEDED
	Time Elapsed: 1m2s
	Files Processed: 10 out of 10
	Bytes Freed: 10MiB
	Throughput: 0B/s
	Files Failed: 0
`},
		{"rebalance", api.Job{
			ID: "J4", Type: "rebalance", State: "STOPPED", Target: "ALL",
			Options:     api.JobOptions{LoadBandwidth: 10 << 20, SkipPrune: true},
			JobCounters: api.JobCounters{ScannedFiles: 7, LoadedFiles: 2, LoadedBytes: 2048, PrunedFiles: 1, PrunedBytes: 1024},
		}, `Progress for rebalancing target 'ALL':
	Settings:	load bandwidth: 10MiB/s	prune bandwidth: unlimited	skip prune: true
	Job Id: J4
	Job State: STOPPED
	Files Scanned: 7
	Files Loaded: 2 (2KiB)
	Files Pruned: 1 (1KiB)
	Throughput: 0B/s
	Files Failed: 0
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeProgress(&b, tt.job)
			if got := b.String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestTables(t *testing.T) {
	d := func(s string) *api.Duration { v, _ := api.ParseDuration(s); return &v }
	tests := []struct {
		name  string
		write func(w io.Writer)
		want  string
	}{
		{"mounts", func(w io.Writer) {
			writeMounts(w, []api.Mount{{Path: "/data", UFS: "file:///srv/data"},
				{Path: "/s3", UFS: "s3://bucket/prefix", Options: map[string]string{"s3.secretAccessKey": "***", "s3.region": "eu"}}})
		}, `PATH   UFS                 OPTIONS
/data  file:///srv/data    -
/s3    s3://bucket/prefix  s3.region=eu,s3.secretAccessKey=***
`},
		{"no mounts", func(w io.Writer) { writeMounts(w, nil) }, "No mount points.\n"},
		{"quotas", func(w io.Writer) {
			writeQuotas(w, []api.Quota{{Path: "/data/a", QuotaBytes: 50 << 30, UsedBytes: 1536, RemainingBytes: 50<<30 - 1536}})
		}, `PATH     QUOTA  USED    REMAINING
/data/a  50GiB  1.5KiB  50.0GiB
`},
		{"ttls", func(w io.Writer) { writeTTLs(w, []api.TTL{{Path: "/data/a", TTL: d("90m")}}) }, `PATH     TTL
/data/a  1h30m0s
`},
		{"priorities", func(w io.Writer) { writePriorities(w, []api.Priority{{Path: "/data/a", Priority: "LOW"}}) }, `PATH     PRIORITY
/data/a  LOW
`},
		{"no priorities", func(w io.Writer) { writePriorities(w, []api.Priority{}) }, "No priorities (every path is MEDIUM).\n"},
		{"cache filter", func(w io.Writer) {
			writeCacheFilter(w, api.CacheFilter{Rules: []api.FilterRule{{Rule: "maxAge", Pattern: "^/data/live/", Time: d("10m")},
				{Rule: "skipCache", Pattern: `\.tmp$`}}, DefaultRule: "immutable"})
		}, `RULE       PATTERN       TIME
maxAge     ^/data/live/  10m0s
skipCache  \.tmp$        -
Default rule: immutable
`},
		{"empty cache filter, maxAge default", func(w io.Writer) {
			writeCacheFilter(w, api.CacheFilter{Rules: []api.FilterRule{}, DefaultRule: "maxAge", DefaultTime: d("1h")})
		}, "No rules.\nDefault rule: maxAge 1h0m0s\n"},
		{"nodes", func(w io.Writer) {
			writeNodes(w, []api.Node{{ID: "worker-1", Address: "127.0.0.1:9001", State: "LIVE", CapacityBytes: 1 << 30,
				UsedBytes: 1 << 20, Pages: 16, LastHeartbeat: "2026-01-01T00:00:00Z", Version: "dev"}})
		}, `ID        ADDRESS         STATE  CAPACITY  USED  PAGES  LAST HEARTBEAT        VERSION
worker-1  127.0.0.1:9001  LIVE   1GiB      1MiB  16     2026-01-01T00:00:00Z  dev
`},
		{"file index page", func(w io.Writer) {
			writeFileIndex(w, api.FileIndex{Results: []api.FileEntry{{Path: "/data/a", Size: 10, Workers: []string{"w1", "w2"}}}, NextKey: "/data/a"})
		}, `PATH     SIZE  WORKERS
/data/a  10B   w1,w2
More entries follow: --last-key '/data/a'
`},
		{"partial file index", func(w io.Writer) {
			writeFileIndex(w, api.FileIndex{Results: []api.FileEntry{}, Partial: true, Entries: 3, Limit: 3})
		}, `No entries.
The index is partial: its ceiling of 3 entries refused some workers' files (--file-index-max-entries).
`},
		{"jobs", func(w io.Writer) {
			writeJobs(w, []api.Job{{ID: "J1", Type: "load", State: "RUNNING", Alias: "set-1", SubmitTime: "2026-01-01T00:00:00Z",
				JobCounters: api.JobCounters{ScannedFiles: 4, LoadedNonEmptyFiles: 2, LoadedBytes: 2048}},
				{ID: "J2", Type: "rebalance", State: "WAITING", Target: "ALL"}})
		}, `ID  TYPE       STATE    NAME   FILES  BYTES  FAILED  SUBMITTED
J1  load       RUNNING  set-1  2/4    2KiB   0       2026-01-01T00:00:00Z
J2  rebalance  WAITING  ALL    0      0B     0       -
`},
		{"cache op accepted", func(w io.Writer) { writeCacheOp(w, api.CacheOpResult{Errors: map[string]string{}}, "Done.") }, "Done.\n"},
		{"cache op refused", func(w io.Writer) {
			writeCacheOp(w, api.CacheOpResult{Errors: map[string]string{"w2": "busy", "w1": "unreachable"}}, "Done.")
		}, `WORKER  ERROR
w1      unreachable
w2      busy
`},
		{"cache status", func(w io.Writer) {
			writeCacheStatus(w, api.CacheStatus{Results: []api.ClearStaleStatus{{Worker: "w1", Running: true, ScannedFiles: 3, RemovedBytes: 1 << 20}}})
		}, `WORKER  RUNNING  SCANNED FILES  REMOVED  ERROR
w1      true     3              1MiB     -
`},
		{"coordinators", func(w io.Writer) {
			writeCoordinators(w, coordinatorsReport{Coordinators: api.Coordinators{Leader: "c1", Term: 3, ServedBy: "c2"}, Results: []memberReport{
				{Coordinator: api.Coordinator{ID: "c1", RaftAddress: "127.0.0.1:7001", HTTPAddress: "127.0.0.1:8001", Leader: true, Voter: true}, Reach: "down", Error: "dial tcp: connection refused"},
				{Coordinator: api.Coordinator{ID: "c2", RaftAddress: "127.0.0.1:7002", HTTPAddress: "127.0.0.1:8002", Voter: true, CommitIndex: 42, AppliedIndex: 41}, Reach: "up"},
				{Coordinator: api.Coordinator{ID: "c3", RaftAddress: "127.0.0.1:7003", HTTPAddress: "127.0.0.1:8003", Voter: true}, Reach: "up", Error: "no raft leader"},
				{Coordinator: api.Coordinator{ID: "c4", RaftAddress: "127.0.0.1:7004"}, Reach: "unknown"}}})
		}, `Leader: c1 (term 3), answered by c2
ID  ROLE                  STATE      RAFT ADDRESS    HTTP ADDRESS    APPLIED/COMMITTED
c1  leader                down       127.0.0.1:7001  127.0.0.1:8001  -
c2  follower              up         127.0.0.1:7002  127.0.0.1:8002  41/42
c3  follower              unhealthy  127.0.0.1:7003  127.0.0.1:8003  -
c4  follower (non-voter)  unknown    127.0.0.1:7004  -               -
c1 is down: dial tcp: connection refused
c3 is unhealthy: no raft leader
`},
		{"health", func(w io.Writer) {
			writeHealth(w, []healthReport{
				{URL: "http://a", Health: &api.Health{Status: "ok", ID: "c1", Leader: "c2", State: "Follower", CommitIndex: 9, AppliedIndex: 9}},
				{URL: "http://b", Error: "no raft leader"}})
		}, `http://a: ok (c1, Follower, leader c2, applied 9 of 9)
http://b: unhealthy: no raft leader
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.write(&b)
			if got := b.String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestJobFlags(t *testing.T) {
	tests := []struct {
		name    string
		f       jobFlags
		submit  bool
		index   string
		paths   []string
		alias   string
		wantErr string
	}{
		{"one path is its own alias", jobFlags{paths: []string{"/a"}}, true, "", []string{"/a"}, "/a", ""},
		{"paths with an alias", jobFlags{paths: []string{"/a", "/b"}, alias: "s"}, true, "", []string{"/a", "/b"}, "s", ""},
		{"several paths need an alias", jobFlags{paths: []string{"/a", "/b"}}, true, "", nil, "", "need an --alias"},
		{"index", jobFlags{index: "/l.txt"}, true, "/l.txt", nil, "", ""},
		{"index and path", jobFlags{index: "/l.txt", paths: []string{"/a"}}, true, "", nil, "", "not both"},
		{"index and alias", jobFlags{index: "/l.txt", alias: "x"}, false, "", nil, "", "--alias names"},
		{"alias alone selects", jobFlags{alias: "s"}, false, "", nil, "s", ""},
		{"alias alone cannot submit", jobFlags{alias: "s"}, true, "", nil, "", "give --path"},
		{"nothing", jobFlags{}, false, "", nil, "", "give --path"},
	}
	for _, tt := range tests {
		index, paths, alias, err := tt.f.target(tt.submit)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want one saying %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || index != tt.index || alias != tt.alias || strings.Join(paths, ",") != strings.Join(tt.paths, ",") {
			t.Errorf("%s: got %q %q %q %v", tt.name, index, paths, alias, err)
		}
	}

	fs := pflag.NewFlagSet("load", pflag.ContinueOnError)
	fs.Int("replicas", 1, "")
	if _, err := jobAction(fs, true, true, false); err == nil {
		t.Error("--submit with --progress was accepted")
	}
	if _, err := jobAction(fs, false, false, false); err == nil {
		t.Error("no action was accepted")
	}
	if act, err := jobAction(fs, false, true, false); act != "progress" || err != nil {
		t.Errorf("--progress = %q, %v", act, err)
	}
	_ = fs.Set("replicas", "2")
	if _, err := jobAction(fs, false, false, true); err == nil || !strings.Contains(err.Error(), "--replicas applies to --submit only") {
		t.Errorf("--stop with --replicas: %v", err)
	}
	if act, err := jobAction(fs, true, false, false); act != "submit" || err != nil {
		t.Errorf("--submit with --replicas = %q, %v", act, err)
	}
}
