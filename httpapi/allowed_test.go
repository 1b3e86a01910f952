package httpapi_test

import (
	"testing"

	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/coordinator/coordinatortest"
	"github.com/alluvium/alluvium/httpapi"
	"github.com/alluvium/alluvium/ufs"
)

// TestMountOutsideAllowedUFSIs403: a mount outside --allowed-ufs is
// refused with 403 and a reason, and nothing is committed.
func TestMountOutsideAllowedUFSIs403(t *testing.T) {
	allowed, err := ufs.ParseAllowlist([]string{"/srv/datasets", "s3://models/prod"})
	if err != nil {
		t.Fatal(err)
	}
	c := coordinatortest.New(t, 1, coordinatortest.WithConfig(func(cfg *coordinator.Config) {
		cfg.NoScheduler, cfg.AllowedUFS = true, allowed
	}))
	co := c.WaitLeader()
	srv := serve(t, co, httpapi.DefaultOptions())
	run(t, srv.URL, []step{
		{"a local root outside", "POST", "/api/v1/mount", `{"path":"/etc","ufs":"file:///etc"}`, 403, []string{"outside the allowed UFS locations"}, nil},
		{"a sibling of an allowed root", "POST", "/api/v1/mount", `{"path":"/d","ufs":"file:///srv/datasets2"}`, 403, nil, nil},
		{"another endpoint", "POST", "/api/v1/mount", `{"path":"/m","ufs":"s3://models/prod","options":{"s3.endpoint":"http://169.254.169.254:80"}}`, 403, []string{"169.254.169.254"}, nil},
		{"inside", "POST", "/api/v1/mount", `{"path":"/d","ufs":"file:///srv/datasets/a"}`, 200, nil, nil},
	}, nil)
	if n := len(co.Mounts()); n != 1 {
		t.Fatalf("%d mounts committed, want 1", n)
	}
}
