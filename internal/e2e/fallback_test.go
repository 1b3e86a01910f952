package e2e

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/internal/testcluster"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/worker"
)

// A client reads from the owner on the ring and, when the owner is down but
// not yet LOST, from the next replica.
func TestClientFallsBackToTheNextReplica(t *testing.T) {
	tc := testcluster.Start(t, 3, testcluster.Options{})
	tc.WaitPublished()
	var urls []string
	for _, m := range tc.Nodes {
		urls = append(urls, m.URL())
	}
	c, err := client.New(urls)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ufsDir := t.TempDir()
	e := &env{t: t, tc: tc, ufs: ufsDir, c: c}
	var nodes []*workernode.Node
	for range 2 {
		cfg := worker.DefaultConfig()
		cfg.DataDir, cfg.Coordinators = t.TempDir(), urls
		cfg.HeartbeatInterval, cfg.PolicyWait = 200*time.Millisecond, 5*time.Second
		n, err := workernode.Start(cfg, nil, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
		t.Cleanup(func() { n.Close() })
	}
	e.eventually("two LIVE workers", func() bool {
		ns, err := c.Nodes(ctx)
		live := 0
		for _, n := range ns.Results {
			if n.State == "LIVE" {
				live++
			}
		}
		return err == nil && live == 2
	})
	if _, err := c.AddMount(ctx, api.Mount{Path: "/data", UFS: "file://" + ufsDir}); err != nil {
		t.Fatal(err)
	}
	e.w = nodes[0]
	e.synced()
	e.w = nodes[1]
	e.synced()
	want := e.put("f.bin", 3*page+5)

	r, err := c.Open(ctx, "/data/f.bin", "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, want) {
		t.Fatal("first read differs")
	}
	owner := r.Worker
	for _, n := range nodes { // stop the owner; it stays LIVE until its timeout
		if n.Worker.ID() == owner {
			n.Close()
		}
	}
	r, err = c.Open(ctx, "/data/f.bin", "bytes=1-10")
	if err != nil {
		t.Fatalf("read with the owner down: %v", err)
	}
	got, _ = io.ReadAll(r)
	r.Close()
	if r.Worker == owner || !bytes.Equal(got, want[1:11]) {
		t.Fatalf("read with the owner down: served by %s (owner %s), %d bytes", r.Worker, owner, len(got))
	}
}
