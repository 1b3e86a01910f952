package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
)

// Three coordinator processes: one stopped is shown as down by
// `coordinators` and `status`, which still succeed; two stopped (no
// quorum), `status` still shows the coordinators and the answering one's
// own view of workers and jobs, marked stale, and exits 1.
func TestStatusShowsDownCoordinatorsAndWorksWithoutQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ports := freePorts(t, 6)
	var peers, urls []string
	for i := range 3 {
		peers = append(peers, fmt.Sprintf("c%d=127.0.0.1:%d", i+1, ports[3+i]))
		urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d", ports[i]))
	}
	procs := map[string]*proc{}
	for i := range 3 {
		id := fmt.Sprintf("c%d", i+1)
		procs[id] = start(t, nil, "coordinator", "--id", id, "--data-dir", t.TempDir(),
			"--raft-addr", fmt.Sprintf("127.0.0.1:%d", ports[3+i]), "--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"--bootstrap", strings.Join(peers, ","))
	}
	leader := waitLeader(t, urls)
	eventually(t, "every coordinator has published its address", 30*time.Second, func() bool {
		for _, u := range urls {
			var st api.Coordinators
			if code, _, err := getJSON(u+"/api/v1/coordinators", &st); err != nil || code != 200 || st.Leader == "" {
				return false
			}
			for _, c := range st.Results {
				if c.HTTPAddress == "" {
					return false
				}
			}
		}
		return true
	})
	var survivor, victim string // a follower stays, the other follower is stopped first
	for i := range 3 {
		if id := fmt.Sprintf("c%d", i+1); id != leader {
			if survivor == "" {
				survivor = id
			} else {
				victim = id
			}
		}
	}
	coord := "--coordinator=" + urls[int(survivor[1]-'1')]

	stop := func(id string) {
		p := procs[id]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	}
	stop(victim)
	r := runCLI(t, nil, "coordinators", coord)
	if r.code != 0 || !regexpMatch(`(?m)^`+victim+` +follower +down `, r.stdout) || !strings.Contains(r.stdout, victim+" is down: ") ||
		!regexpMatch(`(?m)^`+leader+` +leader +up `, r.stdout) {
		t.Fatalf("coordinators with %s stopped: exit %d\n%s%s", victim, r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, nil, "status", coord)
	if r.code != 0 || !regexpMatch(`(?m)^  `+victim+` +follower +down `, r.stdout) || strings.Contains(r.stdout, "STALE") {
		t.Fatalf("status with %s stopped: exit %d\n%s%s", victim, r.code, r.stdout, r.stderr)
	}
	var rep coordinatorsReport
	if r := runCLI(t, nil, "coordinators", "-o", "json", coord); json.Unmarshal([]byte(r.stdout), &rep) != nil || len(rep.Results) != 3 {
		t.Fatalf("coordinators -o json: %s%s", r.stdout, r.stderr)
	}
	for _, m := range rep.Results {
		if want := map[bool]string{true: "down", false: "up"}[m.ID == victim]; m.Reach != want || m.RaftAddress == "" {
			t.Errorf("coordinators -o json: %s is %q, want %q: %+v", m.ID, m.Reach, want, m)
		}
	}

	stop(leader)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = runCLI(t, nil, "status", coord, "--timeout", "20s")
		if strings.Contains(r.stdout, "STALE") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r.code != 1 || !strings.Contains(r.stdout, "STALE: no raft leader") ||
		!strings.Contains(r.stdout, "Workers: 0 LIVE of 0") || !regexpMatch(`(?m)^[* ] `+leader+` +\S+ +down `, r.stdout) ||
		!strings.Contains(r.stderr, "no working leader") || strings.Contains(r.stdout+r.stderr, "no raft leader: no raft leader") {
		t.Fatalf("status without a quorum: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// Mistakes on the command line are told in the flags' words.
func TestCLIMessagesNameTheFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"quota", "set", "/data/a", "-5GiB"}, "-5GiB is not a valid value: sizes and durations are positive"},
		{[]string{"quota", "set", "/data/a", "--", "-5GiB"}, `quota "-5GiB": want a positive size`},
		{[]string{"ttl", "set", "/data/a", "-1h"}, "-1h is not a valid value"},
		{[]string{"cache-filter", "add", "maxAge", "^/x/"}, "a maxAge rule needs --time"},
		{[]string{"cache-filter", "add", "maxAge", "^/x/", "--time", "soon"}, `--time "soon"`},
		{[]string{"coordinator"}, "--id (ALLUVIUM_ID) and --data-dir (ALLUVIUM_DATA_DIR) are required"},
		{[]string{"coordinator", "--id", "c1"}, "--data-dir (ALLUVIUM_DATA_DIR) is required"},
		{[]string{"worker"}, "--data-dir (ALLUVIUM_DATA_DIR) is required"},
		{[]string{"coordinator", "--id", "c1", "--data-dir", empty, "--raft-addr", fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0]),
			"--http-addr", fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])}, "holds no cluster state, and neither --bootstrap nor --join is given"},
	} {
		r := runCLI(t, nil, tc.args...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("alluvium %s: exit %d, stderr %q; want exit 1 saying %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}

// `alluvium --help` shows the flags every cluster command takes, with
// their environment variables, and the rule for the others.
func TestRootHelpShowsGlobalFlagsAndEnvironment(t *testing.T) {
	var out strings.Builder
	root := newRootCommand()
	root.SetOut(&out)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--coordinator", "[ALLUVIUM_COORDINATOR]", "--auth-token", "[ALLUVIUM_AUTH_TOKEN]",
		"--output", "--timeout", "ALLUVIUM_<FLAG>", "--data-dir is ALLUVIUM_DATA_DIR", "Cluster commands"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("alluvium --help lacks %q:\n%s", want, out.String())
		}
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }
