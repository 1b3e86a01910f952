package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
)

func TestIndexFileIfChangedAndUnreadableFiles(t *testing.T) {
	t.Parallel()
	e, ws := cluster3(t)
	ctx := context.Background()
	for i := range 10 {
		e.put(fmt.Sprintf("ix/f%d", i), page+i)
	}
	// An index file: one path a line (Alluxio paths or UFS URIs), comments
	// and blank lines skipped.
	index := "# the files to warm\n/data/ix/f1\n\nfile://" + filepath.Join(e.ufs, "ix/f2") + "\n/data/ix/f3\n"
	os.WriteFile(filepath.Join(e.ufs, "list.txt"), []byte(index), 0o644)
	if _, err := e.c.SubmitLoad(ctx, api.LoadRequest{Index: "/data/list.txt"}); err != nil {
		t.Fatal(err)
	}
	j := e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByIndex("/data/list.txt")) })
	if j.State != "SUCCEEDED" || j.ScannedFiles != 3 || j.LoadedBytes != int64(3*page+1+2+3) {
		t.Fatalf("index load: %+v", j)
	}
	cachedAnywhere := func(p string) bool {
		for _, w := range ws {
			if st, ok := w.Worker.Cache().Stat(p); ok && st.Complete() {
				return true
			}
		}
		return false
	}
	if !cachedAnywhere("/data/ix/f2") || cachedAnywhere("/data/ix/f4") {
		t.Fatal("the index load cached the wrong files")
	}

	// IF_CHANGED: only the file that changed is loaded again.
	if _, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/ix"}, Alias: "ix"}); err != nil {
		t.Fatal(err)
	}
	e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias("ix")) })
	e.put("ix/f7", page+7) // new bytes, new mtime
	_, err := e.c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/ix"}, Alias: "ix", Options: &api.LoadOptions{LoadPolicy: "IF_CHANGED"}})
	if !client.IsConflict(err) {
		t.Fatalf("resubmit: %v", err)
	}
	j = e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByAlias("ix")) })
	if j.State != "SUCCEEDED" || j.LoadedFiles != 1 || j.LoadedBytes != page+7 || j.SkippedFiles != 9 {
		t.Fatalf("IF_CHANGED: %+v", j)
	}

	// A file the UFS cannot serve (here: named by an index, then gone)
	// fails the job, naming it and the reason; the other files load.
	os.WriteFile(filepath.Join(e.ufs, "bad.txt"), []byte("/data/ix/f5\n/data/ix/gone\n"), 0o644)
	if _, err := e.c.SubmitLoad(ctx, api.LoadRequest{Index: "/data/bad.txt"}); err != nil {
		t.Fatal(err)
	}
	j = e.waitJob(func() (api.Job, error) { return e.c.LoadJob(ctx, client.ByIndex("/data/bad.txt")) })
	if j.State != "FAILED" || j.FailedFiles != 1 || len(j.FailedFileSamples) != 1 ||
		j.FailedFileSamples[0].Path != "/data/ix/gone" || j.FailedFileSamples[0].Reason == "" || !strings.Contains(j.ErrorMessage, "failed") {
		t.Fatalf("unreadable file: %+v", j)
	}
}
