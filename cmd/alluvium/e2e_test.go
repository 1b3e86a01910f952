package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/httpapi"
)

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

type proc struct {
	cmd  *exec.Cmd
	args []string
	env  []string
	logs *bytes.Buffer
}

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{args: args, env: env, logs: &bytes.Buffer{}}
	p.run(t)
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) run(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(binary, p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

func getJSON(url string, v any) (int, http.Header, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("%v: %s", err, b)
		}
	}
	return resp.StatusCode, resp.Header, nil
}

// waitLeader polls a coordinator until it names a leader whose address is
// published, and returns the leader's id.
func waitLeader(t *testing.T, urls []string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, u := range urls {
			var h api.Health
			if code, _, err := getJSON(u+"/api/v1/health", &h); err == nil && code == http.StatusOK && h.Leader != "" {
				return h.Leader
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no healthy coordinator among %v within 60s", urls)
	return ""
}

func TestThreeCoordinatorProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ports := freePorts(t, 6)
	var peers []string
	for i := range 3 {
		peers = append(peers, fmt.Sprintf("c%d=127.0.0.1:%d", i+1, ports[3+i]))
	}
	bootstrap := strings.Join(peers, ",")
	var procs []*proc
	var urls []string
	for i := range 3 {
		id := fmt.Sprintf("c%d", i+1)
		urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d", ports[i]))
		dir := t.TempDir()
		// One node is configured through the environment alone.
		if i == 2 {
			procs = append(procs, start(t, []string{
				"ALLUVIUM_ID=" + id, "ALLUVIUM_DATA_DIR=" + dir,
				fmt.Sprintf("ALLUVIUM_RAFT_ADDR=127.0.0.1:%d", ports[3+i]),
				fmt.Sprintf("ALLUVIUM_HTTP_ADDR=127.0.0.1:%d", ports[i]),
				"ALLUVIUM_BOOTSTRAP=" + bootstrap,
			}, "coordinator"))
			continue
		}
		procs = append(procs, start(t, nil, "coordinator", "--id", id, "--data-dir", dir,
			"--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[3+i]),
			"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"--bootstrap", bootstrap))
	}
	leader := waitLeader(t, urls)
	li := int(leader[1] - '1')
	ufsDir := t.TempDir() // the coordinators check that a mounted UFS exists
	follower := (li + 1) % 3

	// A write sent to a follower is forwarded and applied by the leader;
	// followers may need a moment to learn the leader's address.
	var resp *http.Response
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err = client.Post(urls[follower]+"/api/v1/mount", "application/json",
			strings.NewReader(`{"path": "/data", "ufs": "file://`+ufsDir+`"}`))
		if err == nil && resp.StatusCode == http.StatusOK {
			break
		}
		if err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("POST mount via follower: %v %v\n%s", err, resp, procs[follower].logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp.Body.Close()
	if got := resp.Header.Get(httpapi.ServedByHeader); got != leader {
		t.Errorf("the forwarded write was served by %q, want %q", got, leader)
	}

	// kill -9 the leader: a new one is elected and the write survives.
	if err := procs[li].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = procs[li].cmd.Wait()
	rest := []string{urls[(li+1)%3], urls[(li+2)%3]}
	newLeader := waitLeader(t, rest)
	if newLeader == leader {
		// The survivors may not have noticed yet; wait for the change.
		deadline := time.Now().Add(30 * time.Second)
		for newLeader == leader && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			newLeader = waitLeader(t, rest)
		}
	}
	if newLeader == leader {
		t.Fatalf("no new leader after killing %s", leader)
	}
	// The new leader may still answer 503 for a moment while it settles.
	var m api.Mount
	deadline = time.Now().Add(30 * time.Second)
	for {
		code, _, err := getJSON(rest[0]+"/api/v1/mount?path=/data", &m)
		if err == nil && code == http.StatusOK && m.UFS == "file://"+ufsDir {
			break
		}
		if time.Now().After(deadline) || (err == nil && code != http.StatusOK && code != http.StatusServiceUnavailable) {
			t.Fatalf("after the leader's death: GET mount = %d %+v %v", code, m, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The killed node restarts on its data dir and catches up.
	procs[li].run(t)
	deadline = time.Now().Add(60 * time.Second)
	for {
		code, _, err := getJSON(urls[li]+"/api/v1/mount?path=/data&stale=true", &m)
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted node did not catch up: %d %v\n%s", code, err, procs[li].logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDevClusterStartsAndStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	port := devPort(t)
	cmd, stdout, stderr := startDev(t, port, 60*time.Second)
	sc := bufio.NewScanner(stdout)
	var banner []string
	for sc.Scan() {
		banner = append(banner, sc.Text())
		if strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
			break
		}
	}
	text := strings.Join(banner, "\n")
	if !strings.Contains(text, "(leader)") || strings.Count(text, "coordinator c") != 3 || strings.Count(text, "worker worker-") != 3 {
		t.Fatalf("dev banner lacks the nodes or the leader:\n%s\n%s", text, stderr.String())
	}
	var st api.Coordinators
	if code, _, err := getJSON(fmt.Sprintf("http://127.0.0.1:%d/api/v1/coordinators", port), &st); err != nil || code != 200 || len(st.Results) != 3 {
		t.Fatalf("GET coordinators on dev: %d %+v %v", code, st, err)
	}
	// The sample folder is mounted and reads through the workers.
	out, err := exec.Command(binary, "cat", "/sample/hello.txt", "--coordinator", fmt.Sprintf("http://127.0.0.1:%d", port)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Hello from Alluvium") {
		t.Fatalf("alluvium cat /sample/hello.txt: %v %s", err, out)
	}
	go io.Copy(io.Discard, stdout)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("dev did not exit cleanly on SIGTERM: %v\n%s", err, stderr.String())
	}
}

func TestStaticMountTable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	table := filepath.Join(dir, "mounts.json")
	if err := os.WriteFile(table, []byte(`[{"path": "/data", "ufs": "file:///srv/data"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"path": "/a", "ufs": "file:///x"}, {"path": "/a/b", "ufs": "file:///y"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "coordinator", "--id", "c1", "--data-dir", filepath.Join(dir, "bad"),
		"--mount-table", bad, "--bootstrap", "c1=127.0.0.1:1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "inside mount point") {
		t.Fatalf("a nested static table was accepted: %v %s", err, out)
	}

	ports := freePorts(t, 2)
	url := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	p := start(t, nil, "coordinator", "--id", "c1", "--data-dir", filepath.Join(dir, "c1"),
		"--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"--bootstrap", fmt.Sprintf("c1=127.0.0.1:%d", ports[1]), "--mount-table", table)
	waitLeader(t, []string{url})
	deadline := time.Now().Add(30 * time.Second)
	for {
		var m api.Mount
		code, _, err := getJSON(url+"/api/v1/mount?path=/data", &m)
		if err == nil && code == http.StatusOK && m.UFS == "file:///srv/data" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("static mount not served: %d %v\n%s", code, err, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := client.Post(url+"/api/v1/mount", "application/json", strings.NewReader(`{"path":"/x","ufs":"file:///x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("POST mount with a static table: %d, want 501", resp.StatusCode)
	}
}

// startDev starts `alluvium dev` on port, killed after timeout at the
// latest, and returns it with its stdout (to read the banner from) and
// its stderr.
func startDev(t *testing.T, port int, timeout time.Duration) (*exec.Cmd, io.Reader, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, binary, "dev", "--port", fmt.Sprint(port))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(bytes.Buffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdout, stderr
}
