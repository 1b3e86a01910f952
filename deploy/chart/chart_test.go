package chart

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/api"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// scenario is one set of values and what the rendered chart must hold.
type scenario struct {
	name   string
	values string
	// existing holds the Secrets the values name as existingSecret, as a
	// cluster would: name -> key -> value.
	existing map[string]map[string]string
	// Expected shape.
	coordinators, workers  int // workers: -1 for a DaemonSet
	s3, fuse, auth, tls    bool
	scoped, serviceMonitor bool
	join                   bool   // --join instead of --bootstrap
	raftCA                 bool   // --raft-tls-ca: workers are no Raft peers
	workerTLSSecret        string // the workers' own TLS Secret
	cacheBytes             int64  // --cache-size
	cachePercent           int64  // of the worker's volume (0: the default 90)
}

// Names of the objects, for release "alluvium" (which holds the chart's
// name, so the prefix is the release name alone).
const (
	coordSTS      = "alluvium-coordinator"
	coordHeadless = "alluvium-coordinator-headless"
	workerName    = "alluvium-worker"
	fuseName      = "alluvium-fuse"
)

var scenarios = []scenario{
	{name: "defaults", values: ``, coordinators: 3, workers: 3, cacheBytes: 50 << 30 * 90 / 100},
	{
		name: "five coordinators, four workers, S3, FUSE, existing Secrets",
		values: `
coordinator: {replicas: 5}
worker: {replicas: 4, cache: {size: 200Gi}}
s3: {enabled: true, existingSecret: team-s3}
fuse: {enabled: true}
auth: {enabled: true, existingSecret: team-auth}
tls: {enabled: true, existingSecret: team-tls, raftCAKey: raft-ca.crt, workerExistingSecret: team-tls-worker}
metrics: {serviceMonitor: {enabled: true}}
`,
		existing: map[string]map[string]string{
			"team-auth":       {"token": "team-token"},
			"team-s3":         {"credentials": "AKIA1 secret1\n"},
			"team-tls":        {"tls.crt": "PEM", "tls.key": "PEM", "ca.crt": "PEM", "raft-ca.crt": "PEM"},
			"team-tls-worker": {"tls.crt": "PEM", "tls.key": "PEM", "ca.crt": "PEM"},
		},
		raftCA: true, workerTLSSecret: "team-tls-worker",
		coordinators: 5, workers: 4, s3: true, fuse: true, auth: true, tls: true, serviceMonitor: true,
		cacheBytes: 200 << 30 * 90 / 100,
	},
	{
		name: "secrets created by the chart, scoped tokens",
		values: `
auth: {enabled: true, token: cluster-token-0123456789, scopedTokens: true, tokensFile: "ops-token-0123456789 admin ops\ngrafana-token-0123456789 read grafana\n"}
tls: {enabled: true, cert: CERT, key: KEY, ca: CA}
s3: {enabled: true, credentials: [{accessKey: AK1, secretKey: SK1}, {accessKey: AK2, secretKey: SK2}]}
metrics: {serviceMonitor: {enabled: true}}
`,
		coordinators: 3, workers: 3, s3: true, auth: true, tls: true, scoped: true, serviceMonitor: true,
		cacheBytes: 50 << 30 * 90 / 100,
	},
	{
		name: "workers as a DaemonSet on hostPath, one coordinator",
		values: `
coordinator: {replicas: 1, antiAffinity: none}
worker: {kind: DaemonSet, cache: {type: hostPath, size: 1Ti, usePercent: 80}}
s3: {enabled: true}
`,
		coordinators: 1, workers: -1, s3: true, cacheBytes: 1 << 40 * 80 / 100,
	},
	{
		name:         "five coordinators joining a running cluster, TLS",
		values:       `{coordinator: {replicas: 5, join: true}, tls: {enabled: true, existingSecret: team-tls}}`,
		existing:     map[string]map[string]string{"team-tls": {"tls.crt": "PEM", "tls.key": "PEM", "ca.crt": "PEM"}},
		coordinators: 5, workers: 3, tls: true, join: true, cacheBytes: 50 << 30 * 90 / 100,
	},
	{
		name:         "StatefulSet workers on hostPath, decimal size",
		values:       `worker: {cache: {type: hostPath, size: 500G}}`,
		coordinators: 3, workers: 3, cacheBytes: 500e9 * 90 / 100,
	},
	{
		name:         "cache size in bytes, half of it used",
		values:       `worker: {cache: {size: 107374182400, usePercent: 50}}`,
		coordinators: 3, workers: 3, cacheBytes: 100 << 30 / 2, cachePercent: 50,
	},
}

func parseValues(t *testing.T, s string) map[string]any {
	t.Helper()
	v := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("values: %v", err)
	}
	return v
}

// TestChartRenders renders every scenario and checks the objects against
// each other and against the binary's flags.
func TestChartRenders(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r, err := renderChart(parseValues(t, sc.values))
			if err != nil {
				t.Fatal(err)
			}
			checkCoordinators(t, r, sc)
			checkWorkers(t, r, sc)
			checkFuse(t, r, sc)
			checkSecretRefs(t, r, sc)
			checkServiceMonitor(t, r, sc)
			checkNotes(t, r, sc)
		})
	}
}

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func mustFlag(t *testing.T, c corev1.Container, name string) string {
	t.Helper()
	v, ok := flagValue(c.Args, name)
	if !ok {
		t.Fatalf("container %s has no --%s in %q", c.Name, name, c.Args)
	}
	return v
}

// portOf returns the port of host:port.
func portOf(t *testing.T, hostport string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	return int32(n)
}

// containerPort returns the number of a named port of c.
func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q (%v)", c.Name, name, c.Ports)
	return 0
}

// checkListenPort: the flag's port is the container's port of that name.
func checkListenPort(t *testing.T, c corev1.Container, flag, port string) int32 {
	t.Helper()
	got := portOf(t, mustFlag(t, c, flag))
	if want := containerPort(t, c, port); got != want {
		t.Errorf("%s: --%s port %d, containerPort %q %d", c.Name, flag, got, port, want)
	}
	return got
}

// checkServicePorts: every target of svc is a named port of c, the same
// number as the Service's own port for headless Services.
func checkServicePorts(t *testing.T, svc *corev1.Service, c corev1.Container) {
	t.Helper()
	for _, p := range svc.Spec.Ports {
		n := containerPort(t, c, p.TargetPort.StrVal)
		if svc.Spec.ClusterIP == corev1.ClusterIPNone && n != p.Port {
			t.Errorf("headless %s: port %s %d, container's %d", svc.Name, p.Name, p.Port, n)
		}
	}
}

// checkCacheSize: --cache-size reads back (as the binary reads it) as the
// expected share of the volume, and the volume's size is what values say.
func checkCacheSize(t *testing.T, c corev1.Container, want int64) {
	t.Helper()
	s, err := api.ParseSize(mustFlag(t, c, "cache-size"))
	if err != nil {
		t.Fatalf("--cache-size: %v", err)
	}
	// Rounded down to whole MiB.
	if int64(s) > want || int64(s) <= want-(1<<20) {
		t.Errorf("--cache-size %d bytes, want %d (rounded down to MiB)", s, want)
	}
}

func quantityBytes(t *testing.T, q resource.Quantity) int64 {
	t.Helper()
	v, ok := q.AsInt64()
	if !ok {
		t.Fatalf("quantity %s is no integer", q.String())
	}
	return v
}

// checkNotes: NOTES.txt says how to reach the dashboard and run status.
func checkNotes(t *testing.T, r *rendered, sc scenario) {
	scheme := "http"
	if sc.tls {
		scheme = "https"
	}
	for _, want := range []string{
		"port-forward svc/" + coordSTS + " 8000:8000",
		scheme + "://localhost:8000/",
		"alluvium --coordinator " + scheme + "://localhost:8000 status",
	} {
		if !strings.Contains(r.notes, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, r.notes)
		}
	}
}

// quorum is the smallest majority of n.
func quorum(n int) int { return n/2 + 1 }

func podName(set string, i int) string { return fmt.Sprintf("%s-%d", set, i) }

func contains(list []string, s string) bool { return slices.Contains(list, s) }
