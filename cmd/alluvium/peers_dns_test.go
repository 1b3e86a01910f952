package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
)

// TestCoordinatorsByDNSName runs three coordinator processes that know one
// another by a DNS name (localhost, with distinct ports), as a StatefulSet's
// pods do: the --bootstrap list, --raft-advertise (or a --raft-addr that is
// a name), --http-advertise and the URLs are all names, which stay names in
// the Raft configuration and are resolved at each dial. The cluster forms
// and takes writes; one coordinator is killed with SIGKILL, writes go on
// without it, it is restarted on the same flags, rejoins and catches up.
// A fourth then joins with --join and --raft-advertise by name. With Raft
// over mutual TLS too, where each peer's certificate must name the host
// dialled (localhost).
func TestCoordinatorsByDNSName(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, mode := range []string{"tcp", "tls"} {
		t.Run(mode, func(t *testing.T) { testCoordinatorsByName(t, mode == "tls") })
	}
}

func testCoordinatorsByName(t *testing.T, useTLS bool) {
	ports := freePorts(t, 6)
	scheme, extra := "http", []string(nil)
	if useTLS {
		files, err := testCA.WriteFiles(t.TempDir(), "node", []string{"localhost"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		scheme, extra = "https", []string{"--tls-cert", files.Cert, "--tls-key", files.Key, "--tls-ca", files.CA}
	}
	var peers, urls []string
	for i := range 3 {
		peers = append(peers, fmt.Sprintf("c%d=localhost:%d", i+1, ports[3+i]))
		urls = append(urls, fmt.Sprintf("%s://localhost:%d", scheme, ports[i]))
	}
	logDir := t.TempDir()
	var procs []*chaosProc
	for i := range 3 {
		raft, http := ports[3+i], ports[i]
		args := []string{"coordinator", "--id", fmt.Sprintf("c%d", i+1), "--data-dir", t.TempDir(),
			"--bootstrap", strings.Join(peers, ","), "--http-addr", fmt.Sprintf("127.0.0.1:%d", http),
			"--http-advertise", fmt.Sprintf("localhost:%d", http)}
		switch i {
		case 0: // a name to listen on, advertised as written
			args = append(args, "--raft-addr", fmt.Sprintf("localhost:%d", raft))
		case 1: // an IP to listen on, a name to advertise
			args = append(args, "--raft-addr", fmt.Sprintf("127.0.0.1:%d", raft), "--raft-advertise", fmt.Sprintf("localhost:%d", raft))
		case 2: // every interface, a name to advertise: a pod's way
			args = append(args, "--raft-addr", fmt.Sprintf("0.0.0.0:%d", raft), "--raft-advertise", fmt.Sprintf("localhost:%d", raft))
		}
		procs = append(procs, newChaosProc(t, logDir, fmt.Sprintf("c%d", i+1), append(args, extra...)...))
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range procs {
				t.Logf("--- %s\n%s", p.name, p.tail(40))
			}
		}
	})
	waitLeader(t, urls)
	checkRaftAddressesAreNames(t, urls[0], peers)
	waitWrites(t, &cluster3{}, urls, "/api/v1/mount", `{"path":"/data","ufs":"file://`+t.TempDir()+`"}`)
	for q := range 5 {
		waitWrites(t, &cluster3{}, urls, "/api/v1/quota", fmt.Sprintf(`{"path":"/data/before/%d","quota":%d}`, q, q+1))
	}

	// Kill one that does not lead, write on without it, restart it.
	victim := 0
	if leader := waitLeader(t, urls); leader == "c1" {
		victim = 1
	}
	procs[victim].kill9()
	others := append(append([]string(nil), urls[:victim]...), urls[victim+1:]...)
	for q := range 20 {
		waitWrites(t, &cluster3{}, others, "/api/v1/quota", fmt.Sprintf(`{"path":"/data/after/%d","quota":%d}`, q, q+1))
	}
	procs[victim].start(t)
	eventually(t, "the restarted coordinator to catch up", 60*time.Second, func() bool {
		var q api.Quota
		code, _, err := getJSON(urls[victim]+"/api/v1/quota?stale=true&path=/data/after/19", &q)
		return err == nil && code == http.StatusOK && q.QuotaBytes == 20
	})
	// And it is a voter again: a write goes through it (forwarded to the
	// leader by its name), and it sees the leader.
	waitWrites(t, &cluster3{}, urls[victim:victim+1], "/api/v1/quota", `{"path":"/data/through-restarted","quota":1}`)
	checkRaftAddressesAreNames(t, urls[victim], peers)

	// A fourth joins by name, through a coordinator's URL by name.
	more := freePorts(t, 2)
	peers = append(peers, fmt.Sprintf("c4=localhost:%d", more[1]))
	procs = append(procs, newChaosProc(t, logDir, "c4", append([]string{"coordinator", "--id", "c4", "--data-dir", t.TempDir(),
		"--join", urls[2], "--raft-addr", fmt.Sprintf("127.0.0.1:%d", more[1]), "--raft-advertise", fmt.Sprintf("localhost:%d", more[1]),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", more[0]), "--http-advertise", fmt.Sprintf("localhost:%d", more[0])}, extra...)...))
	checkRaftAddressesAreNames(t, urls[0], peers)
	c4 := fmt.Sprintf("%s://localhost:%d", scheme, more[0])
	eventually(t, "the joined coordinator to apply a write", 60*time.Second, func() bool {
		var q api.Quota
		code, _, err := getJSON(c4+"/api/v1/quota?stale=true&path=/data/through-restarted", &q)
		return err == nil && code == http.StatusOK && q.QuotaBytes == 1
	})
}

// checkRaftAddressesAreNames checks that the Raft configuration, as url
// tells it, holds the peers' addresses as written in --bootstrap.
func checkRaftAddressesAreNames(t *testing.T, url string, peers []string) {
	t.Helper()
	var got api.Coordinators
	eventually(t, "the coordinators listed with a leader", 30*time.Second, func() bool {
		code, _, err := getJSON(url+"/api/v1/coordinators", &got)
		if err != nil || code != http.StatusOK || got.Leader == "" || len(got.Results) != len(peers) {
			return false
		}
		for _, c := range got.Results {
			if c.HTTPAddress == "" { // not published yet
				return false
			}
		}
		return true
	})
	for _, c := range got.Results {
		want := c.ID + "=" + c.RaftAddress
		found := false
		for _, p := range peers {
			found = found || p == want
		}
		if !found || !strings.HasPrefix(c.HTTPAddress, "localhost:") {
			t.Errorf("coordinator %s: raft %s, http %s; want the names of %v", c.ID, c.RaftAddress, c.HTTPAddress, peers)
		}
	}
}
