package chart

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestRenderedClusterForms runs the rendered command lines of three
// coordinators and a worker as separate processes, each in its own mount
// namespace whose /etc/hosts gives the pods' DNS names the addresses a
// cluster's DNS would (127.0.0.1x here): the coordinators bootstrap by name
// and elect a leader, and the worker registers by its advertised name; a
// coordinator restarted on a new address rejoins by its name.
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
	for i := range 3 {
		ips[podName(coordSTS, i)] = fmt.Sprintf("127.0.0.%d", 10+i)
	}
	hostsFile := filepath.Join(t.TempDir(), "hosts")
	writeHosts(t, hostsFile, ips)
	coord := r.statefulSet(t, coordSTS).Spec.Template.Spec.Containers[0]
	worker := r.statefulSet(t, workerName).Spec.Template.Spec.Containers[0]
	var urls []string
	kills, dataDirs := map[string]func(){}, map[string]string{}
	for i := range 3 {
		pod := podName(coordSTS, i)
		dataDirs[pod] = t.TempDir()
		kills[pod] = startPod(t, r, coord, pod, ips, hostsFile, dataDirs[pod])
		urls = append(urls, fmt.Sprintf("http://%s:%d", ips[pod], httpPort))
	}
	startPod(t, r, worker, podName(workerName, 0), ips, hostsFile, t.TempDir())

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

	// A coordinator rescheduled with a new IP address: killed, its name
	// now resolves to another address (the file every process sees as
	// /etc/hosts is rewritten in place, as the cluster's DNS would change),
	// and started again there on its volume. It rejoins: the others reach
	// it by name at its new address (a leader known there, and a write made
	// while it was away read locally).
	moved := podName(coordSTS, 2)
	kills[moved]()
	mount := fmt.Sprintf(`{"path": "/moved", "ufs": "file://%s"}`, t.TempDir())
	eventually(t, "a mount added while a coordinator is away", func() error {
		return call(http.MethodPost, urls[0]+"/api/v1/mount", token, mount)
	})
	ips[moved] = "127.0.0.32"
	writeHosts(t, hostsFile, ips)
	startPod(t, r, coord, moved, ips, hostsFile, dataDirs[moved])
	movedURL := fmt.Sprintf("http://%s:%d", ips[moved], httpPort)
	eventually(t, "the moved coordinator healthy at its new address", func() error {
		return cli([]string{"ALLUVIUM_AUTH_TOKEN=" + token, "ALLUVIUM_COORDINATOR=" + movedURL}, "health")
	})
	eventually(t, "the mount read locally on the moved coordinator", func() error {
		return call(http.MethodGet, movedURL+"/api/v1/mount?stale=true", token, "", "/moved")
	})
}

// writeHosts writes, in place (the processes bind-mount this very file as
// their /etc/hosts), the machine's hosts file plus each pod's DNS name at
// its address in ips.
func writeHosts(t *testing.T, hostsFile string, ips map[string]string) {
	t.Helper()
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	for pod, ip := range ips {
		set := map[bool]string{true: coordHeadless, false: "alluvium-worker-headless"}[strings.HasPrefix(pod, coordSTS)]
		hosts = fmt.Appendf(hosts, "%s %s.%s.%s.svc.cluster.local\n", ip, pod, set, namespace)
	}
	if err := os.WriteFile(hostsFile, hosts, 0o644); err != nil {
		t.Fatal(err)
	}
}

// call sends an API request with the token; a 2xx answer must contain
// every one of want.
func call(method, url, token, body string, want ...string) error {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, b)
	}
	for _, w := range want {
		if !strings.Contains(string(b), w) {
			return fmt.Errorf("%s %s: %s lacks %q", method, url, b, w)
		}
	}
	return nil
}

// startPod runs c as pod would: its command line and environment, with its
// own address for 0.0.0.0 and a temporary data dir, in a mount namespace
// with hostsFile as /etc/hosts.
func startPod(t *testing.T, r *rendered, c corev1.Container, pod string, ips map[string]string, hostsFile, dataDir string) (kill func()) {
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
			a = "--data-dir=" + dataDir
		}
		args = append(args, a)
	}
	return startProgram(t, env, "unshare", args...)
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
