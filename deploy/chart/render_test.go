package chart

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/release"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// chartDir is the chart under test, relative to this package.
const chartDir = "../helm/alluvium"

// Release name and namespace of every render.
const (
	releaseName = "alluvium"
	namespace   = "data"
)

// serviceMonitor is the part of prometheus-operator's ServiceMonitor the
// chart writes: its CRD is no k8s.io/api type, so it is decoded (strictly)
// into the fields the operator documents for monitoring.coreos.com/v1.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port      string `json:"port"`
			Path      string `json:"path"`
			Interval  string `json:"interval"`
			Scheme    string `json:"scheme"`
			TLSConfig *struct {
				CA struct {
					Secret *corev1.SecretKeySelector `json:"secret"`
				} `json:"ca"`
				ServerName string `json:"serverName"`
			} `json:"tlsConfig,omitempty"`
			Authorization *struct {
				Type        string                    `json:"type"`
				Credentials *corev1.SecretKeySelector `json:"credentials"`
			} `json:"authorization,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// kinds maps each kind the chart may render to its API version and a new
// typed object: anything else fails the test.
var kinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"Service":             {"v1", func() any { return &corev1.Service{} }},
	"Secret":              {"v1", func() any { return &corev1.Secret{} }},
	"StatefulSet":         {"apps/v1", func() any { return &appsv1.StatefulSet{} }},
	"DaemonSet":           {"apps/v1", func() any { return &appsv1.DaemonSet{} }},
	"PodDisruptionBudget": {"policy/v1", func() any { return &policyv1.PodDisruptionBudget{} }},
	"ServiceMonitor":      {"monitoring.coreos.com/v1", func() any { return &serviceMonitor{} }},
}

// kubeVersion is the cluster the chart is rendered for: a current release
// (Helm's client-only default is v1.20, older than the chart supports).
var kubeVersion = func() *common.KubeVersion {
	v, err := common.ParseKubeVersion("v1.33.0")
	if err != nil {
		panic(err)
	}
	return v
}()

// rendered is one install's objects, decoded, by kind and name.
type rendered struct {
	objs  map[string]map[string]any // kind -> name -> typed object
	notes string
}

func (r *rendered) statefulSet(t *testing.T, name string) *appsv1.StatefulSet {
	t.Helper()
	o, ok := r.objs["StatefulSet"][name].(*appsv1.StatefulSet)
	if !ok {
		t.Fatalf("no StatefulSet %s among %v", name, r.names())
	}
	return o
}

func (r *rendered) service(t *testing.T, name string) *corev1.Service {
	t.Helper()
	o, ok := r.objs["Service"][name].(*corev1.Service)
	if !ok {
		t.Fatalf("no Service %s among %v", name, r.names())
	}
	return o
}

func (r *rendered) names() []string {
	var out []string
	for k, m := range r.objs {
		for n := range m {
			out = append(out, k+"/"+n)
		}
	}
	return out
}

// renderChart renders the chart as `helm install --dry-run=client` does,
// through Helm's SDK, and decodes every document strictly.
func renderChart(values map[string]any) (*rendered, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	inst := action.NewInstall(action.NewConfiguration())
	inst.DryRunStrategy = action.DryRunClient
	inst.ReleaseName, inst.Namespace, inst.Replace = releaseName, namespace, true
	inst.KubeVersion = kubeVersion
	rel, err := inst.Run(ch, values)
	if err != nil {
		return nil, err
	}
	acc, err := release.NewAccessor(rel)
	if err != nil {
		return nil, err
	}
	if len(acc.Hooks()) != 0 {
		return nil, fmt.Errorf("the chart has %d hooks; it should have none", len(acc.Hooks()))
	}
	r := &rendered{objs: map[string]map[string]any{}, notes: acc.Notes()}
	for _, doc := range strings.Split(acc.Manifest(), "\n---") {
		if err := r.decode(doc); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// decode adds one YAML document: its kind and apiVersion must be known, and
// every field must be one of its type's (unknown fields fail).
func (r *rendered) decode(doc string) error {
	js, err := yaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		return fmt.Errorf("%w in:\n%s", err, doc)
	}
	if string(js) == "null" {
		return nil // a comment only
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return err
	}
	k, ok := kinds[tm.Kind]
	if !ok || k.apiVersion != tm.APIVersion {
		return fmt.Errorf("unexpected object %s %s in:\n%s", tm.APIVersion, tm.Kind, doc)
	}
	// As the API server decodes: field names case-sensitive, unknown and
	// repeated fields refused.
	obj := k.new()
	strict, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err == nil && len(strict) > 0 {
		err = errors.Join(strict...)
	}
	if err != nil {
		return fmt.Errorf("%s: %w in:\n%s", tm.Kind, err, doc)
	}
	name := obj.(metav1.Object).GetName()
	if r.objs[tm.Kind] == nil {
		r.objs[tm.Kind] = map[string]any{}
	}
	if _, dup := r.objs[tm.Kind][name]; dup {
		return fmt.Errorf("two %s named %s", tm.Kind, name)
	}
	r.objs[tm.Kind][name] = obj
	return nil
}

// TestStrictDecodeRefusesUnknownFields shows that the decoder the chart's
// tests rely on fails on a misspelt field, so that a typo in a template
// cannot pass as a valid object.
func TestStrictDecodeRefusesUnknownFields(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"misspelt field", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIp: None}\n", "unknown field"},
		{"field at the wrong level", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: a}\nspec: {template: {spec: {image: x}}}\n", "unknown field"},
		{"unknown kind", "apiVersion: v1\nkind: ConfigMapp\nmetadata: {name: a}\n", "unexpected object"},
		{"wrong apiVersion", "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: a}\n", "unexpected object"},
		{"duplicate field", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: ClusterIP, type: NodePort}\n", "already set"},
		{"wrong type", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: http}]}\n", "cannot unmarshal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &rendered{objs: map[string]map[string]any{}}
			err := r.decode(c.doc)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("decode: %v, want an error with %q", err, c.want)
			}
		})
	}
}
