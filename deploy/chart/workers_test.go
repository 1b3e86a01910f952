package chart

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// workerPod returns the workers' pod template and a pod name.
func workerPod(t *testing.T, r *rendered, sc scenario) (corev1.PodTemplateSpec, string) {
	t.Helper()
	if sc.workers < 0 {
		ds, ok := r.objs["DaemonSet"][workerName].(*appsv1.DaemonSet)
		if !ok {
			t.Fatalf("no worker DaemonSet among %v", r.names())
		}
		if _, ok := r.objs["StatefulSet"][workerName]; ok {
			t.Fatal("workers rendered as both a DaemonSet and a StatefulSet")
		}
		return ds.Spec.Template, workerName + "-x7k2p"
	}
	sts := r.statefulSet(t, workerName)
	if int(*sts.Spec.Replicas) != sc.workers {
		t.Fatalf("workers: %d replicas, want %d", *sts.Spec.Replicas, sc.workers)
	}
	if _, ok := r.objs["DaemonSet"][workerName]; ok {
		t.Fatal("workers rendered as both a DaemonSet and a StatefulSet")
	}
	return sts.Spec.Template, podName(workerName, 0)
}

// checkWorkers: coordinator URLs, advertised address, ports, the cache
// volume and --cache-size, S3, probes.
func checkWorkers(t *testing.T, r *rendered, sc scenario) {
	tpl, pod := workerPod(t, r, sc)
	c := onlyContainer(t, tpl.Spec)
	if !slices.Equal(c.Command, []string{"/alluvium", "worker"}) {
		t.Fatalf("worker command %q", c.Command)
	}
	httpPort := checkListenPort(t, c, "http-addr", "http")
	checkCoordinatorURLs(t, mustFlag(t, c, "coordinators"), sc)
	adv := expand(mustFlag(t, c, "http-advertise"), podEnv(pod))
	want := fmt.Sprintf("%s.alluvium-worker-headless.%s.svc.cluster.local:%d", pod, namespace, httpPort)
	if sc.workers < 0 {
		want = fmt.Sprintf("%s:%d", podIP, httpPort)
	}
	if adv != want {
		t.Errorf("worker --http-advertise %q, want %q", adv, want)
	}
	headless := r.service(t, "alluvium-worker-headless")
	checkSelects(t, headless.Spec.Selector, tpl.ObjectMeta, "Service "+headless.Name)
	checkServicePorts(t, headless, c)
	checkHTTPProbe(t, c, c.ReadinessProbe, scheme(sc))
	checkNonRoot(t, tpl.Spec, c)
	checkCacheSize(t, c, sc.cacheBytes)
	checkCacheVolume(t, r, tpl, c, sc)

	_, hasS3 := flagValue(c.Args, "s3-addr")
	if hasS3 != sc.s3 {
		t.Fatalf("worker --s3-addr present %v, want %v", hasS3, sc.s3)
	}
	if sc.s3 {
		checkListenPort(t, c, "s3-addr", "s3")
		svc := r.service(t, "alluvium-s3")
		checkSelects(t, svc.Spec.Selector, tpl.ObjectMeta, "Service "+svc.Name)
		checkServicePorts(t, svc, c)
		has := func(secret, key string) bool { _, ok := secretValue(r, sc, secret, key); return ok }
		if f, ok := flagValue(c.Args, "s3-credentials"); ok && !mountedFile(tpl.Spec, c, f, has) {
			t.Errorf("--s3-credentials %s is on no mounted Secret", f)
		}
	}
}

// checkCacheVolume: /data is a PVC of the volume size values give (a
// StatefulSet on pvc) or the node's directory (hostPath).
func checkCacheVolume(t *testing.T, r *rendered, tpl corev1.PodTemplateSpec, c corev1.Container, sc scenario) {
	t.Helper()
	if mustFlag(t, c, "data-dir") != "/data" || !mounted(c, "data", "/data") {
		t.Fatalf("worker --data-dir is not the data volume: %q %v", c.Args, c.VolumeMounts)
	}
	var hostPath *corev1.HostPathVolumeSource
	for _, v := range tpl.Spec.Volumes {
		if v.Name == "data" {
			hostPath = v.HostPath
		}
	}
	if sts, ok := r.objs["StatefulSet"][workerName].(*appsv1.StatefulSet); ok && hostPath == nil {
		if len(sts.Spec.VolumeClaimTemplates) != 1 || sts.Spec.VolumeClaimTemplates[0].Name != "data" {
			t.Fatalf("worker StatefulSet has no claim template named data")
		}
		size := quantityBytes(t, sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage])
		pct := sc.cachePercent
		if pct == 0 {
			pct = 90
		}
		if size*pct/100 != sc.cacheBytes {
			t.Errorf("worker volume %d bytes, --cache-size should be %d%% of it: %d", size, pct, sc.cacheBytes)
		}
		return
	}
	if hostPath == nil {
		t.Fatal("worker has neither a claim template nor a hostPath for data")
	}
	if sc.workers > 0 {
		// Several workers of a StatefulSet may share a node.
		for _, m := range c.VolumeMounts {
			if m.Name == "data" && m.SubPathExpr != "$(POD_NAME)" {
				t.Errorf("StatefulSet workers on hostPath share one directory: %+v", m)
			}
		}
	}
}

// checkCoordinatorURLs: a URL per coordinator replica, on the API port.
func checkCoordinatorURLs(t *testing.T, list string, sc scenario) {
	t.Helper()
	urls := strings.Split(list, ",")
	if len(urls) != sc.coordinators {
		t.Fatalf("%d coordinator URLs, want %d: %q", len(urls), sc.coordinators, list)
	}
	for i, u := range urls {
		want := fmt.Sprintf("%s://%s.%s:8000", scheme(sc), podName(coordSTS, i), podDomain)
		if u != want {
			t.Errorf("coordinator URL %q, want %q", u, want)
		}
	}
}

// checkFuse: a privileged root DaemonSet mounting under a hostPath shared
// with the node (Bidirectional), with the coordinators' URLs.
func checkFuse(t *testing.T, r *rendered, sc scenario) {
	ds, ok := r.objs["DaemonSet"][fuseName].(*appsv1.DaemonSet)
	if ok != sc.fuse {
		t.Fatalf("FUSE DaemonSet rendered %v, want %v", ok, sc.fuse)
	}
	if !ok {
		return
	}
	c := onlyContainer(t, ds.Spec.Template.Spec)
	if len(c.Command) != 3 || c.Command[0] != "/alluvium" || c.Command[1] != "fuse" {
		t.Fatalf("fuse command %q", c.Command)
	}
	mountPoint := c.Command[2]
	checkCoordinatorURLs(t, mustFlag(t, c, "coordinator"), sc)
	s := c.SecurityContext
	if s == nil || s.Privileged == nil || !*s.Privileged || s.RunAsUser == nil || *s.RunAsUser != 0 {
		t.Errorf("FUSE must run privileged as root (it mounts directly, without fusermount3): %+v", s)
	}
	var shared *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if strings.HasPrefix(mountPoint, m.MountPath+"/") {
			shared = &c.VolumeMounts[i]
		}
	}
	if shared == nil || shared.MountPropagation == nil || *shared.MountPropagation != corev1.MountPropagationBidirectional {
		t.Fatalf("mount point %s is not under a Bidirectional mount: %+v", mountPoint, c.VolumeMounts)
	}
	for _, v := range ds.Spec.Template.Spec.Volumes {
		if v.Name == shared.Name && (v.HostPath == nil || v.HostPath.Path != shared.MountPath) {
			t.Errorf("volume %s is not the node's %s: %+v", v.Name, shared.MountPath, v)
		}
	}
	if !contains(c.Args, "--allow-other") {
		t.Error("FUSE mount without --allow-other: only root could read it")
	}
}

func scheme(sc scenario) string {
	if sc.tls {
		return "https"
	}
	return "http"
}
