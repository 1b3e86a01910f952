package chart

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs the binary until the test ends.
func start(t *testing.T, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, alluviumBin, args...)
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alluvium %s:\n%s", strings.Join(args, " "), out.String())
		}
	})
}

// node is a real coordinator (and worker) on loopback.
type node struct{ coord, worker string }

// startNode runs a one-coordinator cluster and a worker, with token
// (empty: none) required by the coordinator.
func startNode(t *testing.T, token string) node {
	t.Helper()
	n := node{coord: freeAddr(t), worker: freeAddr(t)}
	raft := freeAddr(t)
	env := []string{}
	if token != "" {
		env = append(env, "ALLUVIUM_AUTH_TOKEN="+token)
	}
	start(t, env, "coordinator", "--id", "c1", "--data-dir", t.TempDir(), "--raft-addr", raft,
		"--http-addr", n.coord, "--bootstrap", "c1="+raft, "--log-level", "error")
	start(t, env, "worker", "--data-dir", t.TempDir(), "--http-addr", n.worker, "--coordinators", "http://"+n.coord,
		"--cache-size", "64MiB", "--memory-size", "0", "--log-level", "error")
	return n
}

// eventually polls f until it returns nil or 30 s have passed.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// probeOnce runs a readiness probe of c against the real process at addr
// (standing for the pod's IP and the container's port), with env.
func probeOnce(c corev1.Container, p *corev1.Probe, addr string, env []string) error {
	if g := p.HTTPGet; g != nil {
		resp, err := http.Get("http://" + addr + g.Path)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", g.Path, resp.Status)
		}
		return nil
	}
	if p.Exec == nil || p.Exec.Command[0] != "/alluvium" {
		return fmt.Errorf("%s: probe is neither an HTTP GET nor the alluvium binary: %+v", c.Name, p)
	}
	local := ""
	for _, cp := range c.Ports {
		if cp.Name == "http" {
			local = fmt.Sprintf("localhost:%d", cp.ContainerPort)
		}
	}
	var argv []string
	for _, a := range p.Exec.Command[1:] {
		// The probe asks localhost at the container's API port: here, addr.
		argv = append(argv, strings.Replace(a, local, addr, 1))
	}
	cmd := exec.Command(alluviumBin, argv...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("alluvium %s: %v: %s", strings.Join(argv, " "), err, out)
	}
	return nil
}

// TestProbesAnswerOnRealProcesses runs the rendered readiness probes of
// coordinators and workers against a real coordinator and worker: the
// routes exist and answer 200 once the cluster has a leader, and the
// token-holding probe of an authenticated coordinator fails without the
// token (so it is the token that makes it pass).
func TestProbesAnswerOnRealProcesses(t *testing.T) {
	cases := []struct {
		name, values, token string
	}{
		{"no token", ``, ""},
		{"token", `auth: {enabled: true, token: s3cret}`, "s3cret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := renderChart(parseValues(t, tc.values))
			if err != nil {
				t.Fatal(err)
			}
			n := startNode(t, tc.token)
			coord := r.statefulSet(t, coordSTS).Spec.Template.Spec.Containers[0]
			worker := r.statefulSet(t, workerName).Spec.Template.Spec.Containers[0]
			env := []string{}
			if tc.token != "" {
				env = append(env, "ALLUVIUM_AUTH_TOKEN="+tc.token)
			}
			eventually(t, "coordinator's readiness probe", func() error { return probeOnce(coord, coord.ReadinessProbe, n.coord, env) })
			eventually(t, "worker's readiness probe", func() error { return probeOnce(worker, worker.ReadinessProbe, n.worker, nil) })
			if tc.token != "" {
				if err := probeOnce(coord, coord.ReadinessProbe, n.coord, nil); err == nil {
					t.Error("the coordinator's probe passes without the token: it does not check what it should")
				}
			}
		})
	}
}
