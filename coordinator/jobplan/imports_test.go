package jobplan

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the planner pure: nothing it imports, directly or not,
// runs Raft or speaks HTTP.
func TestImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool:", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/hashicorp/raft") || dep == "net/http" ||
			strings.HasPrefix(dep, "github.com/alluvium/alluvium/coordinator") && dep != "github.com/alluvium/alluvium/coordinator/jobplan" {
			t.Errorf("jobplan depends on %s", dep)
		}
	}
}
