package chart

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// podIP stands for status.podIP in the downward API.
const podIP = "10.244.1.7"

// podEnv is what the downward API gives a pod named pod.
func podEnv(pod string) map[string]string {
	return map[string]string{"POD_NAME": pod, "POD_IP": podIP}
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand replaces $(VAR) as the kubelet does in command, args and env
// values (an unknown reference stays as written).
func expand(s string, env map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// secretValue finds key of Secret name among the rendered Secrets, then
// among the scenario's existing ones.
func secretValue(r *rendered, sc scenario, name, key string) (string, bool) {
	if s, ok := r.objs["Secret"][name].(*corev1.Secret); ok {
		if v, ok := s.StringData[key]; ok {
			return v, true
		}
		v, ok := s.Data[key]
		return string(v), ok
	}
	v, ok := sc.existing[name][key]
	return v, ok
}

// containerEnv resolves c's environment in the pod named pod, as the
// kubelet would: downward API fields, Secrets, then $(VAR) references to
// earlier variables.
func containerEnv(t *testing.T, r *rendered, sc scenario, c corev1.Container, pod string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		v := expand(e.Value, env)
		switch {
		case e.ValueFrom == nil:
		case e.ValueFrom.FieldRef != nil:
			f, ok := map[string]string{"metadata.name": pod, "status.podIP": podIP}[e.ValueFrom.FieldRef.FieldPath]
			if !ok {
				t.Fatalf("%s: env %s from unexpected field %s", c.Name, e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
			v = f
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			s, ok := secretValue(r, sc, ref.Name, ref.Key)
			if !ok {
				t.Fatalf("%s: env %s from Secret %s key %s, which does not exist", c.Name, e.Name, ref.Name, ref.Key)
			}
			v = s
		default:
			t.Fatalf("%s: env %s from an unexpected source %+v", c.Name, e.Name, e.ValueFrom)
		}
		env[e.Name] = v
	}
	return env
}

// mountedFile reports whether path is a key of a Secret volume mounted in
// c (has says whether a Secret holds a key).
func mountedFile(spec corev1.PodSpec, c corev1.Container, path string, has func(secret, key string) bool) bool {
	dir, file := filepath.Split(path)
	for _, m := range c.VolumeMounts {
		if filepath.Clean(m.MountPath) != filepath.Clean(dir) {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			if len(v.Secret.Items) == 0 {
				return has(v.Secret.SecretName, file) // every key, under its own name
			}
			for _, it := range v.Secret.Items {
				if it.Path == file {
					return true
				}
			}
		}
	}
	return false
}

// alluviumPod is a rendered pod template running the binary, with a pod
// name to stand for it.
type alluviumPod struct {
	component string
	tpl       corev1.PodTemplateSpec
	pod       string
}

func alluviumPods(r *rendered) []alluviumPod {
	var pods []alluviumPod
	for name, o := range r.objs["StatefulSet"] {
		pods = append(pods, alluviumPod{strings.TrimPrefix(name, "alluvium-"), o.(*appsv1.StatefulSet).Spec.Template, podName(name, 0)})
	}
	for name, o := range r.objs["DaemonSet"] {
		pods = append(pods, alluviumPod{strings.TrimPrefix(name, "alluvium-"), o.(*appsv1.DaemonSet).Spec.Template, name + "-x7k2p"})
	}
	return pods
}

// checkSecretRefs: every Secret a pod names (env or volume) exists, rendered
// or given as existing, with the keys asked for; every file an ALLUVIUM_*
// variable or flag names under /etc/alluvium is a mounted Secret's key.
func checkSecretRefs(t *testing.T, r *rendered, sc scenario) {
	for _, p := range alluviumPods(r) {
		for _, v := range p.tpl.Spec.Volumes {
			if v.Secret == nil {
				continue
			}
			for _, it := range v.Secret.Items {
				if _, ok := secretValue(r, sc, v.Secret.SecretName, it.Key); !ok {
					t.Errorf("%s: volume %s asks Secret %s for key %s, which it does not have", p.component, v.Name, v.Secret.SecretName, it.Key)
				}
			}
			if len(v.Secret.Items) == 0 {
				for _, k := range []string{"tls.crt", "tls.key", "ca.crt"} {
					if _, ok := secretValue(r, sc, v.Secret.SecretName, k); !ok {
						t.Errorf("%s: TLS Secret %s has no %s", p.component, v.Secret.SecretName, k)
					}
				}
			}
		}
		c := p.tpl.Spec.Containers[0]
		env := containerEnv(t, r, sc, c, p.pod)
		files := []string{}
		for k, v := range env {
			if strings.HasPrefix(k, "ALLUVIUM_") && strings.HasPrefix(v, "/etc/alluvium/") {
				files = append(files, v)
			}
		}
		for _, a := range c.Args {
			if _, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(v, "/etc/alluvium/") {
				files = append(files, v)
			}
		}
		has := func(secret, key string) bool { _, ok := secretValue(r, sc, secret, key); return ok }
		for _, f := range files {
			if !mountedFile(p.tpl.Spec, c, f, has) {
				t.Errorf("%s: %s is no key of a mounted Secret", p.component, f)
			}
		}
		_, raftCA := flagValue(c.Args, "raft-tls-ca")
		if raftCA != (sc.raftCA && p.component == "coordinator") {
			t.Errorf("%s: --raft-tls-ca given %v", p.component, raftCA)
		}
		for _, v := range p.tpl.Spec.Volumes {
			want := map[bool]string{true: sc.workerTLSSecret}[p.component != "coordinator"]
			if v.Name == "tls" && want != "" && v.Secret.SecretName != want {
				t.Errorf("%s: TLS from Secret %s, want %s", p.component, v.Secret.SecretName, want)
			}
		}
		_, hasToken := env["ALLUVIUM_AUTH_TOKEN"]
		_, hasTLS := env["ALLUVIUM_TLS_CA"]
		if hasToken != sc.auth || hasTLS != sc.tls {
			t.Errorf("%s: token %v TLS %v, want %v %v", p.component, hasToken, hasTLS, sc.auth, sc.tls)
		}
	}
}

// checkServiceMonitor: scrapes /metrics on the port named http of the
// headless Services, which exist and have it.
func checkServiceMonitor(t *testing.T, r *rendered, sc scenario) {
	sm, ok := r.objs["ServiceMonitor"]["alluvium"].(*serviceMonitor)
	if ok != sc.serviceMonitor {
		t.Fatalf("ServiceMonitor rendered %v, want %v", ok, sc.serviceMonitor)
	}
	if !ok {
		return
	}
	var selected []string
	for name, o := range r.objs["Service"] {
		svc := o.(*corev1.Service)
		match := true
		for k, v := range sm.Spec.Selector.MatchLabels {
			match = match && svc.Labels[k] == v
		}
		if match {
			selected = append(selected, name)
		}
	}
	if len(selected) != 2 || !contains(selected, coordHeadless) || !contains(selected, "alluvium-worker-headless") {
		t.Errorf("ServiceMonitor selects %v, want the two headless Services", selected)
	}
	e := sm.Spec.Endpoints[0]
	if e.Port != "http" || e.Path != "/metrics" || e.Scheme != scheme(sc) {
		t.Errorf("ServiceMonitor endpoint %+v", e)
	}
	if sc.scoped && (e.Authorization == nil || e.Authorization.Credentials == nil) {
		t.Error("with scoped tokens /metrics needs a token, and the ServiceMonitor sends none")
	}
}
