package worker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/worker"
)

// A worker without coordinators, given its policies directly, serving a
// range of a file of a local UFS through its cache.
func Example() {
	ufsDir, _ := os.MkdirTemp("", "ufs")
	dataDir, _ := os.MkdirTemp("", "worker")
	defer os.RemoveAll(ufsDir)
	defer os.RemoveAll(dataDir)
	_ = os.WriteFile(filepath.Join(ufsDir, "hello.txt"), []byte("hello, alluvium"), 0o644)

	cfg := worker.DefaultConfig()
	cfg.DataDir = dataDir
	cfg.HTTPAddress = "127.0.0.1:8080"
	w, err := worker.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Shutdown(context.Background())
	_ = w.SetPolicies(api.WorkerPolicies{
		Version:  1,
		Mounts:   []api.Mount{{Path: "/local", UFS: "file://" + ufsDir}},
		Workers:  []api.Node{{ID: w.ID(), Address: cfg.HTTPAddress, State: "LIVE"}},
		RingMode: "dynamic",
	})

	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/data/local/hello.txt", nil)
	req.Header.Set("Range", "bytes=7-")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Range"), string(body))
	// Output: 206 bytes 7-14/15 alluvium
}
