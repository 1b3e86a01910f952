package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/fusetest"
	"github.com/alluvium/alluvium/internal/localcluster"
)

// TestFuseProcess runs `alluvium fuse` as a process against a cluster:
// SIGTERM unmounts and exits 0; after kill -9 the mount point is dead
// ("transport endpoint is not connected") and the next start takes it
// over.
func TestFuseProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and mounts")
	}
	fusetest.Require(t)
	ufs := t.TempDir()
	writeTestFile(t, filepath.Join(ufs, "hello.txt"), "hello through FUSE\n")
	cfg := localcluster.DefaultConfig()
	cfg.Dir, cfg.Coordinators, cfg.Workers = t.TempDir(), 1, 1
	cfg.Mounts = []api.Mount{{Path: "/data", UFS: "file://" + ufs}}
	c, err := localcluster.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mnt := t.TempDir()
	file := filepath.Join(mnt, "data", "hello.txt")
	env := append(os.Environ(), "ALLUVIUM_COORDINATOR="+c.URLs()[0]) // the flag from the environment

	t.Run("SIGTERM unmounts", func(t *testing.T) {
		p := startFuse(t, env, mnt, file)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := p.wait(t); err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.out.String())
		}
		if mounted(t, mnt) {
			t.Fatalf("%s is still mounted after SIGTERM", mnt)
		}
		if !strings.Contains(p.out.String(), "unmounted "+mnt) {
			t.Errorf("output:\n%s", p.out.String())
		}
	})
	t.Run("kill -9, then a restart takes the mount over", func(t *testing.T) {
		p := startFuse(t, env, mnt, file)
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = p.wait(t)
		var st syscall.Statfs_t
		if err := syscall.Statfs(mnt, &st); !errors.Is(err, syscall.ENOTCONN) {
			t.Fatalf("after kill -9, stat %s: %v (want ENOTCONN)", mnt, err)
		}
		p = startFuse(t, env, mnt, file)
		if !strings.Contains(p.out.String(), "taking over a stale mount") {
			t.Errorf("the restart did not say it took over:\n%s", p.out.String())
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.wait(t); err != nil || mounted(t, mnt) {
			t.Fatalf("after SIGTERM: %v, mounted %v\n%s", err, mounted(t, mnt), p.out.String())
		}
	})
}

// fuseProc is a running `alluvium fuse`.
type fuseProc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
}

// startFuse starts `alluvium fuse mnt` and waits until file reads right.
func startFuse(t *testing.T, env []string, mnt, file string) *fuseProc {
	t.Helper()
	p := &fuseProc{cmd: exec.Command(binary, "fuse", mnt, "--metadata-ttl", "1s"), out: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if mounted(t, mnt) {
			_ = exec.Command("fusermount3", "-uz", mnt).Run()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(file)
		if err == nil && string(b) == "hello through FUSE\n" {
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("alluvium fuse exited: %v\n%s", err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not read right after 30s: %q, %v\n%s", file, b, err, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait waits for the process to exit (30 s at most).
func (p *fuseProc) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("alluvium fuse did not exit within 30s:\n%s", p.out.String())
		return nil
	}
}

// mounted reports whether dir is a mount point, from /proc/self/mountinfo.
func mounted(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}
