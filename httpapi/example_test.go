package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
)

// startCoordinator starts a one-node coordinator in a temporary directory,
// waits until it leads, and returns it with a function that stops it.
func startCoordinator() (*coordinator.Coordinator, func()) {
	dir, err := os.MkdirTemp("", "httpapi-example-")
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
	cfg.HTTPAddress = "127.0.0.1:8001" // where peers would forward; a single node has none
	cfg.CheckUFS = nil                 // the example mounts a made-up location
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	co, err := coordinator.New(cfg)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for !co.IsLeader() { // leads, with the log of earlier terms applied
		select {
		case <-ctx.Done():
			panic("no leader")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return co, func() { co.Shutdown(); os.RemoveAll(dir) }
}

// call sends one request to h and prints the status and the JSON answer.
func call(h http.Handler, method, path, body string, header ...string) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
}

// The API on a standard library ServeMux, beside routes of your own. Bad
// requests are answered with a 4xx and a reason, and change nothing.
func Example() {
	co, stop := startCoordinator()
	defer stop()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /my/route", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "mine") })
	httpapi.Register(httpapi.ServeMux(mux), co, httpapi.DefaultOptions())

	call(mux, "POST", "/api/v1/mount", `{"path": "/data", "ufs": "s3://bucket/data"}`)
	call(mux, "POST", "/api/v1/mount", `{"path": "/data/inner", "ufs": "s3://bucket/inner"}`)
	call(mux, "POST", "/api/v1/quota", `{"path": "/data/team-a", "quota": "50GiB"}`)
	call(mux, "POST", "/api/v1/quota", `{"path": "/data/team-a", "quota": "50GiB", "owner": "me"}`)
	call(mux, "GET", "/api/v1/mount", "")
	call(mux, "GET", "/my/route", "")
	// Output:
	// 200 {"path":"/data","ufs":"s3://bucket/data"}
	// 409 {"status":"/data/inner lies inside mount point /data"}
	// 200 {"path":"/data/team-a","quotaBytes":53687091200,"usedBytes":0,"remainingBytes":53687091200}
	// 400 {"status":"unknown field \"owner\""}
	// 200 {"results":[{"path":"/data","ufs":"s3://bucket/data"}]}
	// 200 mine
}

// With Options.AuthToken, every request needs the bearer token.
func ExampleOptions_authToken() {
	co, stop := startCoordinator()
	defer stop()

	opts := httpapi.DefaultOptions()
	opts.AuthToken = "s3cret"
	mux := http.NewServeMux()
	httpapi.Register(httpapi.ServeMux(mux), co, opts)

	call(mux, "GET", "/api/v1/mount", "")
	call(mux, "GET", "/api/v1/mount", "", "Authorization", "Bearer wrong")
	call(mux, "GET", "/api/v1/mount", "", "Authorization", "Bearer s3cret")
	// Output:
	// 401 {"status":"missing or invalid bearer token"}
	// 401 {"status":"missing or invalid bearer token"}
	// 200 {"results":[]}
}
