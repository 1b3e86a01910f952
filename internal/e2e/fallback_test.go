package e2e

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// A client reads from the owner on the ring and, when the owner is down but
// not yet LOST, from the next replica.
func TestClientFallsBackToTheNextReplica(t *testing.T) {
	t.Parallel()
	e, nodes := clusterWith(t, 2)
	c, ctx := e.c, context.Background()
	want := e.put("f.bin", 3*page+5)

	r, err := c.Open(ctx, "/data/f.bin", "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, want) {
		t.Fatal("first read differs")
	}
	owner := r.Worker
	for _, n := range nodes { // stop the owner; it stays LIVE until its timeout
		if n.Worker.ID() == owner {
			n.Close()
		}
	}
	r, err = c.Open(ctx, "/data/f.bin", "bytes=1-10")
	if err != nil {
		t.Fatalf("read with the owner down: %v", err)
	}
	got, _ = io.ReadAll(r)
	r.Close()
	if r.Worker == owner || !bytes.Equal(got, want[1:11]) {
		t.Fatalf("read with the owner down: served by %s (owner %s), %d bytes", r.Worker, owner, len(got))
	}
}
