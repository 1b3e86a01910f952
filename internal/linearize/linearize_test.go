package linearize_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alluvium/alluvium/internal/linearize"
	"github.com/anishathalye/porcupine"
)

// Knobs for longer runs (make linearize). Seeds are 1..N unless one seed is
// named, to replay it.
const (
	seedsEnv    = "ALLUVIUM_LINEARIZE_SEEDS"    // how many seeds, or a range "21-100" (default 20, 5 with -short)
	seedEnv     = "ALLUVIUM_LINEARIZE_SEED"     // run only this seed
	durationEnv = "ALLUVIUM_LINEARIZE_DURATION" // history length per seed (default 3s)
	clientsEnv  = "ALLUVIUM_LINEARIZE_CLIENTS"  // concurrent clients (default 4)
)

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func seeds(t *testing.T) []uint64 {
	if v := os.Getenv(seedEnv); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a seed", seedEnv, v)
		}
		return []uint64{s}
	}
	first, last := uint64(1), uint64(20)
	if testing.Short() {
		last = 5
	}
	if v := os.Getenv(seedsEnv); v != "" {
		a, b, isRange := strings.Cut(v, "-")
		var err1, err2 error
		if isRange {
			first, err1 = strconv.ParseUint(a, 10, 64)
			last, err2 = strconv.ParseUint(b, 10, 64)
		} else {
			last, err1 = strconv.ParseUint(a, 10, 64)
		}
		if err1 != nil || err2 != nil || first < 1 || last < first {
			t.Fatalf("%s=%q: want a count (20) or a range of seeds (21-100)", seedsEnv, v)
		}
	}
	var out []uint64
	for s := first; s <= last; s++ {
		out = append(out, s)
	}
	return out
}

func historyLength(t *testing.T) time.Duration {
	v := os.Getenv(durationEnv)
	if v == "" {
		return 3 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a duration such as 30s", durationEnv, v)
	}
	return d
}

// TestLinearizableUnderFaults records histories of concurrent clients
// against a three-node cluster while a nemesis kills, isolates and restarts
// coordinators, and checks each with porcupine.
func TestLinearizableUnderFaults(t *testing.T) {
	d := historyLength(t)
	clients := envInt(t, clientsEnv, 4)
	var total, unknown atomic.Int64
	start := time.Now()
	for _, seed := range seeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			ops, u := runSeed(t, seed, d, clients)
			total.Add(int64(ops))
			unknown.Add(int64(u))
		})
	}
	t.Logf("%d operations checked (%d without a definite answer) in %s", total.Load(), unknown.Load(), time.Since(start).Round(time.Millisecond))
}

func runSeed(t *testing.T, seed uint64, d time.Duration, nClients int) (ops, unknown int) {
	c := linearize.NewCluster(t, 3)
	c.WaitLeader()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: linearize.RequestTimeout + time.Second}
	var urls []string
	for _, id := range c.IDs() {
		urls = append(urls, c.URL(id))
	}
	mountJobs(t, hc, urls[0])

	rec := linearize.NewRecorder()
	clients := linearize.NewClients(nClients, seed, hc, urls, rec)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl.Run(ctx, func(err error) { t.Error(err) })
		}()
	}
	nem := linearize.NewNemesis(c, rec.Now)
	events := nem.Run(linearize.Schedule(seed, d), ctx.Done())
	<-ctx.Done()
	wg.Wait()
	for _, e := range events {
		t.Logf("nemesis %6.3fs-%6.3fs %s", float64(e.Start)/1e9, float64(e.End)/1e9, e.What)
	}

	historyDone := time.Now()

	// The faults are over: read every register once more.
	c.WaitLeader()
	final := clients[0]
	for _, in := range linearize.FinalReads() {
		deadline := time.Now().Add(20 * time.Second)
		for {
			out, err := final.Do(in)
			if err != nil {
				t.Error(err)
			}
			if !out.Unknown {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no answer to %v after 20s", in.Op)
			}
		}
	}

	history := rec.Operations()
	for _, op := range history {
		if op.Output.(linearize.Output).Unknown {
			unknown++
		}
	}
	checkStart := time.Now()
	res, err := linearize.Check(history, events, fmt.Sprint(seed))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d operations, %d without a definite answer: %s (final reads %s, check %s)", len(history), unknown, res.Verdict,
		checkStart.Sub(historyDone).Round(time.Millisecond), time.Since(checkStart).Round(time.Millisecond))
	if res.Verdict != porcupine.Ok {
		for key, n := range linearize.PartitionSizes(history) {
			t.Logf("partition %s: %d operations, %d without a definite answer", key, n[0], n[1])
		}
	}
	if res.Verdict != porcupine.Ok {
		t.Fatalf("seed %d: history is %s; visualisation in %s (replay with %s=%d)", seed, res.Verdict, res.File, seedEnv, seed)
	}
	return len(history), unknown
}

// mountJobs mounts the directory that job paths lie under, through the API.
func mountJobs(t *testing.T, hc *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		body := fmt.Sprintf(`{"path":%q,"ufs":"file:///srv/jobs"}`, linearize.JobMount)
		resp, err := hc.Post(base+"/api/v1/mount", "application/json", strings.NewReader(body))
		if err == nil {
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			resp.Body.Close()
			// 409: an earlier try that got no answer took effect.
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusConflict {
				return
			}
			err = fmt.Errorf("%d %s", resp.StatusCode, b.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("mount %s: %v", linearize.JobMount, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
