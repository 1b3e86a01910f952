package chart

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestRenderedClusterForms runs the rendered command lines of three
// coordinators and a worker as separate processes, each in its own mount
// namespace whose /etc/hosts gives the pods' DNS names the addresses a
// cluster's DNS would (127.0.0.1x here): the coordinators bootstrap by name
// and elect a leader, and the worker registers by its advertised name.
// The only change to a command line is the bind address (0.0.0.0, which
// the three would share here, becomes the pod's own address) and the data
// dir.
func TestRenderedClusterForms(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: each process gets its own /etc/hosts in a mount namespace (unshare -m)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	raftPort, httpPort, workerPort := portOf(t, freeAddr(t)), portOf(t, freeAddr(t)), portOf(t, freeAddr(t))
	const token = "cluster-token-0123456789"
	r, err := renderChart(parseValues(t, fmt.Sprintf(`
coordinator: {raftPort: %d, httpPort: %d}
worker: {httpPort: %d, replicas: 1, cache: {size: 1Gi}}
auth: {enabled: true, token: %s}
`, raftPort, httpPort, workerPort, token)))
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{podName(workerName, 0): "127.0.0.20"}
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		ips[podName(coordSTS, i)] = fmt.Sprintf("127.0.0.%d", 10+i)
	}
	for pod, ip := range ips {
		set := map[bool]string{true: coordHeadless, false: "alluvium-worker-headless"}[strings.HasPrefix(pod, coordSTS)]
		hosts = fmt.Appendf(hosts, "%s %s.%s.%s.svc.cluster.local\n", ip, pod, set, namespace)
	}
	hostsFile := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hostsFile, hosts, 0o644); err != nil {
		t.Fatal(err)
	}
	coord := r.statefulSet(t, coordSTS).Spec.Template.Spec.Containers[0]
	worker := r.statefulSet(t, workerName).Spec.Template.Spec.Containers[0]
	var urls []string
	for i := range 3 {
		startPod(t, r, coord, podName(coordSTS, i), ips, hostsFile)
		urls = append(urls, fmt.Sprintf("http://%s:%d", ips[podName(coordSTS, i)], httpPort))
	}
	startPod(t, r, worker, podName(workerName, 0), ips, hostsFile)

	env := []string{"ALLUVIUM_AUTH_TOKEN=" + token, "ALLUVIUM_COORDINATOR=" + strings.Join(urls, ",")}
	eventually(t, "three healthy coordinators", func() error { return cli(env, "health") })
	wantWorker := fmt.Sprintf("%s.alluvium-worker-headless.%s.svc.cluster.local:%d", podName(workerName, 0), namespace, workerPort)
	eventually(t, "the worker registered by its name", func() error {
		out, err := cliOutput(env, "nodes", "list", "-o", "json")
		if err != nil || !strings.Contains(out, wantWorker) || !strings.Contains(out, "LIVE") {
			return fmt.Errorf("nodes list: %v: %s", err, out)
		}
		return nil
	})
}

// startPod runs c as pod would: its command line and environment, with its
// own address for 0.0.0.0 and a temporary data dir, in a mount namespace
// with hostsFile as /etc/hosts.
func startPod(t *testing.T, r *rendered, c corev1.Container, pod string, ips map[string]string, hostsFile string) {
	t.Helper()
	envMap := containerEnv(t, r, scenario{}, c, pod)
	var env []string
	for k, v := range envMap {
		env = append(env, k+"="+v)
	}
	args := []string{"-m", "--propagation", "private", "sh", "-c", `mount --bind "$0" /etc/hosts && exec "$@"`, hostsFile, alluviumBin}
	for _, a := range append(c.Command[1:], c.Args...) {
		a = strings.Replace(expand(a, envMap), "=0.0.0.0:", "="+ips[pod]+":", 1)
		if a == "--data-dir=/data" {
			a = "--data-dir=" + t.TempDir()
		}
		args = append(args, a)
	}
	startProgram(t, env, "unshare", args...)
}

func cli(env []string, args ...string) error {
	_, err := cliOutput(env, args...)
	return err
}

func cliOutput(env []string, args ...string) (string, error) {
	cmd := exec.Command(alluviumBin, append(args, "--timeout", "5s")...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("alluvium %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
