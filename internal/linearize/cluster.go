package linearize

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/coordinator/coordinatortest"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/localcluster/coordinators"
)

// Cluster is a coordinatortest cluster whose nodes each serve the real API
// (httpapi.Register) on a loopback listener, as a process would. A node's
// listener outlives Kill: while the node is down it refuses every call (see
// down), and Restart serves the new coordinator on the same address (the
// one published through the log).
type Cluster struct {
	*coordinatortest.Cluster
	ids      []string
	urls     map[string]string
	handlers map[string]*swapHandler
	forward  *http.Transport
}

// swapHandler serves whichever handler the node runs now.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }

// down answers for a killed node. A dead process refuses connections, so
// its clients know that nothing happened; the listener stays open (to keep
// the address) and answers as a follower does when the leader cannot be
// dialled: 503 "no raft leader". Calls that were in flight when the node
// died get whatever the dying coordinator answers (no definite outcome).
func down(id string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, `{"status":"no raft leader: coordinator %s is down (connection refused)"}`+"\n", id)
	})
}

// RequestTimeout bounds the work of one API request on a node; the clients
// wait a little longer, so a write without quorum answers 503 before they
// give up.
const RequestTimeout = 2 * time.Second

// NewCluster starts n coordinators, without the job scheduler (a job's state
// changes only through the API), each serving the API on loopback.
func NewCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	c := &Cluster{urls: map[string]string{}, handlers: map[string]*swapHandler{}}
	c.forward = &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 10 * time.Second}
	var servers []*http.Server
	var wg sync.WaitGroup
	addrs := map[string]string{}
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		id := coordinators.ID(i) // coordinatortest names its nodes as every local cluster does
		c.ids = append(c.ids, id)
		addrs[id] = l.Addr().String()
		c.urls[id] = "http://" + l.Addr().String()
		h := &swapHandler{}
		h.set(down(id))
		c.handlers[id] = h
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		wg.Add(1)
		go func() { defer wg.Done(); _ = srv.Serve(l) }()
	}
	tb.Cleanup(func() {
		for _, s := range servers {
			_ = s.Close()
		}
		wg.Wait()
		c.forward.CloseIdleConnections()
	})
	c.Cluster = coordinatortest.New(tb, n, coordinatortest.WithConfig(func(cfg *coordinator.Config) {
		cfg.HTTPAddress = addrs[cfg.ID]
		cfg.NoScheduler = true
	}))
	for _, id := range c.ids {
		c.serve(id)
	}
	return c
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// serve mounts the API of the node's running coordinator.
func (c *Cluster) serve(id string) {
	co := c.Node(index(c.ids, id)).Coordinator()
	mux := http.NewServeMux()
	opts := httpapi.DefaultOptions()
	opts.RequestTimeout = RequestTimeout
	opts.Logger = discard
	opts.ForwardTransport = c.forward
	httpapi.Register(httpapi.ServeMux(mux), co, opts)
	c.handlers[id].set(mux)
}

func index(ids []string, id string) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	panic("linearize: no node " + id)
}

// IDs names the nodes.
func (c *Cluster) IDs() []string { return c.ids }

// URL is the node's API base URL.
func (c *Cluster) URL(id string) string { return c.urls[id] }

// Kill stops the node abruptly; its address answers as a dead one would.
func (c *Cluster) Kill(id string) {
	c.handlers[id].set(down(id))
	c.Cluster.Kill(id)
}

// Restart starts a killed node again and serves its API.
func (c *Cluster) Restart(id string) {
	c.Cluster.Restart(id)
	c.serve(id)
}

// Running reports whether the node is up.
func (c *Cluster) Running(id string) bool {
	return c.Node(index(c.ids, id)).Coordinator() != nil
}

// LeaderID names the node that leads now, or "".
func (c *Cluster) LeaderID() string {
	if l := c.Leader(); l != nil {
		return l.ID()
	}
	return ""
}
