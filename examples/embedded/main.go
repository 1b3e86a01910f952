// Command embedded is a Go service of your own that embeds an Alluvium
// coordinator: one process serves your routes, Alluvium's REST API under
// /api/v1 and the dashboard at /, on one router and one port.
//
// This is the library use of Alluvium. coordinator.New starts a Raft node
// (here a cluster of one, bootstrapped on first start; give every replica
// the same Bootstrap list for three), httpapi.Register mounts the API routes
// on your router through the small httpapi.Router interface (httprouter and
// http.ServeMux adapters are provided), and dashboard.Register adds the
// operator's page. Your handlers can use the coordinator directly: Apply a
// command on the leader, or read its replicated state with FSM() after
// ConsistentRead for a linearizable answer. Workers join with
// `alluvium worker --coordinators http://127.0.0.1:8080`, and the CLI talks
// to it with `alluvium --coordinator http://127.0.0.1:8080 status`.
//
// Run it with:
//
//	go run ./examples/embedded -addr 127.0.0.1:8080
//	curl localhost:8080/hello
//	curl localhost:8080/teams
//	curl -X POST localhost:8080/api/v1/mount -d '{"path": "/data", "ufs": "file:///tmp"}'
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/dashboard"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/julienschmidt/httprouter"
)

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address of the service (your routes, /api/v1 and the dashboard)")
	flag.StringVar(&o.raftAddr, "raft-addr", "127.0.0.1:7070", "address of the coordinator's Raft transport")
	flag.StringVar(&o.dataDir, "data-dir", "", "Raft log and snapshots (default: a temporary directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, o, func(url string) { fmt.Println("serving on", url) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedded:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, raftAddr, dataDir string
	logger                  *slog.Logger
}

// run serves until ctx ends; ready is called with the service's URL once
// the coordinator leads and the routes are served.
func run(ctx context.Context, o options, ready func(url string)) error {
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if o.dataDir == "" {
		dir, err := os.MkdirTemp("", "alluvium-embedded-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.dataDir = dir
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	raftLn, err := net.Listen("tcp", o.raftAddr)
	if err != nil {
		ln.Close()
		return err
	}

	cfg := coordinator.DefaultConfig()
	cfg.ID = "c1"
	cfg.DataDir = o.dataDir
	cfg.RaftListener = raftLn
	cfg.HTTPAddress = ln.Addr().String() // where peers forward writes: this service
	cfg.Bootstrap = []coordinator.Peer{{ID: cfg.ID, Address: raftLn.Addr().String()}}
	cfg.Logger = o.logger
	co, err := coordinator.New(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer co.Shutdown()

	router := httprouter.New()
	// Your own routes first...
	router.GET("/hello", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		leader, err := co.Leader()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "Hello from a service with a coordinator inside; the leader is %s.\n", leader.ID)
	})
	router.GET("/teams", func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		teams, err := quotaReport(r.Context(), co)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(teams)
	})
	// ...then Alluvium's API and dashboard beside them.
	apiOpts := httpapi.DefaultOptions()
	apiOpts.Logger = o.logger
	httpapi.Register(httpapi.HTTPRouter(router), co, apiOpts)
	dashboard.Register(httpapi.HTTPRouter(router))

	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = waitReady(waitCtx, co)
	cancel()
	if err == nil {
		ready("http://" + ln.Addr().String())
		<-ctx.Done()
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(err, srv.Shutdown(shutCtx))
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// waitReady waits until the coordinator leads and has applied the log of
// earlier terms (IsLeader): WaitLeader alone returns as soon as a leader is
// known, when writes may still answer 503 for a moment.
func waitReady(ctx context.Context, co *coordinator.Coordinator) error {
	for !co.IsLeader() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the coordinator did not become leader: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// teamQuota is what GET /teams answers for each quota: your own view of
// the replicated state.
type teamQuota struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

// quotaReport reads the quotas linearizably: ConsistentRead makes sure
// this node leads and has applied every acknowledged write.
func quotaReport(ctx context.Context, co *coordinator.Coordinator) ([]teamQuota, error) {
	if err := co.ConsistentRead(ctx); err != nil {
		return nil, err
	}
	out := []teamQuota{}
	for _, q := range co.FSM().Quotas() {
		out = append(out, teamQuota{Path: q.Path, Bytes: q.QuotaBytes})
	}
	return out, nil
}
