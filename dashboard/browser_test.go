package dashboard_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/testcluster"
	"github.com/alluvium/alluvium/internal/workernode"
	"github.com/alluvium/alluvium/worker"
	"github.com/chromedp/chromedp"
)

// The end-to-end test drives the dashboard of a real cluster (three
// coordinators, three workers, a token) in headless Chromium.
//
// Without a browser it skips, unless ALLUVIUM_REQUIRE_BROWSER=1 (CI), when
// it fails. ALLUVIUM_SCREENSHOT=path writes a screenshot taken while the
// load job runs (docs/dashboard.png is made this way).

const token = "s3cret-dashboard-token"

// browser finds Chromium or Chrome.
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("ALLUVIUM_REQUIRE_BROWSER") == "1" {
		t.Fatal("no chromium found and ALLUVIUM_REQUIRE_BROWSER=1: apt-get install -y chromium")
	}
	t.Skip("no chromium found (apt-get install -y chromium); set ALLUVIUM_REQUIRE_BROWSER=1 to fail instead")
	return ""
}

// cluster starts three coordinators and three workers that require the
// token, with a folder of files mounted at /data and a few policies.
func cluster(t *testing.T) (*testcluster.Cluster, *client.Client, []*workernode.Node, string) {
	t.Helper()
	tc := testcluster.Start(t, 3, testcluster.Options{
		Coordinator: func(c *coordinator.Config) { c.AuthToken = token },
		API:         func(o *httpapi.Options) { o.AuthToken = token },
	})
	tc.WaitPublished()
	var urls []string
	for _, m := range tc.Nodes {
		urls = append(urls, m.URL())
	}
	c, err := client.New(urls, client.WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	var ws []*workernode.Node
	for range 3 {
		cfg := worker.DefaultConfig()
		cfg.DataDir, cfg.Coordinators, cfg.Token = t.TempDir(), urls, token
		cfg.PageSize, cfg.MemoryBytes, cfg.CapacityBytes = 4096, 0, 64<<20
		cfg.HeartbeatInterval, cfg.PolicyWait = 200*time.Millisecond, 5*time.Second
		w, err := workernode.Start(cfg, nil, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		ws = append(ws, w)
	}
	ctx := context.Background()
	eventually(t, "3 LIVE workers", func() bool {
		ns, err := c.Nodes(ctx)
		live := 0
		for _, n := range ns.Results {
			if n.State == "LIVE" {
				live++
			}
		}
		return err == nil && live == 3
	})
	ufs := t.TempDir()
	if _, err := c.AddMount(ctx, api.Mount{Path: "/data", UFS: "file://" + ufs}); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		second(c.SetQuota(ctx, "/data/train", 8<<20)),
		second(c.SetTTL(ctx, "/data/tmp", time.Hour)),
		second(c.SetPriority(ctx, "/data/train", "HIGH")),
		second(c.AddFilterRule(ctx, api.FilterRule{Rule: "skipCache", Pattern: `\.tmp$`})),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return tc, c, ws, ufs
}

func second[T any](_ T, err error) error { return err }

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// poll evaluates a JavaScript expression in the page until it is true.
func poll(ctx context.Context, t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#status")))
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			t.Fatalf("%s: not within 30s; status %q; page:\n%s", what, status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDashboardInBrowser(t *testing.T) {
	exe := browser(t)
	tc, c, ws, ufs := cluster(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.WindowSize(1280, 1100))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	// Any coordinator serves the page: open a follower's.
	url := tc.Nodes[tc.Follower()].URL() + "/"
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#workers"))); err != nil {
		t.Fatal(err)
	}
	// Without the token the API answers 401, and the page says so.
	poll(ctx, t, "the page asks for a token", `document.querySelector('#status').textContent.includes('401')`)

	// With it, the page shows the cluster.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#token-form button")),
	); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		id := w.Worker.ID()
		poll(ctx, t, "worker "+id+" is LIVE",
			fmt.Sprintf(`!!document.querySelector('#worker-rows tr[data-worker=%q][data-state="LIVE"]')`, id))
		poll(ctx, t, "worker "+id+" has a ring share",
			fmt.Sprintf(`/^\d+(\.\d)?%% of \d+(\.\d)?%%$/.test(document.querySelector('#ring-list [data-worker=%q] .num')?.textContent || '')`, id))
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"c1", "c2", "c3", "leader", "/data", "file://" + ufs, "/data/train", "8 MiB", "TTL 1h", "HIGH", "skipCache", `\.tmp$`} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q:\n%s", want, text)
		}
	}

	// A load job paced by a bandwidth limit is seen running, its count of
	// files done growing, and then done at 100%.
	const files, size = 48, 24 << 10
	for i := range files {
		data := []byte(strings.Repeat(fmt.Sprintf("%04d", i), size/4))
		path := filepath.Join(ufs, "train", fmt.Sprintf("part-%04d.bin", i))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bw, batch := api.Size(24<<10), 12
	job, err := c.SubmitLoad(context.Background(), api.LoadRequest{Paths: []string{"/data/train"}, Alias: "train",
		Options: &api.LoadOptions{Bandwidth: &bw, BatchSize: &batch}})
	if err != nil {
		t.Fatal(err)
	}
	bar := fmt.Sprintf(`document.querySelector('#job-rows tr[data-job=%q] [role=progressbar]')`, job.ID)
	row := fmt.Sprintf(`document.querySelector('#job-rows tr[data-job=%q]')`, job.ID)
	// While it runs its total is unknown (the leader lists files as it goes):
	// the bar is indeterminate and the files done so far grow.
	poll(ctx, t, "the job runs with files done",
		fmt.Sprintf(`%s?.dataset.state === 'RUNNING' && +%s.dataset.done > 0 && %s.classList.contains('indeterminate')`, row, row, bar))
	if path := os.Getenv("ALLUVIUM_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot written to %s", path)
	}
	poll(ctx, t, "the job ends at 100%",
		fmt.Sprintf(`%s?.dataset.state === 'SUCCEEDED' && %s.getAttribute('aria-valuenow') === '100'`, row, bar))
	if text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(fmt.Sprintf("#job-rows tr[data-job=%q]", job.ID)))); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d of %d files", files, files); !strings.Contains(text, want) {
		t.Errorf("the finished job's row %q lacks %q", text, want)
	}
}
