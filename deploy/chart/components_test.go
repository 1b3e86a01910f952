package chart

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

const podDomain = coordHeadless + "." + namespace + ".svc.cluster.local"

// checkCoordinators: the StatefulSet, its headless and client Services, the
// bootstrap list, ports, probes, anti-affinity, the data volume and the PDB.
func checkCoordinators(t *testing.T, r *rendered, sc scenario) {
	sts := r.statefulSet(t, coordSTS)
	if n := int(*sts.Spec.Replicas); n != sc.coordinators {
		t.Fatalf("coordinators: %d replicas, want %d", n, sc.coordinators)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("coordinators start %q; a quorum needs them started together (Parallel)", sts.Spec.PodManagementPolicy)
	}
	headless := r.service(t, coordHeadless)
	if sts.Spec.ServiceName != headless.Name || headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses {
		t.Errorf("peers' Service %s: serviceName %q, clusterIP %q, publishNotReadyAddresses %v",
			headless.Name, sts.Spec.ServiceName, headless.Spec.ClusterIP, headless.Spec.PublishNotReadyAddresses)
	}
	checkSelects(t, headless.Spec.Selector, sts.Spec.Template.ObjectMeta, "Service "+headless.Name)
	client := r.service(t, coordSTS)
	checkSelects(t, client.Spec.Selector, sts.Spec.Template.ObjectMeta, "Service "+client.Name)

	c := onlyContainer(t, sts.Spec.Template.Spec)
	if !slices.Equal(c.Command, []string{"/alluvium", "coordinator"}) {
		t.Fatalf("coordinator command %q", c.Command)
	}
	raftPort := checkListenPort(t, c, "raft-addr", "raft")
	httpPort := checkListenPort(t, c, "http-addr", "http")
	checkServicePorts(t, headless, c)
	checkServicePorts(t, client, c)
	if sc.join {
		checkJoin(t, c, sc, client)
	} else {
		checkBootstrap(t, c, sc.coordinators, raftPort, httpPort)
	}
	checkCoordinatorProbe(t, c, sc)
	if mustFlag(t, c, "data-dir") != "/data" || !mounted(c, "data", "/data") {
		t.Errorf("--data-dir is not the data volume's mount: %q %v", c.Args, c.VolumeMounts)
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 || sts.Spec.VolumeClaimTemplates[0].Name != "data" {
		t.Errorf("coordinators have no volumeClaimTemplate named data: %v", sts.Spec.VolumeClaimTemplates)
	}
	checkAntiAffinity(t, sts.Spec.Template, sc.coordinators > 1)
	checkNonRoot(t, sts.Spec.Template.Spec, c)
	checkPDB(t, r, sts, sc.coordinators)
}

// checkBootstrap: --bootstrap names every replica once, as id=dns:raftPort,
// and each pod's --id and --raft-advertise are its own entry.
func checkBootstrap(t *testing.T, c corev1.Container, n int, raftPort, httpPort int32) {
	t.Helper()
	peers := map[string]string{}
	for _, p := range strings.Split(mustFlag(t, c, "bootstrap"), ",") {
		id, addr, ok := strings.Cut(p, "=")
		if _, dup := peers[id]; !ok || dup {
			t.Fatalf("--bootstrap entry %q malformed or repeated", p)
		}
		peers[id] = addr
	}
	if len(peers) != n {
		t.Fatalf("--bootstrap has %d peers, want every one of %d replicas: %v", len(peers), n, peers)
	}
	for i := range n {
		pod := podName(coordSTS, i)
		env := podEnv(pod)
		want := fmt.Sprintf("%s.%s:%d", pod, podDomain, raftPort)
		if peers[pod] != want {
			t.Errorf("--bootstrap %s=%q, want %q", pod, peers[pod], want)
		}
		if id := expand(mustFlag(t, c, "id"), env); id != pod {
			t.Errorf("pod %s: --id %q", pod, id)
		}
		if adv := expand(mustFlag(t, c, "raft-advertise"), env); adv != want {
			t.Errorf("pod %s: --raft-advertise %q, bootstrap says %q", pod, adv, want)
		}
		if adv := expand(mustFlag(t, c, "http-advertise"), env); adv != fmt.Sprintf("%s.%s:%d", pod, podDomain, httpPort) {
			t.Errorf("pod %s: --http-advertise %q", pod, adv)
		}
	}
}

// checkJoin: --join (never with --bootstrap) names the client Service at
// its port, in the scheme of the API.
func checkJoin(t *testing.T, c corev1.Container, sc scenario, client *corev1.Service) {
	t.Helper()
	if _, ok := flagValue(c.Args, "bootstrap"); ok {
		t.Error("--bootstrap and --join both given")
	}
	want := fmt.Sprintf("%s://%s.%s.svc.cluster.local:%d", scheme(sc), client.Name, namespace, client.Spec.Ports[0].Port)
	if got := mustFlag(t, c, "join"); got != want {
		t.Errorf("--join %q, want %q", got, want)
	}
}

// checkCoordinatorProbe: readiness asks GET /api/v1/health on the API port,
// by the kubelet, or with a token by `alluvium health` (which asks the same
// route) on that port.
func checkCoordinatorProbe(t *testing.T, c corev1.Container, sc scenario) {
	t.Helper()
	p := c.ReadinessProbe
	if p == nil {
		t.Fatal("coordinator has no readiness probe")
	}
	httpPort := containerPort(t, c, "http")
	scheme := "http"
	if sc.tls {
		scheme = "https"
	}
	switch {
	case sc.auth:
		if p.Exec == nil || len(p.Exec.Command) < 3 || p.Exec.Command[0] != "/alluvium" || p.Exec.Command[1] != "health" {
			t.Fatalf("with a token the probe must be `alluvium health`: %+v", p)
		}
		want := fmt.Sprintf("%s://localhost:%d", scheme, httpPort)
		if u, _ := flagValue(p.Exec.Command, "coordinator"); u != want {
			t.Errorf("probe asks %q, want %q", u, want)
		}
	default:
		checkHTTPProbe(t, c, p, scheme)
	}
	if p.ProbeHandler.TCPSocket != nil || c.LivenessProbe == nil || c.LivenessProbe.TCPSocket == nil {
		t.Errorf("liveness should be a TCP check of the API port: %+v", c.LivenessProbe)
	} else if c.LivenessProbe.TCPSocket.Port.StrVal != "http" {
		t.Errorf("liveness on port %v", c.LivenessProbe.TCPSocket.Port)
	}
}

func checkHTTPProbe(t *testing.T, c corev1.Container, p *corev1.Probe, scheme string) {
	t.Helper()
	g := p.HTTPGet
	if g == nil {
		t.Fatalf("%s: readiness is not an HTTP GET: %+v", c.Name, p)
	}
	if g.Path != "/api/v1/health" || g.Port.StrVal != "http" || !strings.EqualFold(string(g.Scheme), scheme) {
		t.Errorf("%s: probe %s %s on %v, want %s /api/v1/health on http", c.Name, g.Scheme, g.Path, g.Port, scheme)
	}
	containerPort(t, c, g.Port.StrVal)
}

// checkPDB: the budget keeps a quorum of the coordinators, and only them.
func checkPDB(t *testing.T, r *rendered, sts *appsv1.StatefulSet, n int) {
	t.Helper()
	pdb, ok := r.objs["PodDisruptionBudget"][coordSTS].(*policyv1.PodDisruptionBudget)
	if !ok {
		t.Fatal("no PodDisruptionBudget for the coordinators")
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != quorum(n) {
		t.Errorf("PDB minAvailable %v, want a quorum of %d: %d", pdb.Spec.MinAvailable, n, quorum(n))
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("PDB selector %v does not select the coordinators (%v)", pdb.Spec.Selector, err)
	}
	if sel.Matches(labels.Set(map[string]string{"app.kubernetes.io/name": "alluvium", "app.kubernetes.io/instance": releaseName, "app.kubernetes.io/component": "worker"})) {
		t.Error("PDB selector selects workers too")
	}
}

// checkAntiAffinity: coordinators spread over nodes (required by default).
func checkAntiAffinity(t *testing.T, tpl corev1.PodTemplateSpec, want bool) {
	t.Helper()
	a := tpl.Spec.Affinity
	if !want {
		return
	}
	if a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Fatalf("coordinators have no required anti-affinity: %+v", a)
	}
	term := a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0]
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if term.TopologyKey != "kubernetes.io/hostname" || err != nil || !sel.Matches(labels.Set(tpl.Labels)) {
		t.Errorf("anti-affinity term %+v does not keep two coordinators off one node", term)
	}
}

// checkNonRoot: coordinators and workers run as the image's non-root user.
func checkNonRoot(t *testing.T, spec corev1.PodSpec, c corev1.Container) {
	t.Helper()
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod may run as root: %+v", c.Name, psc)
	}
	if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Privileged != nil && *sc.Privileged {
		t.Errorf("%s: container may escalate privileges: %+v", c.Name, sc)
	}
}

// checkSelects: a Service or PDB selector picks the pods of tpl.
func checkSelects(t *testing.T, sel map[string]string, tpl metav1.ObjectMeta, what string) {
	t.Helper()
	if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(labels.Set(tpl.Labels)) {
		t.Errorf("%s selects %v, pods are labelled %v", what, sel, tpl.Labels)
	}
}

func onlyContainer(t *testing.T, spec corev1.PodSpec) corev1.Container {
	t.Helper()
	if len(spec.Containers) != 1 || len(spec.InitContainers) != 0 {
		t.Fatalf("want one container, have %d (+%d init)", len(spec.Containers), len(spec.InitContainers))
	}
	return spec.Containers[0]
}

func mounted(c corev1.Container, volume, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == volume && m.MountPath == path {
			return true
		}
	}
	return false
}
