package chart

import (
	"maps"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
)

// TestHelmLint runs `helm lint`'s own code path on the chart with each
// scenario's values: no warning and no error.
func TestHelmLint(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			res := lint.RunAll(chartDir, parseValues(t, sc.values), namespace, lint.WithKubeVersion(kubeVersion))
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m.Error())
				}
			}
		})
	}
}

// TestBadValuesAreRefused: values the chart cannot honour fail the render
// with a message naming the value, rather than render a broken cluster.
func TestBadValuesAreRefused(t *testing.T) {
	cases := []struct{ name, values, want string }{
		{"unknown worker kind", `worker: {kind: Deployment}`, "worker.kind"},
		{"PVC on a DaemonSet", `worker: {kind: DaemonSet}`, "worker.cache.type pvc needs worker.kind StatefulSet"},
		{"unknown cache type", `worker: {cache: {type: emptyDir}}`, "worker.cache.type"},
		{"size with a byte unit", `worker: {cache: {size: 50GiB}}`, "worker.cache.size"},
		{"fractional size", `worker: {cache: {size: 1.5Ti}}`, "worker.cache.size"},
		{"percent over 100", `worker: {cache: {usePercent: 120}}`, "worker.cache.usePercent"},
		{"no coordinators", `coordinator: {replicas: 0}`, "coordinator.replicas"},
		{"unknown anti-affinity", `coordinator: {antiAffinity: always}`, "coordinator.antiAffinity"},
		{"auth without a token", `auth: {enabled: true}`, "auth.token"},
		{"scoped tokens without a file", `auth: {enabled: true, token: t, scopedTokens: true}`, "auth.tokensFile"},
		{"TLS without certificates", `tls: {enabled: true, cert: C}`, "tls.existingSecret"},
		{"Raft CA in a created Secret", `tls: {enabled: true, cert: C, key: K, ca: A, raftCAKey: raft-ca.crt}`, "need tls.existingSecret"},
		{"S3 key without secret", `s3: {enabled: true, credentials: [{accessKey: AK}]}`, "secretKey"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := renderChart(parseValues(t, c.values))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("render: %v, want an error naming %q", err, c.want)
			}
		})
	}
}

// TestImageTags: every component runs image.tag (appVersion by default),
// unless its own imageTag says otherwise, which is how coordinators are
// upgraded before workers.
func TestImageTags(t *testing.T) {
	cases := []struct {
		name, values                 string
		coordinator, worker, fuseTag string
	}{
		{"appVersion", `fuse: {enabled: true}`, "0.1.0", "0.1.0", "0.1.0"},
		{"image.tag", `{image: {tag: "1.2.0"}, fuse: {enabled: true}}`, "1.2.0", "1.2.0", "1.2.0"},
		{"workers held back", `{image: {tag: "1.2.0"}, worker: {imageTag: "1.1.0"}, fuse: {enabled: true, imageTag: "1.1.0"}}`, "1.2.0", "1.1.0", "1.1.0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := renderChart(parseValues(t, c.values))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, p := range alluviumPods(r) {
				got[p.component] = p.tpl.Spec.Containers[0].Image
			}
			want := map[string]string{
				"coordinator": "ghcr.io/alluvium/alluvium:" + c.coordinator,
				"worker":      "ghcr.io/alluvium/alluvium:" + c.worker,
				"fuse":        "ghcr.io/alluvium/alluvium:" + c.fuseTag,
			}
			if !maps.Equal(got, want) {
				t.Errorf("images %v, want %v", got, want)
			}
		})
	}
}
