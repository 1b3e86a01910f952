package localcluster_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/localcluster"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*localcluster.Config)
		want string // "" for valid
	}{
		{"default", func(*localcluster.Config) {}, ""},
		{"no dir", func(c *localcluster.Config) { c.Dir = "" }, "Dir is empty"},
		{"nothing", func(c *localcluster.Config) { c.Coordinators = 0 }, "nothing to run"},
		{"standalone workers", func(c *localcluster.Config) { c.Coordinators, c.Workers = 0, 2 }, ""},
		{"negative workers", func(c *localcluster.Config) { c.Workers = -1 }, "-1 workers"},
		{"workers as processes", func(c *localcluster.Config) { c.Binary, c.Workers = "alluvium", 1 }, "in this process only"},
		{"ports past 65535", func(c *localcluster.Config) { c.Port = 65500 }, "out of range"},
		{"raft ports overlap", func(c *localcluster.Config) { c.Port, c.RaftPortOffset, c.Workers = 20000, 4, 3 }, "overlap"},
		{"no timeout", func(c *localcluster.Config) { c.Timeout = 0 }, "Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := localcluster.DefaultConfig()
			cfg.Dir = "/tmp/x"
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

// sampleUFS is a folder with one file, to mount.
func sampleUFS(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// read GETs a file through a worker's data API.
func read(t *testing.T, workerURL, path string) string {
	t.Helper()
	resp, err := http.Get(workerURL + api.PathWorkerDataRoot + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

func TestStartJoinedClusterWithWorkersAndAMount(t *testing.T) {
	t.Parallel()
	cfg := localcluster.DefaultConfig()
	cfg.Dir, cfg.Join, cfg.Workers, cfg.Token = t.TempDir(), true, 2, "secret"
	cfg.Mounts = []api.Mount{{Path: "/data", UFS: "file://" + sampleUFS(t)}}
	c, err := localcluster.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, err := c.Leader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l.ID != "c1" {
		t.Errorf("leader %s, want c1 (it bootstrapped alone, the others joined)", l.ID)
	}
	for _, m := range c.Members {
		if st, err := m.Node.Coordinator.Status(); err != nil || st.Leader != "c1" || len(st.Results) != 3 {
			t.Errorf("%s: %+v, %v", m.ID, st, err)
		}
	}
	cl, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Mounts(context.Background()); err != nil {
		t.Fatalf("the cluster's client does not send its token: %v", err)
	}
	for _, w := range c.Workers {
		if len(w.Worker.Policies().Mounts) != 1 {
			t.Fatalf("worker %s has policies %+v", w.Worker.ID(), w.Worker.Policies())
		}
	}
	if got := read(t, c.Workers[0].URL, "/data/hello.txt"); got != "hello\n" {
		t.Fatalf("read %q", got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
}

func TestStandaloneWorker(t *testing.T) {
	t.Parallel()
	cfg := localcluster.DefaultConfig()
	cfg.Dir, cfg.Coordinators, cfg.Workers = t.TempDir(), 0, 1
	cfg.Mounts = []api.Mount{{Path: "/data", UFS: "file://" + sampleUFS(t)}}
	c, err := localcluster.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := read(t, c.Workers[0].URL, "/data/hello.txt"); got != "hello\n" {
		t.Fatalf("read %q", got)
	}
}

func TestABadMountFailsStartAndStopsEverything(t *testing.T) {
	t.Parallel()
	cfg := localcluster.DefaultConfig()
	cfg.Dir, cfg.Coordinators, cfg.Workers = t.TempDir(), 1, 1
	cfg.Mounts = []api.Mount{{Path: "not absolute", UFS: "file:///nowhere"}}
	c, err := localcluster.Start(context.Background(), cfg)
	if err == nil {
		c.Close()
		t.Fatal("Start mounted a relative path")
	}
	if !strings.Contains(err.Error(), "mount not absolute") {
		t.Fatalf("error %v does not name the mount", err)
	}
}
