package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
)

// workerStats is the part of a worker's GET /api/v1/stats the test reads.
type workerStats struct {
	ID         string `json:"id"`
	MemoryHits int64  `json:"memoryHits"`
	DiskHits   int64  `json:"diskHits"`
	Misses     int64  `json:"misses"`
	Pages      int64  `json:"pages"`
}

func stats(t *testing.T, url string) workerStats {
	t.Helper()
	var s workerStats
	if code, _, err := getJSON(url+"/api/v1/stats", &s); err != nil || code != http.StatusOK {
		t.Fatalf("stats of %s: %d %v", url, code, err)
	}
	return s
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func nodesByID(t *testing.T, url string) map[string]api.Node {
	t.Helper()
	var ns api.Nodes
	if code, _, err := getJSON(url+"/api/v1/nodes", &ns); err != nil || code != http.StatusOK {
		return nil
	}
	out := map[string]api.Node{}
	for _, n := range ns.Results {
		out[n.ID] = n
	}
	return out
}

// TestWorkersEndToEnd runs three coordinator and three worker processes on
// a real UFS folder: every file reads back identical through the CLI and
// the data API (with ranges), second reads hit the cache, a killed worker
// goes LOST and its keys are read from the next owner, it comes back LIVE
// with its cache, and decommission takes a worker off the ring.
func TestWorkersEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ports := freePorts(t, 9)
	var peers, urls []string
	for i := range 3 {
		peers = append(peers, fmt.Sprintf("c%d=127.0.0.1:%d", i+1, ports[3+i]))
		urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d", ports[i]))
	}
	for i := range 3 {
		start(t, nil, "coordinator", "--id", fmt.Sprintf("c%d", i+1), "--data-dir", t.TempDir(),
			"--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[3+i]), "--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"--bootstrap", strings.Join(peers, ","), "--worker-timeout", "2s")
	}
	waitLeader(t, urls)

	ufsDir := t.TempDir()
	want := map[string][]byte{}
	for i, size := range []int{0, 1, 4095, 1 << 20, 1<<20 + 1, 5<<19 + 7, 777, 64 << 10, 3<<20 - 1, 10} {
		data := make([]byte, size)
		rand.Read(data)
		name := fmt.Sprintf("dir%d/file-%02d.bin", i%3, i)
		os.MkdirAll(filepath.Join(ufsDir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(ufsDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		want["/data/"+name] = data
	}

	type workerProc struct {
		p   *proc
		url string
	}
	var workers []workerProc
	for i := range 3 {
		addr := fmt.Sprintf("127.0.0.1:%d", ports[6+i])
		p := start(t, nil, "worker", "--data-dir", t.TempDir(), "--http-addr", addr,
			"--coordinators", strings.Join(urls, ","), "--cache-size", "256MiB", "--memory-size", "0")
		workers = append(workers, workerProc{p, "http://" + addr})
	}
	ids := map[string]int{} // worker id -> index
	eventually(t, "three LIVE workers", 30*time.Second, func() bool {
		for i, w := range workers {
			var h struct{ ID string }
			if code, _, err := getJSON(w.url+"/api/v1/health", &h); err == nil && code == 200 {
				ids[h.ID] = i
			}
		}
		live := 0
		for id := range ids {
			if n, ok := nodesByID(t, urls[0])[id]; ok && n.State == "LIVE" {
				live++
			}
		}
		return live == 3
	})
	cli := func(args ...string) (string, error) {
		out, err := exec.Command(binary, append(args, "--coordinator", strings.Join(urls, ","))...).CombinedOutput()
		return string(out), err
	}
	eventually(t, "mount /data", 30*time.Second, func() bool {
		_, err := cli("mount", "add", "/data", "file://"+ufsDir)
		out, _ := cli("mount", "list")
		return err == nil || strings.Contains(out, "/data")
	})

	readAll := func(what string) {
		t.Helper()
		for p, data := range want {
			var out []byte
			var err error
			deadline := time.Now().Add(30 * time.Second)
			for { // the workers learn the mount (and a lost peer) within seconds
				out, err = exec.Command(binary, "cat", p, "--coordinator", strings.Join(urls, ",")).Output()
				if err == nil && bytes.Equal(out, data) || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if err != nil || sha256.Sum256(out) != sha256.Sum256(data) {
				t.Fatalf("%s: alluvium cat %s: %v, %d bytes, sha256 differs", what, p, err, len(out))
			}
		}
	}
	readAll("first read")

	// ls lists every file, with its size, through a worker.
	out, err := cli("ls", "/data", "-o", "json")
	var listing api.Listing
	if err != nil || json.Unmarshal([]byte(out), &listing) != nil || len(listing.Results) != len(want) {
		t.Fatalf("alluvium ls /data: %v %s", err, out)
	}
	for _, f := range listing.Results {
		if data, ok := want[f.Path]; !ok || int64(len(data)) != f.Size {
			t.Fatalf("ls lists %+v, which is not a file of the folder", f)
		}
	}

	// The data API through any worker (redirected to the owner), whole and
	// by range.
	for p, data := range want {
		resp, err := client.Get(workers[0].url + "/api/v1/data" + p)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, data) {
			t.Fatalf("GET %s: %d, %d bytes", p, resp.StatusCode, len(got))
		}
		if len(data) < 100 {
			continue
		}
		req, _ := http.NewRequest(http.MethodGet, workers[1].url+"/api/v1/data"+p, nil)
		req.Header.Set("Range", "bytes=10-99")
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, data[10:100]) {
			t.Fatalf("GET %s bytes=10-99: %d, %d bytes", p, resp.StatusCode, len(got))
		}
	}

	// Second reads are cache hits: misses do not grow, hits do.
	var hitsBefore, missesBefore int64
	for _, w := range workers {
		s := stats(t, w.url)
		hitsBefore, missesBefore = hitsBefore+s.MemoryHits+s.DiskHits, missesBefore+s.Misses
	}
	readAll("second read")
	var hitsAfter, missesAfter int64
	for _, w := range workers {
		s := stats(t, w.url)
		hitsAfter, missesAfter = hitsAfter+s.MemoryHits+s.DiskHits, missesAfter+s.Misses
	}
	if missesAfter != missesBefore || hitsAfter <= hitsBefore {
		t.Fatalf("second read: misses %d -> %d, hits %d -> %d", missesBefore, missesAfter, hitsBefore, hitsAfter)
	}
	eventually(t, "node usage reported", 10*time.Second, func() bool {
		var used int64
		for _, n := range nodesByID(t, urls[0]) {
			used += n.UsedBytes
		}
		return used > 0
	})

	// kill -9 a worker that holds data: LOST within its timeout, and every
	// file still reads back through the next owner.
	victim := -1
	for i, w := range workers {
		if stats(t, w.url).Pages > 0 {
			victim = i
			break
		}
	}
	var victimID string
	for id, i := range ids {
		if i == victim {
			victimID = id
		}
	}
	pagesBefore := stats(t, workers[victim].url).Pages
	workers[victim].p.cmd.Process.Signal(syscall.SIGKILL)
	workers[victim].p.cmd.Wait()
	eventually(t, "the killed worker goes LOST", 20*time.Second, func() bool {
		return nodesByID(t, urls[0])[victimID].State == "LOST"
	})
	readAll("with a worker lost")

	// Back on the same data dir: LIVE again, with its cache.
	workers[victim].p.run(t)
	eventually(t, "the restarted worker is LIVE", 30*time.Second, func() bool {
		return nodesByID(t, urls[0])[victimID].State == "LIVE"
	})
	if got := stats(t, workers[victim].url).Pages; got != pagesBefore {
		t.Fatalf("the restarted worker holds %d pages, had %d", got, pagesBefore)
	}

	// Remove another: it leaves the membership and the ring for good, and
	// stops serving; reads go on.
	var other string
	for id := range ids {
		if id != victimID {
			other = id
			break
		}
	}
	if out, err := cli("nodes", "remove", other); err != nil {
		t.Fatalf("remove: %v %s", err, out)
	}
	if n, listed := nodesByID(t, urls[0])[other]; listed {
		t.Fatalf("after its removal, the worker is still listed: %+v", n)
	}
	readAll("after a removal")
	var h struct {
		RingMembers int `json:"ringMembers"`
	}
	eventually(t, "workers drop the removed one from their ring", 20*time.Second, func() bool {
		getJSON(workers[victim].url+"/api/v1/health", &h)
		return h.RingMembers == 2
	})
}

// The load verb submits and, with --wait, follows the job to its end.
func TestLoadWait(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	port := devPort(t) // a range of free ports, not one
	cmd := exec.Command(binary, "dev", "--port", fmt.Sprint(port), "--workers", "2")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := exec.Command(binary, "cat", "/sample/hello.txt", "--coordinator", url).Output(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dev cluster does not serve /sample within 60s; its output:\n%s", out.String())
		}
	}
	got, err := exec.Command(binary, "load", "--path", "/sample", "--submit", "--wait", "--coordinator", url).CombinedOutput()
	if err != nil || !strings.Contains(string(got), "Job State: SUCCEEDED") || !strings.Contains(string(got), "Files Processed: 9 out of 9") {
		t.Fatalf("load --wait: %v\n%s\n%s", err, got, out.String())
	}
}
