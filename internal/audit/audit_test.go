package audit_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/audit"
)

// TestFileLines: the file is created 0600 and holds one whole JSON line per
// event, however many goroutines record at once.
func TestFileLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := audit.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			l.Record(api.AuditEvent{Caller: "ops", Method: "POST", Route: "/api/v1/mount", Status: 200 + i})
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	for _, line := range lines {
		var e api.AuditEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Caller != "ops" {
			t.Fatalf("line %q: %v", line, err)
		}
	}
}
