package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
)

// chaosProc is one process of the chaos test. Its output goes to a file
// under the test's temp dir, not to a buffer: the file outlives kills and
// restarts (each run appends, after a marker line), needs no copying
// goroutine, and can be read while the process writes it.
type chaosProc struct {
	name string
	args []string
	log  string // path of the output file
	cmd  *exec.Cmd
	out  *os.File
	runs int
}

func newChaosProc(t *testing.T, logDir, name string, args ...string) *chaosProc {
	t.Helper()
	p := &chaosProc{name: name, args: args, log: filepath.Join(logDir, name+".log")}
	p.start(t)
	t.Cleanup(p.kill9)
	return p
}

// start runs the process (again, on the same flags: same data dir, same
// addresses).
func (p *chaosProc) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.runs++
	fmt.Fprintf(f, "=== chaos: run %d of %s at %s\n", p.runs, p.name, time.Now().Format(time.RFC3339Nano))
	p.cmd = exec.Command(binary, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", p.name, err)
	}
	p.out = f
}

// kill9 sends SIGKILL (no shutdown, no flush) and waits for the process,
// so that no waiter outlives the test. It does nothing to a dead process.
func (p *chaosProc) kill9() {
	if p.cmd == nil || p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	p.out.Close()
}

// tail is the end of the process's output: the last n lines.
func (p *chaosProc) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// chaosCluster is three coordinator and three worker processes.
type chaosCluster struct {
	coords     []*chaosProc
	coordURLs  []string
	workers    []*chaosProc
	workerURLs []string
	workerIDs  []string // by index, once known
}

// startProcCluster starts three coordinator processes (with coordArgs
// added to each) and workers worker processes (with workerArgs), waits for a
// leader and every worker LIVE, and mounts ufsDir at /data. A failed test
// shows the tail of every process's output.
func startProcCluster(t *testing.T, logDir, ufsDir string, workers int, coordArgs, workerArgs []string) *chaosCluster {
	t.Helper()
	return startProcClusterWith(t, logDir, ufsDir, workers, func(string) []string { return coordArgs }, workerArgs)
}

// startProcClusterWith is startProcCluster with each coordinator's own
// arguments (coordArgs of its name, c1...).
func startProcClusterWith(t *testing.T, logDir, ufsDir string, workers int, coordArgsOf func(name string) []string, workerArgs []string) *chaosCluster {
	t.Helper()
	coordArgs := coordArgsOf("")
	ports := freePorts(t, 6+workers)
	c := &chaosCluster{workerIDs: make([]string, workers)}
	scheme := "http"
	if slices.Contains(coordArgs, "--tls-cert") {
		scheme = "https"
	}
	var peers []string
	for i := range 3 {
		peers = append(peers, fmt.Sprintf("c%d=127.0.0.1:%d", i+1, ports[3+i]))
	}
	for i := range 3 {
		c.coordURLs = append(c.coordURLs, fmt.Sprintf("%s://127.0.0.1:%d", scheme, ports[i]))
		args := append([]string{"coordinator", "--id", fmt.Sprintf("c%d", i+1), "--data-dir", t.TempDir(),
			"--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[3+i]), "--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"--bootstrap", strings.Join(peers, ",")}, coordArgsOf(fmt.Sprintf("c%d", i+1))...)
		c.coords = append(c.coords, newChaosProc(t, logDir, fmt.Sprintf("c%d", i+1), args...))
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs(t, 60)
		}
	})
	for i := range workers {
		addr := fmt.Sprintf("127.0.0.1:%d", ports[6+i])
		c.workerURLs = append(c.workerURLs, scheme+"://"+addr)
		args := append([]string{"worker", "--data-dir", t.TempDir(), "--http-addr", addr, "--coordinators", c.joinURLs()}, workerArgs...)
		c.workers = append(c.workers, newChaosProc(t, logDir, fmt.Sprintf("w%d", i+1), args...))
	}
	c.waitLeaderIndex(t, 60*time.Second)
	for i := range c.workers {
		c.waitWorkerUp(t, i, 30*time.Second)
	}
	eventually(t, fmt.Sprintf("%d LIVE workers", workers), 30*time.Second, func() bool { return c.liveWorkers() == workers })
	waitWrites(t, &cluster3{}, c.coordURLs, "/api/v1/mount", `{"path":"/data","ufs":"file://`+ufsDir+`"}`)
	return c
}

// dumpLogs prints the tail of every process's output: the evidence a
// failure report needs (the whole files are removed with the test's temp
// dir unless ALLUVIUM_CHAOS_LOGDIR names a place to keep them).
func (c *chaosCluster) dumpLogs(t *testing.T, lines int) {
	for _, p := range append(append([]*chaosProc(nil), c.coords...), c.workers...) {
		t.Logf("--- last %d lines of %s (%s)\n%s", lines, p.name, p.log, p.tail(lines))
	}
}

// leader returns the index of the coordinator that says it leads, or -1.
func (c *chaosCluster) leader() int {
	for i, u := range c.coordURLs {
		var h api.Health
		if code, _, err := getJSON(u+"/api/v1/health", &h); err == nil && code == http.StatusOK && h.ID != "" && h.ID == h.Leader {
			return i
		}
	}
	return -1
}

// waitLeaderIndex polls until a coordinator says it leads.
func (c *chaosCluster) waitLeaderIndex(t *testing.T, d time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if i := c.leader(); i >= 0 {
			return i
		}
		if time.Now().After(deadline) {
			t.Fatalf("no coordinator leads within %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitHealthy polls a coordinator until it knows a leader and has applied
// what it knows committed: it is back in the cluster.
func (c *chaosCluster) waitHealthy(t *testing.T, i int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var h api.Health
		if code, _, err := getJSON(c.coordURLs[i]+"/api/v1/health", &h); err == nil && code == http.StatusOK && h.Leader != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("coordinator %s not healthy within %s after its restart", c.coords[i].name, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// workerID asks a worker for its id ("" when it does not answer).
func (c *chaosCluster) workerID(i int) string {
	var h struct{ ID string }
	if code, _, err := getJSON(c.workerURLs[i]+"/api/v1/health", &h); err == nil && code == http.StatusOK {
		return h.ID
	}
	return ""
}

// waitWorkerUp polls a worker until it answers its health with the id it
// had: it restarted on its data dir.
func (c *chaosCluster) waitWorkerUp(t *testing.T, i int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		id := c.workerID(i)
		if id != "" {
			if c.workerIDs[i] != "" && id != c.workerIDs[i] {
				t.Fatalf("worker %s came back as %s, was %s: it did not keep its id in its data dir", c.workers[i].name, id, c.workerIDs[i])
			}
			c.workerIDs[i] = id
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker %s not up within %s", c.workers[i].name, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// liveWorkers counts the cluster's workers that the coordinators see LIVE.
func (c *chaosCluster) liveWorkers() int {
	var ns api.Nodes
	for _, u := range c.coordURLs {
		if code, _, err := getJSON(u+"/api/v1/nodes", &ns); err == nil && code == http.StatusOK {
			live := 0
			for _, n := range ns.Results {
				if n.State == "LIVE" {
					live++
				}
			}
			return live
		}
	}
	return -1
}

// loadJob reads the load job by alias through any coordinator.
func (c *chaosCluster) loadJob(alias string) (api.Job, bool) {
	for _, u := range c.coordURLs {
		var j api.Job
		if code, _, err := getJSON(u+"/api/v1/load?alias="+alias, &j); err == nil && code == http.StatusOK {
			return j, true
		}
	}
	return api.Job{}, false
}

// jobLine is a job's progress in one line, for the fault schedule log.
func jobLine(j api.Job, ok bool) string {
	if !ok {
		return "job unreadable"
	}
	return fmt.Sprintf("job %s scanned=%d loaded=%d skipped=%d failed=%d", j.State,
		j.ScannedFiles, j.LoadedFiles, j.SkippedFiles, j.FailedFiles)
}

// joinURLs is the --coordinator value naming every coordinator.
func (c *chaosCluster) joinURLs() string { return strings.Join(c.coordURLs, ",") }

// Outcomes of chaosPost besides a status code: the write never reached a
// coordinator (connection refused: a killed one), or a coordinator said it
// was not proposed ("no raft leader", which the API keeps for requests that
// certainly changed nothing, so that clients know a retry is safe).
const (
	chaosRefused  = -1
	chaosRejected = -2
)

// chaosPost sends one write like post, but tells the writes known not to
// be applied (chaosRefused, chaosRejected) from those whose fate is
// unknown (0, other 5xx), so that only the latter widen what the final
// check accepts; a "rejected" write that was applied anyway shows there.
func chaosPost(ctx context.Context, url, body string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := durClient.Do(req)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return chaosRefused
	}
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var e api.Error
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return 0
	}
	if resp.StatusCode == http.StatusServiceUnavailable && json.Unmarshal(b, &e) == nil && strings.HasPrefix(e.Status, "no raft leader") {
		return chaosRejected
	}
	return resp.StatusCode
}
