package inmemtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/coordinator/coordinatortest"
	"github.com/alluvium/alluvium/httpapi"
)

// startCluster starts three in-memory coordinators, serves each one's API
// on loopback, and returns the cluster and a client of all three.
func startCluster(t *testing.T) (*coordinatortest.Cluster, *client.Client) {
	t.Helper()
	// The listeners come first: each coordinator publishes its API address,
	// so that a follower can forward writes to the leader.
	lns := map[string]net.Listener{}
	for i := range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[fmt.Sprintf("c%d", i+1)] = ln
	}
	cluster := coordinatortest.New(t, 3, coordinatortest.WithConfig(func(cfg *coordinator.Config) {
		cfg.HTTPAddress = lns[cfg.ID].Addr().String()
	}))
	var urls []string
	for _, n := range cluster.Nodes() {
		router := http.NewServeMux()
		httpapi.Register(httpapi.ServeMux(router), n.Coordinator(), httpapi.DefaultOptions())
		srv := httptest.NewUnstartedServer(router)
		srv.Listener.Close()
		srv.Listener = lns[n.ID]
		srv.Start()
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	cluster.WaitLeader()
	c, err := client.New(urls)
	if err != nil {
		t.Fatal(err)
	}
	return cluster, c
}

func TestOnboard(t *testing.T) {
	cluster, c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	steps := []struct {
		name    string
		team    Team
		wantErr string // "" for success
	}{
		{"a new team", Team{Name: "vision", UFS: "s3://corp/vision", Quota: 50 << 30, TTL: 24 * time.Hour}, ""},
		{"again: kept, quota raised", Team{Name: "vision", UFS: "s3://corp/vision", Quota: 80 << 30, TTL: 24 * time.Hour}, ""},
		{"a second team", Team{Name: "speech", UFS: "file:///srv/speech", Quota: 1 << 30}, ""},
		{"the same name, another UFS", Team{Name: "vision", UFS: "s3://corp/other", Quota: 1 << 30}, "mounted already"},
		{"a UFS mounted for another team", Team{Name: "nlp", UFS: "s3://corp/vision", Quota: 1 << 30}, "mounted"},
		{"a bad name", Team{Name: "Vision!", UFS: "s3://corp/x", Quota: 1 << 30}, "lower-case"},
		{"no quota", Team{Name: "audio", UFS: "s3://corp/audio"}, "quota is required"},
		{"a bad UFS", Team{Name: "tables", UFS: "ftp://corp/tables", Quota: 1 << 30}, "ftp"},
	}
	for _, s := range steps {
		path, err := Onboard(ctx, c, s.team)
		switch {
		case s.wantErr == "" && err != nil:
			t.Errorf("%s: %v", s.name, err)
		case s.wantErr == "" && path != "/teams/"+s.team.Name:
			t.Errorf("%s: mount point %q", s.name, path)
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Errorf("%s: error %v, want one with %q", s.name, err, s.wantErr)
		}
	}

	// Every replica holds the outcome, and only it.
	leader := cluster.WaitLeader()
	if err := cluster.WaitApplied(ctx, leader.FSM().AppliedIndex()); err != nil {
		t.Fatal(err)
	}
	for _, co := range cluster.Coordinators() {
		f := co.FSM()
		if ms := f.Mounts(); len(ms) != 2 {
			t.Errorf("%s: mounts %+v, want vision and speech", co.ID(), ms)
		}
		if m, _ := f.Mount("/teams/vision"); m.UFS != "s3://corp/vision" {
			t.Errorf("%s: /teams/vision is %q", co.ID(), m.UFS)
		}
		if q, _ := f.Quota("/teams/vision"); q.QuotaBytes != 80<<30 {
			t.Errorf("%s: vision's quota is %d, want 80GiB", co.ID(), q.QuotaBytes)
		}
		if q, _ := f.Quota("/teams/speech"); q.QuotaBytes != 1<<30 {
			t.Errorf("%s: speech's quota is %d, want 1GiB", co.ID(), q.QuotaBytes)
		}
		if ttl, ok := f.TTL("/teams/vision"); !ok || ttl.TTL != 24*time.Hour {
			t.Errorf("%s: vision's TTL is %+v", co.ID(), ttl)
		}
		if _, ok := f.TTL("/teams/speech"); ok {
			t.Errorf("%s: speech has a TTL it did not ask for", co.ID())
		}
	}
}
