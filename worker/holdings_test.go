package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/cache"
)

// journalCache is a cache whose holding changes go to a fresh journal, and
// a UFS folder with files f0..f9 of one page.
func journalCache(t *testing.T) (*journal, *cache.Cache, func(name string)) {
	t.Helper()
	j := newJournal()
	c, err := cache.Open(cache.Config{Dir: t.TempDir(), PageSize: testPage, CapacityBytes: 100 * testPage, OnHolding: j.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	dir := t.TempDir()
	load := func(name string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, testPage), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Load(context.Background(), "/"+name, osOrigin(p)); err != nil {
			t.Fatal(err)
		}
	}
	return j, c, load
}

// osOrigin reads a local file.
type osOrigin string

func (o osOrigin) Stat(context.Context) (cache.Meta, error) {
	st, err := os.Stat(string(o))
	if err != nil {
		return cache.Meta{}, err
	}
	return cache.Meta{Size: st.Size(), ModTime: st.ModTime()}, nil
}

func (o osOrigin) ReadAt(_ context.Context, p []byte, off int64) (int, error) {
	f, err := os.Open(string(o))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.ReadAt(p, off)
}

func seqs(r *api.HoldingReport) []uint64 {
	var out []uint64
	for _, e := range r.Events {
		out = append(out, e.Seq)
	}
	return out
}

func TestJournal(t *testing.T) {
	t.Run("a first report resets, then announces what the cache holds", func(t *testing.T) {
		j, c, load := journalCache(t)
		load("a")
		load("b")
		r := j.report(c)
		if r == nil || len(r.Events) != 3 || !r.Events[0].Reset || r.Events[1].Path != "/a" || r.Events[2].Path != "/b" {
			t.Fatalf("first report: %+v", r)
		}
		if j.started() {
			t.Fatal("started before any acknowledgement")
		}
		j.ack(api.HoldingAck{Epoch: r.Epoch, Seq: r.Events[1].Seq}) // the reset and /a
		if !j.started() {
			t.Fatal("not started after the reset was acknowledged")
		}
		load("c")
		r2 := j.report(c)
		if got := seqs(r2); len(got) != 2 || got[0] != r.Events[2].Seq || r2.Epoch != r.Epoch {
			t.Fatalf("after a partial acknowledgement: %v", got)
		}
		j.ack(api.HoldingAck{Epoch: r.Epoch, Seq: r2.Events[1].Seq})
		if r3 := j.report(c); r3 != nil {
			t.Fatalf("nothing is left, yet: %+v", r3)
		}
	})
	t.Run("an acknowledgement of another epoch starts a new one, above it", func(t *testing.T) {
		j, c, load := journalCache(t)
		load("a")
		r := j.report(c)
		j.ack(api.HoldingAck{Epoch: r.Epoch, Seq: r.Events[len(r.Events)-1].Seq})
		future := r.Epoch + uint64(time.Hour)
		j.ack(api.HoldingAck{Epoch: future})
		r2 := j.report(c)
		if r2 == nil || r2.Epoch <= future || !r2.Events[0].Reset || len(r2.Events) != 2 {
			t.Fatalf("after the index answered another epoch: %+v", r2)
		}
	})
	t.Run("an index that went back starts a new epoch", func(t *testing.T) {
		j, c, load := journalCache(t)
		load("a")
		r := j.report(c)
		j.ack(api.HoldingAck{Epoch: r.Epoch, Seq: r.Events[1].Seq})
		j.ack(api.HoldingAck{Epoch: r.Epoch, Seq: 1})
		if r2 := j.report(c); r2 == nil || r2.Epoch == r.Epoch || !r2.Events[0].Reset {
			t.Fatalf("after the index went back: %+v", r2)
		}
	})
	t.Run("an overflow starts a new epoch", func(t *testing.T) {
		j, c, load := journalCache(t)
		r := j.report(c)
		j.ack(api.HoldingAck{Epoch: r.Epoch, Seq: r.Events[0].Seq})
		j.mu.Lock()
		for i := range journalEvents {
			j.events = append(j.events, api.HoldingEvent{Seq: uint64(i + 10), Path: "/x"})
		}
		j.mu.Unlock()
		load("a") // one too many
		r2 := j.report(c)
		if r2 == nil || r2.Epoch == r.Epoch || !r2.Events[0].Reset || len(r2.Events) != 2 {
			t.Fatalf("after an overflow: %d events, epoch %d (was %d)", len(r2.Events), r2.Epoch, r.Epoch)
		}
	})
	t.Run("a report is bounded, and the rest is a backlog", func(t *testing.T) {
		j, c, _ := journalCache(t)
		r := j.report(c)
		j.ack(api.HoldingAck{Epoch: r.Epoch, Seq: r.Events[0].Seq})
		j.mu.Lock()
		for i := range reportEvents + 10 {
			j.events = append(j.events, api.HoldingEvent{Seq: r.Events[0].Seq + uint64(i) + 1, Path: "/x"})
		}
		j.mu.Unlock()
		r2 := j.report(c)
		if len(r2.Events) != reportEvents || !j.backlog() {
			t.Fatalf("%d events, backlog %v", len(r2.Events), j.backlog())
		}
		j.ack(api.HoldingAck{Epoch: r.Epoch, Seq: r2.Events[len(r2.Events)-1].Seq})
		if r3 := j.report(c); len(r3.Events) != 10 || j.backlog() {
			t.Fatalf("the rest: %d events, backlog %v", len(r3.Events), j.backlog())
		}
	})
}
