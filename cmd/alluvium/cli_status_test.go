package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
)

func TestUsageBar(t *testing.T) {
	tests := []struct {
		used, capacity int64
		want           string
	}{
		{0, 100, "[..........]"},
		{1, 1000, "[#.........]"}, // a little is still shown
		{50, 100, "[#####.....]"},
		{100, 100, "[##########]"},
		{150, 100, "[##########]"}, // over capacity stays in the box
		{10, 0, "[..........]"},    // capacity unknown
		{-5, 100, "[..........]"},
	}
	for _, tt := range tests {
		if got := usageBar(tt.used, tt.capacity, 10); got != tt.want {
			t.Errorf("usageBar(%d, %d) = %q, want %q", tt.used, tt.capacity, got, tt.want)
		}
	}
}

func TestWithRingShares(t *testing.T) {
	tests := []struct {
		name  string
		nodes []api.Node
		live  int
	}{
		{"none", nil, 0},
		{"one", []api.Node{{ID: "w1", State: "LIVE"}}, 1},
		{"lost and decommissioned own nothing", []api.Node{
			{ID: "w3", State: "LIVE"}, {ID: "w1", State: "LOST"}, {ID: "w2", State: "LIVE"}, {ID: "w4", State: "DECOMMISSIONED"}}, 2},
		{"many", func() (ns []api.Node) {
			for i := range 40 {
				ns = append(ns, api.Node{ID: fmt.Sprintf("worker-%02d", i), State: "LIVE"})
			}
			return ns
		}(), 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := withRingShares(tt.nodes)
			if err != nil {
				t.Fatal(err)
			}
			sum := 0.0
			for i, w := range ws {
				if i > 0 && ws[i-1].ID >= w.ID {
					t.Errorf("not sorted by id: %s before %s", ws[i-1].ID, w.ID)
				}
				if (w.State == "LIVE") != (w.RingShare > 0) {
					t.Errorf("%s (%s) has share %v", w.ID, w.State, w.RingShare)
				}
				// Balanced: no worker holds more than 1.05x its capacity share.
				if w.RingShare > 1.05*w.CapacityShare+1e-9 {
					t.Errorf("%s has share %v of %d workers", w.ID, w.RingShare, tt.live)
				}
				sum += w.RingShare
			}
			if tt.live > 0 && math.Abs(sum-1) > 1e-9 {
				t.Errorf("shares sum to %v", sum)
			}
		})
	}
}

func TestWriteStatus(t *testing.T) {
	coords := coordinatorsReport{Coordinators: api.Coordinators{Leader: "c2", Term: 4, ServedBy: "c1"}, Results: []memberReport{
		{Coordinator: api.Coordinator{ID: "c1", RaftAddress: "127.0.0.1:7001", HTTPAddress: "127.0.0.1:8001", Voter: true}, Reach: "up"},
		{Coordinator: api.Coordinator{ID: "c2", RaftAddress: "127.0.0.1:7002", HTTPAddress: "127.0.0.1:8002", Voter: true, Leader: true}, Reach: "up"},
		{Coordinator: api.Coordinator{ID: "c3", RaftAddress: "127.0.0.1:7003", HTTPAddress: "127.0.0.1:8003", Voter: true}, Reach: "down", Error: "connection refused"},
		{Coordinator: api.Coordinator{ID: "c4", RaftAddress: "127.0.0.1:7004", Voter: false}, Reach: "unknown"},
	}}
	tests := []struct {
		name string
		r    statusReport
		want string
	}{
		{"no leader", statusReport{Stale: "no raft leader", Coordinators: coordinatorsReport{Coordinators: api.Coordinators{ServedBy: "c1"},
			Results: []memberReport{{Coordinator: api.Coordinator{ID: "c1", RaftAddress: "r1", HTTPAddress: "h1", Voter: true}, Reach: "up", Error: "no raft leader"}}}}, `Coordinators: leader -, term 0 (answered by c1)
  ID  ROLE      STATE      HTTP ADDRESS  RAFT ADDRESS
  c1  follower  unhealthy  h1            r1
c1 is unhealthy: no raft leader

STALE: no raft leader. The workers and jobs below are as coordinator c1 last knew them.

Workers: 0 LIVE of 0
No workers.

No running jobs.
`},
		{"busy cluster", statusReport{
			Coordinators: coords,
			Workers: []workerStatus{
				{Node: api.Node{ID: "worker-a", State: "LIVE", CapacityBytes: 1 << 30, UsedBytes: 512 << 20}, RingShare: 0.4997, CapacityShare: 0.5},
				{Node: api.Node{ID: "worker-b", State: "LIVE", CapacityBytes: 1 << 30, UsedBytes: 0}, RingShare: 0.5003, CapacityShare: 0.5},
				{Node: api.Node{ID: "worker-c", State: "LOST", CapacityBytes: 1 << 30, UsedBytes: 1 << 30}},
			},
			Jobs: []api.Job{
				{ID: "J1", Type: "load", State: "RUNNING", Alias: "train", ThroughputBytesPerSecond: 3 << 20,
					JobCounters: api.JobCounters{ScannedFiles: 10, LoadedFiles: 7, SkippedFiles: 1, LoadedBytes: 70 << 20}},
				{ID: "J2", Type: "rebalance", State: "WAITING", Target: "ALL"},
			},
		}, `Coordinators: leader c2, term 4 (answered by c1)
  ID  ROLE                  STATE    HTTP ADDRESS    RAFT ADDRESS
  c1  follower              up       127.0.0.1:8001  127.0.0.1:7001
* c2  leader                up       127.0.0.1:8002  127.0.0.1:7002
  c3  follower              down     127.0.0.1:8003  127.0.0.1:7003
  c4  follower (non-voter)  unknown  -               127.0.0.1:7004
c3 is down: connection refused

Workers: 2 LIVE of 3
ID        STATE  USAGE         USED / CAPACITY  RING SHARE  CAPACITY SHARE
worker-a  LIVE   [#####.....]  512MiB / 1GiB    50.0%       50.0%
worker-b  LIVE   [..........]  0B / 1GiB        50.0%       50.0%
worker-c  LOST   [##########]  1GiB / 1GiB      -           -

Running jobs: 2
ID  TYPE       STATE    NAME   FILES DONE  BYTES  THROUGHPUT
J1  load       RUNNING  train  8           70MiB  3MiB/s
J2  rebalance  WAITING  ALL    0           0B     0B/s
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeStatus(&b, tt.r)
			if b.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}

// devPort finds a port with room after it for a three-coordinator,
// three-worker dev cluster and its raft ports.
func devPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		p := freePorts(t, 1)[0]
		if p+devRaftPortOffset+3 > 65000 {
			continue
		}
		ok := true
		for _, q := range []int{p + 1, p + 2, p + 3, p + 4, p + 5, p + devRaftPortOffset, p + devRaftPortOffset + 1, p + devRaftPortOffset + 2} {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", q))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return p
		}
	}
	t.Skip("no free port range")
	return 0
}

// `alluvium status` and the dashboard on a real `alluvium dev` cluster:
// the binary serves the page at / of every coordinator, and status shows
// the coordinators, the LIVE workers with shares of the ring, and a job
// while it runs.
func TestStatusAndDashboardOnADevCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	port := devPort(t)
	cmd, stdout, stderr := startDev(t, port, 90*time.Second)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("dev did not exit cleanly: %v\n%s", err, stderr.String())
		}
	}()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
	}
	go io.Copy(io.Discard, stdout)
	coord := fmt.Sprintf("--coordinator=http://127.0.0.1:%d", port+1) // a follower or the leader: any answers

	// The dashboard, from every coordinator.
	for i := range 3 {
		for path, want := range map[string]string{"/": "<title>Alluvium</title>", "/ui/app.js": "/api/v1/"} {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port+i, path))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
				t.Fatalf("GET %s of coordinator %d: %d, lacks %q", path, i+1, resp.StatusCode, want)
			}
		}
	}

	r := runCLI(t, nil, "status", coord)
	if r.code != 0 {
		t.Fatalf("status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"Coordinators: leader c", "* c", "Workers: 3 LIVE of 3", "No running jobs."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Count(r.stdout, "* c") != 1 || strings.Count(r.stdout, "  LIVE   [") != 3 {
		t.Errorf("status marks not one leader, or not 3 LIVE workers:\n%s", r.stdout)
	}

	// A paced load job shows up as running, in text and in JSON.
	if r := runCLI(t, nil, "load", "--path", "/sample", "--submit", "--bandwidth", "512KiB", coord); r.code != 0 {
		t.Fatalf("load: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rep statusReport
	for deadline := time.Now().Add(30 * time.Second); ; {
		r = runCLI(t, nil, "status", "-o", "json", coord)
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("status -o json: %v\n%s%s", err, r.stdout, r.stderr)
		}
		if len(rep.Jobs) == 1 && rep.Jobs[0].State == "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no running job in status within 30s:\n%s", r.stdout)
		}
		time.Sleep(200 * time.Millisecond)
	}
	sum, leaders := 0.0, 0
	for _, w := range rep.Workers {
		sum += w.RingShare
	}
	for _, c := range rep.Coordinators.Results {
		if c.Leader {
			leaders++
		}
	}
	if len(rep.Workers) != 3 || math.Abs(sum-1) > 1e-9 || leaders != 1 || rep.Jobs[0].Type != "load" {
		t.Fatalf("status -o json: %d workers, shares sum to %v, %d leaders, job %+v", len(rep.Workers), sum, leaders, rep.Jobs[0])
	}
	r = runCLI(t, nil, "status", coord)
	if !strings.Contains(r.stdout, "Running jobs: 1") || !strings.Contains(r.stdout, "/sample") {
		t.Errorf("status does not show the running job:\n%s", r.stdout)
	}
	// Finished, it is no longer listed.
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(r.stdout, "No running jobs."); {
		if time.Now().After(deadline) {
			t.Fatalf("the job is still listed after 60s:\n%s", r.stdout)
		}
		time.Sleep(200 * time.Millisecond)
		r = runCLI(t, nil, "status", coord)
	}
}
