package chart

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// validated is the answer of `alluvium <command> --validate`.
type validated struct {
	Command string         `json:"command"`
	Config  map[string]any `json:"config"`
}

// runValidate runs the binary's --validate on argv (the container's command
// after /alluvium, then its args) with exactly env.
func runValidate(argv []string, env map[string]string) (stdout, stderr string, err error) {
	cmd := exec.Command(alluviumBin, append(append([]string{}, argv...), "--validate")...)
	cmd.Env = []string{}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	sort.Strings(cmd.Env)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// skipWithoutValidate skips when the binary does not know --validate yet
// (it is being built on another branch).
func skipWithoutValidate(t *testing.T) {
	t.Helper()
	_, stderr, err := runValidate([]string{"coordinator", "--id", "c1", "--data-dir", "/data"}, nil)
	if err != nil && strings.Contains(stderr, "unknown flag: --validate") {
		t.Skip("this alluvium binary has no --validate yet (branch k8sval): the containers' command lines are not checked")
	}
}

// TestContainersPassValidate runs every rendered alluvium container's
// command line, with its environment resolved as the kubelet would (pod
// name and IP, Secrets, $(VAR)), through the real binary's --validate.
func TestContainersPassValidate(t *testing.T) {
	skipWithoutValidate(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			r, err := renderChart(parseValues(t, sc.values))
			if err != nil {
				t.Fatal(err)
			}
			pods := alluviumPods(r)
			if want := 2 + map[bool]int{true: 1}[sc.fuse]; len(pods) != want {
				t.Fatalf("%d alluvium pod templates, want %d", len(pods), want)
			}
			for _, p := range pods {
				c := p.tpl.Spec.Containers[0]
				// The pod's Secret files, under root: --validate reads the
				// tokens and S3 credentials files.
				root := writeSecretFiles(t, r, sc, p.tpl.Spec, c)
				env := containerEnv(t, r, sc, c, p.pod)
				for k, v := range env {
					env[k] = strings.ReplaceAll(v, secretDir, root+secretDir)
				}
				var argv []string
				for _, a := range append(c.Command[1:], c.Args...) {
					argv = append(argv, strings.ReplaceAll(expand(a, env), secretDir, root+secretDir))
				}
				stdout, stderr, err := runValidate(argv, env)
				if err != nil {
					t.Fatalf("%s: alluvium %q --validate: %v\n%s", p.component, argv, err, stderr)
				}
				var v validated
				if err := json.Unmarshal([]byte(stdout), &v); err != nil {
					t.Fatalf("%s: --validate printed %q: %v", p.component, stdout, err)
				}
				if v.Command != c.Command[1] || len(v.Config) == 0 {
					t.Errorf("%s: --validate says command %q config %v, want %q and a config", p.component, v.Command, v.Config, c.Command[1])
				}
			}
		})
	}
}

// TestValidateRefusesBadCommandLines shows --validate failing on the
// mistakes a template could make, naming the flag or variable, so that
// TestContainersPassValidate can fail.
func TestValidateRefusesBadCommandLines(t *testing.T) {
	skipWithoutValidate(t)
	r, err := renderChart(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := r.statefulSet(t, workerName).Spec.Template.Spec.Containers[0]
	good := append(c.Command[1:], c.Args...)
	env := podEnv(podName(workerName, 0))
	for i, a := range good {
		good[i] = expand(a, env)
	}
	cases := []struct {
		name  string
		argv  []string
		env   map[string]string
		wants string
	}{
		{"size in Kubernetes units", replaceFlag(good, "cache-size", "45Gi"), env, "cache-size"},
		{"port out of range", replaceFlag(good, "http-addr", "0.0.0.0:90000"), env, "http-addr"},
		{"unknown flag", append(good, "--cache-sise=1GiB"), env, "cache-sise"},
		{"bad environment", good, map[string]string{"ALLUVIUM_PAGE_SIZE": "lots"}, "ALLUVIUM_PAGE_SIZE"},
		{"missing credentials file", append(good, "--s3-addr=0.0.0.0:9100", "--s3-credentials=/etc/alluvium/s3/credentials"), env, "s3-credentials"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := runValidate(c.argv, c.env)
			if err == nil || !strings.Contains(stderr, c.wants) {
				t.Fatalf("--validate: %v, stderr %q; want a failure naming %q", err, stderr, c.wants)
			}
		})
	}
}

// replaceFlag returns argv with --name's value set to v.
func replaceFlag(argv []string, name, v string) []string {
	out := append([]string{}, argv...)
	for i, a := range out {
		if strings.HasPrefix(a, "--"+name+"=") {
			out[i] = "--" + name + "=" + v
		}
	}
	return out
}

// secretDir is where the chart mounts every Secret.
const secretDir = "/etc/alluvium/"

// writeSecretFiles writes the files c's Secret volumes hold (from the
// rendered or existing Secrets) under a new directory, at their mount
// paths, and returns the directory.
func writeSecretFiles(t *testing.T, r *rendered, sc scenario, spec corev1.PodSpec, c corev1.Container) string {
	t.Helper()
	root := t.TempDir()
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			files := map[string]string{}
			for _, it := range v.Secret.Items {
				files[it.Path] = it.Key
			}
			if len(files) == 0 { // a TLS Secret: every key
				for k := range sc.existing[v.Secret.SecretName] {
					files[k] = k
				}
				for _, k := range []string{"tls.crt", "tls.key", "ca.crt"} {
					files[k] = k
				}
			}
			dir := filepath.Join(root, m.MountPath)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			for path, key := range files {
				body, ok := secretValue(r, sc, v.Secret.SecretName, key)
				if !ok {
					t.Fatalf("Secret %s has no key %s", v.Secret.SecretName, key)
				}
				if err := os.WriteFile(filepath.Join(dir, path), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return root
}
