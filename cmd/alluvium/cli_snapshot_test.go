package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/testcluster"
)

// snapshotCluster starts a three-node cluster that requires a token and
// keeps its state still (no scheduler, workers never LOST).
func snapshotCluster(t *testing.T, token string) *testcluster.Cluster {
	t.Helper()
	c := testcluster.Start(t, 3, testcluster.Options{
		Coordinator: func(cfg *coordinator.Config) {
			cfg.AuthToken = token
			cfg.NoScheduler = true
			cfg.WorkerTimeout = time.Hour
			cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 2*time.Second, 2*time.Second, time.Second
		},
		API: func(o *httpapi.Options) { o.AuthToken = token },
	})
	c.WaitPublished()
	return c
}

// Back up a cluster with the binary, lose it, and restore the file into a
// new one through a follower: every listing answers as before. Damaged
// files are refused and change nothing, and a missing token fails.
func TestCLISnapshotSaveRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts clusters and runs the binary")
	}
	const token = "s3cret"
	env := []string{"ALLUVIUM_AUTH_TOKEN=" + token}
	cli := func(t *testing.T, url string, args ...string) cliRun {
		t.Helper()
		return runCLI(t, env, append(args, "--coordinator", url)...)
	}
	ok := func(t *testing.T, url string, args ...string) string {
		t.Helper()
		r := cli(t, url, args...)
		if r.code != 0 {
			t.Fatalf("alluvium %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	listings := [][]string{
		{"mount", "list"}, {"quota", "list"}, {"ttl", "list"}, {"priority", "list"},
		{"cache-filter", "list"}, {"nodes", "list"}, {"file-index", "list"}, {"job", "list"},
	}
	view := func(t *testing.T, url string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, l := range listings {
			out[strings.Join(l, " ")] = ok(t, url, append(l, "-o", "json")...)
		}
		return out
	}

	a := snapshotCluster(t, token)
	follower := a.Nodes[a.Follower()].URL()
	ok(t, follower, "mount", "add", "/data", "file:///srv/data")
	ok(t, follower, "quota", "set", "/data/team-a", "50GiB")
	ok(t, follower, "ttl", "set", "/data/tmp", "1h")
	ok(t, follower, "priority", "set", "/data/scratch", "LOW")
	ok(t, follower, "cache-filter", "add", "skipCache", "^/data/live/")
	ok(t, follower, "file-index", "add", "/data/a.bin", "/data/b.bin")
	ok(t, follower, "load", "--path", "/data/x", "--submit")
	if _, err := a.Nodes[a.Leader()].Node.Coordinator.Apply(context.Background(),
		&fsm.RegisterWorker{Worker: fsm.Worker{ID: "worker-1", Address: "127.0.0.1:9001", CapacityBytes: 1 << 30}}); err != nil {
		t.Fatal(err)
	}
	want := view(t, follower)
	for k, v := range want {
		if len(v) < 20 {
			t.Fatalf("%s lists nothing: %q", k, v)
		}
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "backup.snap")
	if r := runCLI(t, nil, "snapshot", "save", file, "--coordinator", follower); r.code == 0 || !strings.Contains(r.stderr, "bearer token") {
		t.Fatalf("save without the token: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a failed save left %s: %v", file, err)
	}
	out := ok(t, follower, "snapshot", "save", file)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the saved snapshot holds mount secrets and must be 0600: %v %v", fi.Mode(), err)
	}
	if !strings.Contains(out, "Saved the state at index ") || !strings.Contains(out, "to "+file) {
		t.Errorf("save printed %q", out)
	}
	if out := ok(t, follower, "snapshot", "inspect", file); !strings.Contains(out, "sha256 ") {
		t.Errorf("inspect printed %q", out)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the save left %d files in its directory, want 1", len(entries))
	}
	a.StopAll()

	b := snapshotCluster(t, token)
	follower = b.Nodes[b.Follower()].URL()
	ok(t, follower, "mount", "add", "/lost", "file:///lost")
	before := view(t, follower)

	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	damaged := map[string][]byte{
		"truncated": good[:len(good)-5],
		"altered":   append(good[:len(good)-1:len(good)-1], good[len(good)-1]^0xff),
	}
	wants := map[string]string{"truncated": "truncated", "altered": "checksum mismatch"}
	for name, content := range damaged {
		bad := filepath.Join(dir, name+".snap")
		if err := os.WriteFile(bad, content, 0o600); err != nil {
			t.Fatal(err)
		}
		r := cli(t, follower, "snapshot", "restore", bad)
		if r.code != 1 || !strings.Contains(r.stderr, wants[name]) {
			t.Errorf("restore of a %s file: exit %d %s, want 1 and %q", name, r.code, r.stderr, wants[name])
		}
		if r := cli(t, follower, "snapshot", "inspect", bad); r.code != 1 || !strings.Contains(r.stderr, wants[name]) {
			t.Errorf("inspect of a %s file: exit %d %s", name, r.code, r.stderr)
		}
	}
	if r := runCLI(t, nil, "snapshot", "restore", file, "--coordinator", follower); r.code != 1 || !strings.Contains(r.stderr, "bearer token") {
		t.Errorf("restore without the token: exit %d %s", r.code, r.stderr)
	}
	if got := view(t, follower); !equalViews(got, before) {
		t.Fatalf("refused restores changed the state:\n got %v\nwant %v", got, before)
	}

	out = ok(t, follower, "snapshot", "restore", file)
	if !strings.Contains(out, "Restored the state at index ") {
		t.Errorf("restore printed %q", out)
	}
	for _, m := range b.Nodes {
		if got := view(t, m.URL()); !equalViews(got, want) {
			t.Errorf("after the restore, %s answers\n%v\nwant\n%v", m.ID, got, want)
		}
	}
}

func equalViews(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if normalizeElapsed(b[k]) != normalizeElapsed(v) {
			return false
		}
	}
	return true
}

// normalizeElapsed blanks the jobs' elapsed time, which is of the clock.
func normalizeElapsed(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, `"timeElapsedMilliseconds"`) {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
