package chart

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
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
	startProgram(t, env, alluviumBin, args...)
}

// startProgram runs program until the test ends, or until the function it
// returns kills it (SIGKILL, as a node lost) and waits for it.
func startProgram(t *testing.T, env []string, program string, args ...string) (kill func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill = func() { once.Do(func() { cancel(); _ = cmd.Wait() }) }
	t.Cleanup(func() {
		kill()
		if t.Failed() {
			t.Logf("alluvium %s:\n%s", strings.Join(args, " "), out.String())
		}
	})
	return kill
}

// startRendered renders values for one coordinator on free ports and runs
// that coordinator's own command line and environment (its data dir in a
// temporary directory), and a worker that registers with it. It returns
// the render, the coordinator's environment and the two API addresses.
func startRendered(t *testing.T, values string) (r *rendered, env []string, coord, worker string) {
	t.Helper()
	raftPort, httpPort := portOf(t, freeAddr(t)), portOf(t, freeAddr(t))
	v := parseValues(t, values)
	v["coordinator"] = map[string]any{"replicas": 1, "antiAffinity": "none", "raftPort": raftPort, "httpPort": httpPort}
	r, err := renderChart(v)
	if err != nil {
		t.Fatal(err)
	}
	c := r.statefulSet(t, coordSTS).Spec.Template.Spec.Containers[0]
	envMap := containerEnv(t, r, scenario{}, c, podName(coordSTS, 0))
	for k, v := range envMap {
		env = append(env, k+"="+v)
	}
	var argv []string
	for _, a := range append(c.Command[1:], c.Args...) {
		a = expand(a, envMap)
		if a == "--data-dir=/data" {
			a = "--data-dir=" + t.TempDir()
		}
		argv = append(argv, a)
	}
	// The pod's name does not resolve here: a lone coordinator elects
	// itself without dialling it.
	start(t, env, argv...)
	coord, worker = fmt.Sprintf("127.0.0.1:%d", httpPort), freeAddr(t)
	start(t, env, "worker", "--data-dir", t.TempDir(), "--http-addr", worker, "--coordinators", "http://"+coord,
		"--cache-size", "64MiB", "--memory-size", "0", "--log-level", "error")
	return r, env, coord, worker
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

// TestProbesAnswerOnRealProcesses runs a coordinator from its rendered
// command line, and the rendered readiness probes of coordinators and
// workers against it and a real worker: the routes exist and answer 200
// once the cluster has a leader, and the token-holding probe of an
// authenticated coordinator fails without the token (so it is the token
// that makes it pass).
func TestProbesAnswerOnRealProcesses(t *testing.T) {
	cases := []struct{ name, values string }{
		{"no token", `{}`},
		{"token", `auth: {enabled: true, token: cluster-token-0123456789}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, env, coordAddr, workerAddr := startRendered(t, tc.values)
			coord := r.statefulSet(t, coordSTS).Spec.Template.Spec.Containers[0]
			worker := r.statefulSet(t, workerName).Spec.Template.Spec.Containers[0]
			eventually(t, "coordinator's readiness probe", func() error { return probeOnce(coord, coord.ReadinessProbe, coordAddr, env) })
			eventually(t, "worker's readiness probe", func() error { return probeOnce(worker, worker.ReadinessProbe, workerAddr, nil) })
			if coord.ReadinessProbe.Exec != nil {
				if err := probeOnce(coord, coord.ReadinessProbe, coordAddr, nil); err == nil {
					t.Error("the coordinator's probe passes without the token: it does not check what it should")
				}
			}
		})
	}
}
