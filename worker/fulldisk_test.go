package worker

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/internal/testcluster"
	"github.com/alluvium/alluvium/internal/tmpfs"
)

// TestShrunkDiskReachesTheCoordinators: a worker configured with far more
// than its 16 MiB disk registers with what the disk holds; when something
// else then fills half the disk, its reads still succeed (it evicts to
// fit), and the smaller capacity reaches the membership through its
// heartbeats, so the ring weighs it by what it can really hold.
func TestShrunkDiskReachesTheCoordinators(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	disk := tmpfs.Mount(t, "16m")
	c := testcluster.Start(t, 1, testcluster.Options{})
	c.WaitPublished()
	base := c.Nodes[0].URL()
	files := map[string]int{}
	for i := range 48 { // 24 MiB, more than the disk
		files[fmt.Sprintf("f%02d", i)] = 512 << 10
	}
	ufs := ufsDir(t, files)
	if code := coordinatorCall(t, "POST", base+"/api/v1/mount", "", api.Mount{Path: "/m", UFS: "file://" + ufs}, nil); code != 200 {
		t.Fatalf("mount: %d", code)
	}
	w := startServedWith(t, []string{base}, "", func(cfg *Config) {
		cfg.DataDir = filepath.Join(disk, "worker")
		cfg.CapacityBytes = 1 << 30
	})
	capacityOf := func() int64 {
		var n api.Node
		if coordinatorCall(t, "GET", base+"/api/v1/nodes?id="+w.ID(), "", nil, &n) != 200 {
			return -1
		}
		return n.CapacityBytes
	}
	atStart := w.Cache().Capacity()
	if atStart >= 16<<20 || atStart < 8<<20 {
		t.Fatalf("capacity at start on a 16 MiB disk: %d", atStart)
	}
	waitFor(t, 10*time.Second, "the registered capacity, the ring and the mount", func() bool {
		return capacityOf() == atStart && w.Ring().Len() == 1 && len(w.Policies().Mounts) == 1
	})

	// Another tenant takes 8 MiB of the disk.
	if err := os.WriteFile(filepath.Join(disk, "other-tenant"), make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for name, size := range files {
		resp, err := client.Get("http://" + w.cfg.HTTPAddress + "/api/v1/data/m/" + name)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != int64(size) {
			t.Fatalf("read %s: %d, %d bytes of %d", name, resp.StatusCode, n, size)
		}
	}
	shrunk := w.Cache().Capacity()
	if shrunk > 8<<20 {
		t.Fatalf("capacity %d after the disk lost 8 MiB of its 16", shrunk)
	}
	waitFor(t, 10*time.Second, "the smaller capacity in the membership", func() bool { return capacityOf() == shrunk })
}
