package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C of `make run` (SIGINT to alluvium dev), after some work, is a
// clean stop: exit 0, and no ERROR, nor an unformatted "%+v", in its logs
// (at level info, to see everything but debug).
func TestDevStopsCleanlyOnSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	port := devPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "dev", "--port", fmt.Sprint(port), "--log-level", "info")
	var stdout, stderr lockedBuffer // written by exec's copying goroutines while read here
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stdout.String(), "Press Ctrl-C") {
		select {
		case err := <-exited:
			t.Fatalf("dev exited: %v\n%s", err, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev not up within 60s:\n%s", stderr.String())
		}
	}
	if r := runCLI(t, nil, "load", "--path", "/sample", "--submit", "--wait", "--coordinator", url); r.code != 0 {
		t.Fatalf("load --wait: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, nil, "cat", "/sample/hello.txt", "--coordinator", url); r.code != 0 {
		t.Fatalf("cat: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("dev ended with %v after SIGINT", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("dev still runs 60s after SIGINT")
	}
	if !strings.Contains(stdout.String(), "shutting down") {
		t.Errorf("dev did not say it was shutting down:\n%s", stdout.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "%+v") || strings.Contains(line, "%!") {
			t.Errorf("dev logged: %s", line)
		}
	}
	if !strings.Contains(stderr.String(), "level=INFO") {
		t.Errorf("dev logged nothing at level info:\n%s", stderr.String())
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
