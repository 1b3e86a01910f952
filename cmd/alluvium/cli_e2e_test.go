package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/internal/testcluster"
)

// cliRun is what one run of the built binary printed and how it exited.
type cliRun struct {
	stdout, stderr string
	code           int
}

// runCLI runs the built binary with a clean ALLUVIUM_* environment plus env.
func runCLI(t *testing.T, env []string, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALLUVIUM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliRun{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("alluvium %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// The CLI verbs through the real binary against a follower of a real
// three-node cluster that requires a token: output, exit codes, JSON,
// a resumed job, failover and errors.
func TestCLIAgainstACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and runs the binary")
	}
	const token = "s3cret"
	c := testcluster.Start(t, 3, testcluster.Options{
		Coordinator: func(cfg *coordinator.Config) {
			cfg.AuthToken = token
			cfg.NoScheduler = true // jobs stay as submitted: this test is about the CLI
			// worker-1 is registered but sends no heartbeats: it must stay
			// LIVE for the whole test, however slow the machine.
			cfg.WorkerTimeout = 10 * time.Minute
			// Calm timings ride out a busy machine: a spurious election
			// mid-test would leave a write's outcome unknown, which the CLI
			// rightly reports rather than hides.
			cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 2*time.Second, 2*time.Second, time.Second
		},
		API: func(o *httpapi.Options) { o.AuthToken = token },
	})
	c.WaitPublished()
	w := fsm.Worker{ID: "worker-1", Address: "127.0.0.1:9001", CapacityBytes: 1 << 30}
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err := c.Nodes[c.Leader()].Node.Coordinator.Apply(context.Background(), &fsm.RegisterWorker{Worker: w})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	follower := c.Nodes[c.Follower()].URL()
	var all []string
	for _, m := range c.Nodes {
		all = append(all, m.URL())
	}
	// The token comes from the environment, as root maps every flag.
	env := []string{"ALLUVIUM_AUTH_TOKEN=" + token}

	var jobID string // the load job's id, once submitted; "{id}" in wants
	steps := []struct {
		name   string
		args   []string
		env    []string // instead of env
		code   int
		stdout []string
		stderr []string
		check  func(t *testing.T, stdout string)
	}{
		{name: "mount add", args: []string{"mount", "add", "/data", "file:///srv/data", "--option", "s3.secretKey=x"},
			stdout: []string{"Mounted file:///srv/data at /data.\n"}},
		{name: "mount add again", args: []string{"mount", "add", "/data", "file:///srv/other"},
			code: 1, stderr: []string{"alluvium: /data is mounted already"}},
		{name: "mount list", args: []string{"mount", "list"},
			stdout: []string{"PATH   UFS               OPTIONS\n/data  file:///srv/data  s3.secretKey=***\n"}},
		{name: "quota set", args: []string{"quota", "set", "/data/a", "50GiB"},
			stdout: []string{"Set the quota of /data/a to 50GiB (0B used).\n"}},
		{name: "quota get", args: []string{"quota", "get", "/data/a"},
			stdout: []string{"PATH     QUOTA  USED  REMAINING\n/data/a  50GiB  0B    50GiB\n"}},
		{name: "quota get json", args: []string{"quota", "get", "/data/a", "--output", "json"},
			check: func(t *testing.T, out string) {
				var q api.Quota
				if err := json.Unmarshal([]byte(out), &q); err != nil || q.Path != "/data/a" || q.QuotaBytes != 50<<30 {
					t.Errorf("--output json = %q (%v), want the API's quota", out, err)
				}
				if !strings.Contains(out, "\n  \"quotaBytes\": 53687091200,\n") {
					t.Errorf("--output json is not indented: %q", out)
				}
			}},
		{name: "quota set outside every mount", args: []string{"quota", "set", "/elsewhere", "1GiB"},
			code: 1, stderr: []string{"alluvium: /elsewhere is not under any mount point\n"}},
		{name: "quota get missing", args: []string{"quota", "get", "/data/zz"},
			code: 1, stderr: []string{"quota not found for /data/zz"}},
		{name: "quota set bad size", args: []string{"quota", "set", "/data/a", "12XB"},
			code: 1, stderr: []string{"12XB"}},

		{name: "load submit", args: []string{"load", "--path", "/data/sample", "--submit", "--bandwidth", "100MiB"},
			stdout: []string{"Submitted load job ", " for path '/data/sample'.\n", "alluvium load --path '/data/sample' --progress"},
			check: func(t *testing.T, out string) {
				m := regexp.MustCompile(`Submitted load job (\S+) `).FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("no job id in %q", out)
				}
				jobID = m[1]
			}},
		{name: "load progress", args: []string{"load", "--path", "/data/sample", "--progress"},
			stdout: []string{"Progress for loading path '/data/sample':\n", "\tSettings:\tbandwidth: 100MiB/s\tverify: false\n",
				"\tJob Id: {id}\n", "\tJob State: WAITING\n", "\tFiles Failed: 0\n"}},
		{name: "load submit while it waits", args: []string{"load", "--path", "/data/sample", "--submit"},
			stdout: []string{"The load job {id} for path '/data/sample' exists already and goes on"}},
		{name: "load stop", args: []string{"load", "--path", "/data/sample", "--stop"},
			stdout: []string{"Stopped load job {id} for path '/data/sample'.\n"}},
		{name: "load progress stopped", args: []string{"load", "--path", "/data/sample", "--progress"},
			stdout: []string{"\tJob State: STOPPED\n"}},
		{name: "load stop again", args: []string{"load", "--path", "/data/sample", "--stop"},
			code: 1, stderr: []string{"alluvium: job {id} has already ended"}},
		{name: "load resubmit resumes", args: []string{"load", "--path", "/data/sample", "--submit"},
			stdout: []string{"Resumed load job {id} for path '/data/sample'.\n"}},
		{name: "load resubmit json", args: []string{"load", "--path", "/data/sample", "--submit", "-o", "json"},
			stdout: []string{`"id": "{id}"`, `"status": "job {id} exists and is WAITING"`}},
		{name: "load progress json", args: []string{"load", "--path", "/data/sample", "--progress", "-o", "json"},
			check: func(t *testing.T, out string) {
				var j api.Job
				// The resubmission gave no --bandwidth: a rerun takes the request's options.
				if err := json.Unmarshal([]byte(out), &j); err != nil || j.ID != jobID || j.Attempts != 2 || j.Options.Bandwidth != 0 {
					t.Errorf("progress as JSON = %q (%v), want the job, resumed once with the new options", out, err)
				}
			}},
		{name: "load without an action", args: []string{"load", "--path", "/data/sample"},
			code: 1, stderr: []string{"give one of --submit, --progress and --stop"}},
		{name: "load outside every mount", args: []string{"load", "--path", "/nowhere", "--submit"},
			code: 1, stderr: []string{"not under any mount point"}},
		{name: "job list", args: []string{"job", "list", "--type", "load"},
			stdout: []string{"ID ", "{id}  load  WAITING  /data/sample"}},

		// Every other verb once, so that its wiring is exercised.
		{name: "free submit", args: []string{"free", "--path", "/data/a", "--path", "/data/b", "--alias", "f1", "--submit", "--force"},
			stdout: []string{"Submitted free job ", " for paths '/data/a', '/data/b' (alias 'f1').\n", "alluvium free --alias 'f1' --progress"}},
		{name: "free progress", args: []string{"free", "--alias", "f1", "--progress"},
			stdout: []string{"Progress for freeing paths '/data/a', '/data/b' (alias 'f1'):\n", "\tSettings:\tforce: true\n"}},
		{name: "free stop", args: []string{"free", "--alias", "f1", "--stop"}, stdout: []string{"Stopped free job "}},
		{name: "nodes list", args: []string{"nodes", "list"}, stdout: []string{"worker-1  127.0.0.1:9001  LIVE   1GiB"}},
		{name: "nodes get missing", args: []string{"nodes", "get", "worker-x"}, code: 1, stderr: []string{"worker worker-x not found"}},
		{name: "rebalance submit", args: []string{"rebalance", "--target", "worker-1", "--submit", "--skip-prune"},
			stdout: []string{"Submitted rebalance job ", " for target 'worker-1'."}},
		{name: "rebalance progress", args: []string{"rebalance", "--target", "worker-1", "--progress"},
			stdout: []string{"Progress for rebalancing target 'worker-1':\n", "skip prune: true"}},
		{name: "rebalance stop", args: []string{"rebalance", "--target", "worker-1", "--stop"}, stdout: []string{"Stopped rebalance job "}},
		{name: "rebalance unknown worker", args: []string{"rebalance", "--target", "worker-x", "--submit"},
			code: 1, stderr: []string{"worker-x"}},
		{name: "nodes remove", args: []string{"nodes", "remove", "worker-1"},
			stdout: []string{"Removed worker-1 from the cluster (it was LIVE).\n"}},
		{name: "nodes get removed", args: []string{"nodes", "get", "worker-1"}, code: 1, stderr: []string{"worker worker-1 not found"}},
		{name: "nodes decommission (the earlier name)", args: []string{"nodes", "decommission", "worker-1"}, code: 1, stderr: []string{"worker worker-1 not found"}},
		{name: "ttl set", args: []string{"ttl", "set", "/data/a", "90m"}, stdout: []string{"Set the TTL of /data/a to 1h30m0s.\n"}},
		{name: "ttl list", args: []string{"ttl", "list"}, stdout: []string{"/data/a  1h30m0s"}},
		{name: "ttl remove", args: []string{"ttl", "remove", "/data/a"}, stdout: []string{"Removed the TTL of /data/a.\n"}},
		{name: "ttl get removed", args: []string{"ttl", "get", "/data/a"}, code: 1, stderr: []string{"ttl not found"}},
		{name: "priority set", args: []string{"priority", "set", "/data/a", "low"}, stdout: []string{"Set the priority of /data/a to LOW.\n"}},
		{name: "priority get", args: []string{"priority", "get", "/data/a"}, stdout: []string{"/data/a  LOW"}},
		{name: "priority set unknown", args: []string{"priority", "set", "/data/a", "urgent"}, code: 1, stderr: []string{"urgent"}},
		{name: "cache-filter add", args: []string{"cache-filter", "add", "maxAge", "^/data/live/", "--time", "10m"},
			stdout: []string{"Added rule maxAge for '^/data/live/' (10m0s).\n"}},
		{name: "cache-filter default", args: []string{"cache-filter", "default", "skipCache"}, stdout: []string{"The default rule is now skipCache.\n"}},
		{name: "cache-filter list", args: []string{"cache-filter", "list"},
			stdout: []string{"maxAge  ^/data/live/  10m0s\n", "Default rule: skipCache\n"}},
		{name: "cache-filter remove", args: []string{"cache-filter", "remove", "maxAge", "^/data/live/"}, stdout: []string{"Removed rule maxAge"}},
		{name: "file-index add", args: []string{"file-index", "add", "/data/a", "/data/b"}, stdout: []string{"Added 2 of 2 paths.\n"}},
		{name: "file-index list", args: []string{"file-index", "list", "--count", "1"},
			stdout: []string{"/data/a  0B    -\n", "More entries follow: --last-key '/data/a'\n"}},
		{name: "file-index remove", args: []string{"file-index", "remove", "/data/a"}, stdout: []string{"Removed 1 of 1 paths.\n"}},
		{name: "cache clear-stale", args: []string{"cache", "clear-stale"}, stdout: []string{"Clearing stale cache on every live worker"}},
		{name: "cache stop", args: []string{"cache", "stop"}, stdout: []string{"Stopped clearing stale cache"}},
		{name: "cache status", args: []string{"cache", "status"}, stdout: []string{"No worker reports a clear-stale status.\n"}},
		{name: "coordinators", args: []string{"coordinators"}, stdout: []string{"Leader: ", "answered by c", "APPLIED/COMMITTED"}},
		{name: "mount remove", args: []string{"mount", "remove", "/data"}, stdout: []string{"Unmounted /data.\n"}},
		{name: "mount remove again", args: []string{"mount", "remove", "/data"}, code: 1, stderr: []string{"not mounted"}},

		{name: "no token", args: []string{"mount", "list"}, env: []string{},
			code: 1, stderr: []string{"alluvium: missing or invalid bearer token\n"}},
		{name: "coordinators from the environment, the first dead", args: []string{"quota", "list"},
			env:    append([]string{"ALLUVIUM_COORDINATOR=http://127.0.0.1:1," + follower}, env...),
			stdout: []string{"No quotas.\n"}},
		{name: "health of every coordinator", args: []string{"health", "--coordinator", strings.Join(all, ",")},
			stdout: []string{all[0] + ": ok (c1, ", all[2] + ": ok (c3, "}},
		{name: "health of a dead one", args: []string{"health", "--coordinator", "http://127.0.0.1:1"},
			code: 1, stdout: []string{"http://127.0.0.1:1: unhealthy: no coordinator answered"}, stderr: []string{"1 of 1 coordinators are unhealthy"}},
		{name: "misspelt verb", args: []string{"quota", "lst"},
			code: 1, stderr: []string{`unknown command "lst" for "alluvium quota"`}},
	}
	for _, s := range steps {
		args := s.args
		if !strings.Contains(strings.Join(s.env, " "), "ALLUVIUM_COORDINATOR") && !strings.Contains(strings.Join(args, " "), "--coordinator") {
			args = append(args, "--coordinator", follower)
		}
		e := env
		if s.env != nil {
			e = s.env
		}
		r := runCLI(t, e, args...)
		if r.code != s.code {
			t.Errorf("%s: alluvium %s exited %d, want %d\nstdout: %s\nstderr: %s", s.name, strings.Join(args, " "), r.code, s.code, r.stdout, r.stderr)
			continue
		}
		for _, w := range s.stdout {
			if w = strings.ReplaceAll(w, "{id}", jobID); !strings.Contains(r.stdout, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", s.name, w, r.stdout)
			}
		}
		for _, w := range s.stderr {
			if w = strings.ReplaceAll(w, "{id}", jobID); !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", s.name, w, r.stderr)
			}
		}
		if s.code == 0 && r.stderr != "" {
			t.Errorf("%s: a success wrote to stderr: %s", s.name, r.stderr)
		}
		if s.check != nil {
			s.check(t, r.stdout)
		}
	}
}
