package client_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/node"
)

// Mount a UFS, give a directory a quota, and load it; submitting the same
// load again after stopping it resumes the job rather than starting another.
func Example() {
	url, stop := startCoordinator() // in real life: `alluvium dev`, or your cluster's URLs
	defer stop()

	c, err := client.New([]string{url})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	ufsDir, _ := os.MkdirTemp("", "alluvium-ufs-") // the coordinator checks that a UFS exists
	defer os.RemoveAll(ufsDir)
	if _, err := c.AddMount(ctx, api.Mount{Path: "/data", UFS: "file://" + ufsDir}); err != nil {
		fmt.Println(err)
		return
	}
	q, err := c.SetQuota(ctx, "/data/team-a", 50<<30)
	fmt.Println("quota:", api.Size(q.QuotaBytes), err)

	_, err = c.SetQuota(ctx, "/elsewhere", 1<<30)
	fmt.Println("refused:", err)

	job, err := c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/team-a"}, Alias: "team-a"})
	fmt.Println("load:", job.State, err)
	if _, err := c.StopLoad(ctx, client.ByAlias("team-a")); err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.SubmitLoad(ctx, api.LoadRequest{Paths: []string{"/data/team-a"}, Alias: "team-a"})
	fmt.Println("resubmitted: conflict", client.IsConflict(err), "same job", client.ConflictID(err) == job.ID)
	// Output:
	// quota: 50GiB <nil>
	// refused: /elsewhere is not under any mount point
	// load: WAITING <nil>
	// resubmitted: conflict true same job true
}

// startCoordinator starts a one-node coordinator with its API on loopback,
// as `alluvium dev --coordinators 1` would, and returns its URL.
func startCoordinator() (url string, stop func()) {
	dir, err := os.MkdirTemp("", "alluvium-example-")
	if err != nil {
		panic(err)
	}
	raftLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	cfg := coordinator.DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.RaftListener = "c1", dir, raftLn
	cfg.Bootstrap = []coordinator.Peer{{ID: "c1", Address: raftLn.Addr().String()}}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := node.Start(node.Config{Coordinator: cfg, API: httpapi.DefaultOptions(), HTTPBind: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := n.Coordinator.WaitLeader(ctx); err != nil {
		panic(err)
	}
	for !n.Coordinator.IsLeader() { // leads, with the log of earlier terms applied
		if ctx.Err() != nil {
			panic("no leader ready for writes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return n.URL, func() { n.Close(); os.RemoveAll(dir) }
}
