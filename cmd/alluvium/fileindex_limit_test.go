package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
)

// The file index's ceiling through the real binary: a coordinator started
// with --file-index-max-entries 2 replicates it, adds what fits, and the
// API and the CLI say the index is partial; a bad value is refused.
func TestFileIndexCeilingThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	if r := runCLI(t, nil, "coordinator", "--id", "c1", "--data-dir", filepath.Join(dir, "bad"),
		"--file-index-max-entries", "many", "--bootstrap", "c1=127.0.0.1:1"); r.code == 0 || !strings.Contains(r.stderr, "file-index-max-entries") {
		t.Fatalf("a bad ceiling: exit %d, %s", r.code, r.stderr)
	}
	ports := freePorts(t, 2)
	url := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	p := start(t, nil, "coordinator", "--id", "c1", "--data-dir", filepath.Join(dir, "c1"),
		"--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]), "--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"--bootstrap", fmt.Sprintf("c1=127.0.0.1:%d", ports[1]), "--file-index-max-entries", "2")
	waitLeader(t, []string{url})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var fi api.FileIndex
		if code, _, err := getJSON(url+"/api/v1/file_index", &fi); err == nil && code == http.StatusOK && fi.Limit == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ceiling was not replicated:\n%s", p.logs)
		}
	}
	env := []string{"ALLUVIUM_COORDINATOR=" + url}
	if r := runCLI(t, env, "file-index", "add", "/d/a", "/d/b", "/d/c"); r.code != 0 || !strings.Contains(r.stdout, "Added 2 of 3 paths.") {
		t.Fatalf("file-index add: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
	var fi api.FileIndex
	if code, _, err := getJSON(url+"/api/v1/file_index", &fi); err != nil || code != http.StatusOK || !fi.Partial || fi.Entries != 2 {
		t.Fatalf("GET file_index: %d %v %+v", code, err, fi)
	}
	if r := runCLI(t, env, "file-index", "list"); r.code != 0 || !strings.Contains(r.stdout, "The index is partial: its ceiling of 2 entries") {
		t.Fatalf("file-index list: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
}
