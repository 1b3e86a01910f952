package archtest

import (
	"go/build"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/alluvium/alluvium/"

// persisted are the packages that hold the Raft encoding and its
// dependencies: the data plane, the API layer and the Go client must not
// reach them, so that a change of the encoding never changes the REST API
// and the client stays small.
var persisted = []string{
	module + "fsm",
	"github.com/google/btree",
	"github.com/vmihailenco/msgpack/v5",
	"github.com/oklog/ulid/v2",
}

// imports returns the non-test imports of the module's package at dir
// (relative to the module root).
func imports(t *testing.T, dir string) []string {
	t.Helper()
	p, err := build.ImportDir(filepath.Join("..", "..", dir), 0)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return p.Imports
}

// deps returns the transitive non-test imports of the module's package at
// dir: the module's own packages are followed, others are listed.
func deps(t *testing.T, dir string) []string {
	t.Helper()
	seen := map[string]bool{}
	var walk func(dir string)
	walk = func(dir string) {
		for _, imp := range imports(t, dir) {
			if seen[imp] {
				continue
			}
			seen[imp] = true
			if rel, ok := strings.CutPrefix(imp, module); ok {
				walk(rel)
			}
		}
	}
	walk(dir)
	out := make([]string, 0, len(seen))
	for imp := range seen {
		out = append(out, imp)
	}
	sort.Strings(out)
	return out
}

// TestNoStateMachineOutsideTheCoordinator: api, client, httpapi, cache,
// ufs, worker (and the vocabulary package) import neither fsm nor what the
// persisted encoding is made of, directly or through another package.
func TestNoStateMachineOutsideTheCoordinator(t *testing.T) {
	for _, dir := range []string{"policy", "api", "client", "httpapi", "cache", "ufs", "worker", "ring", "apath", "fusefs"} {
		for _, imp := range deps(t, dir) {
			if slices.Contains(persisted, imp) {
				t.Errorf("%s depends on %s; only the coordinator (and cmd, to wire it) may", dir, imp)
			}
		}
	}
}

// TestVocabularyIsALeaf: policy imports the standard library alone, so
// that every package may speak it.
func TestVocabularyIsALeaf(t *testing.T) {
	for _, imp := range imports(t, "policy") {
		if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
			t.Errorf("policy imports %s; it must stay a leaf of the standard library", imp)
		}
	}
}

// TestHTTPAPIImportsOnlyTheWireTypes: httpapi speaks api and the shared
// vocabulary, through the one JSON-over-HTTP helper, and nothing else of
// ours (it never reaches the coordinator); the helper itself knows only the
// wire types.
func TestHTTPAPIImportsOnlyTheWireTypes(t *testing.T) {
	for _, imp := range imports(t, "internal/jsonhttp") {
		if strings.HasPrefix(imp, module) && imp != module+"api" {
			t.Errorf("internal/jsonhttp imports %s; it may import only api of this module", imp)
		}
	}
	allowed := []string{module + "api", module + "policy", module + "apath", module + "internal/jsonhttp"}
	for _, imp := range imports(t, "httpapi") {
		if strings.HasPrefix(imp, module) && !slices.Contains(allowed, imp) {
			t.Errorf("httpapi imports %s; it may import only %v of this module", imp, allowed)
		}
	}
}

// TestArrowsPointDown: the lower packages never import the ones above them.
func TestArrowsPointDown(t *testing.T) {
	upper := []string{module + "coordinator", module + "worker", module + "httpapi", module + "cmd/alluvium", "github.com/hashicorp/raft"}
	for _, dir := range []string{"fsm", "ring", "cache", "ufs", "policy", "api", "client"} {
		for _, imp := range deps(t, dir) {
			if slices.Contains(upper, imp) {
				t.Errorf("%s depends on %s, a package above it", dir, imp)
			}
		}
	}
}
