package linearize_test

import (
	"net/http"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/alluvium/alluvium/internal/linearize"
	"github.com/anishathalye/porcupine"
)

func op(client int, call, ret int64, in linearize.Input, out linearize.Output) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Call: call, Return: ret, Input: in, Output: out}
}

var (
	addGen1 = linearize.Input{Op: linearize.MountAdd, Key: "/m0", Path: "/m0", Value: 1}
	getM0   = linearize.Input{Op: linearize.MountGet, Key: "/m0", Path: "/m0"}
	ok      = linearize.Output{Status: http.StatusOK}
	absent  = linearize.Output{Status: http.StatusNotFound}
	gen1    = linearize.Output{Status: http.StatusOK, Value: 1}
	gen2    = linearize.Output{Status: http.StatusOK, Value: 2}
)

// TestCheckerVerdicts feeds hand-made histories to the checker: it must
// call a stale read Illegal (and write its visualisation), and accept the
// same reads when they overlap the write or the write's answer was lost.
func TestCheckerVerdicts(t *testing.T) {
	tests := []struct {
		name    string
		history []porcupine.Operation
		want    porcupine.CheckResult
	}{
		{"read after an acknowledged write misses it", []porcupine.Operation{
			op(0, 0, 10, addGen1, ok),
			op(1, 20, 30, getM0, absent),
		}, porcupine.Illegal},
		{"read overlapping the write may miss it", []porcupine.Operation{
			op(0, 0, 10, addGen1, ok),
			op(1, 5, 30, getM0, absent),
		}, porcupine.Ok},
		{"reads go back in time", []porcupine.Operation{
			op(0, 0, 100, addGen1, ok),
			op(1, 10, 20, getM0, gen1),
			op(2, 30, 40, getM0, absent),
		}, porcupine.Illegal},
		{"a value nobody wrote", []porcupine.Operation{
			op(0, 0, 10, addGen1, ok),
			op(1, 20, 30, getM0, gen2),
		}, porcupine.Illegal},
		{"an unanswered write may take effect late", []porcupine.Operation{
			op(0, 0, 1000, addGen1, linearize.Output{Unknown: true}),
			op(1, 20, 30, getM0, absent),
			op(1, 40, 50, getM0, gen1),
		}, porcupine.Ok},
		{"an unanswered write cannot take effect twice", []porcupine.Operation{
			op(0, 0, 1000, addGen1, linearize.Output{Unknown: true}),
			op(1, 20, 30, getM0, gen1),
			op(2, 40, 50, getM0, absent),
		}, porcupine.Illegal},
		{"a violation in one partition is found among others", []porcupine.Operation{
			op(0, 0, 10, linearize.Input{Op: linearize.MountAdd, Key: "/m1", Path: "/m1", Value: 1}, ok),
			op(0, 20, 30, addGen1, ok),
			op(1, 25, 26, linearize.Input{Op: linearize.MountGet, Key: "/m1", Path: "/m1"}, gen1),
			op(1, 40, 50, getM0, absent),
		}, porcupine.Illegal},
	}
	t.Setenv(linearize.OutDirEnv, t.TempDir())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := linearize.Check(tt.history, []linearize.Event{{Start: 1, End: 2, What: "kill c1"}}, "handmade")
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tt.want {
				t.Fatalf("verdict %s, want %s", res.Verdict, tt.want)
			}
			if tt.want == porcupine.Ok {
				if res.File != "" {
					t.Fatalf("a linearizable history was written to %s", res.File)
				}
				return
			}
			if fi, err := os.Stat(res.File); err != nil || fi.Size() == 0 {
				t.Fatalf("no visualisation of the illegal history: %v", err)
			}
		})
	}
}

// TestCheckerCatchesStaleFollowerReads runs a deliberately broken client,
// one that reads with ?stale=true, against a real cluster: a follower cut
// off from the others answers from its old state after a write was
// acknowledged, and the checker must say so. The same reads without
// ?stale=true are forwarded to the leader and pass.
func TestCheckerCatchesStaleFollowerReads(t *testing.T) {
	for _, stale := range []bool{true, false} {
		name := map[bool]string{true: "stale", false: "linearizable"}[stale]
		t.Run(name, func(t *testing.T) {
			t.Setenv(linearize.OutDirEnv, t.TempDir())
			c := linearize.NewCluster(t, 3)
			leader := c.WaitLeader().ID()
			var follower string
			for _, id := range c.IDs() {
				if id != leader {
					follower = id
					break
				}
			}
			hc := &http.Client{Timeout: linearize.RequestTimeout + time.Second}
			rec := linearize.NewRecorder()
			cl := linearize.NewClients(1, 1, hc, nil, rec)[0]
			cl.Stale = stale
			// The follower has the empty state; cut it off, then write.
			mustAnswer(t, cl, c.URL(follower), getM0)
			c.Partition(follower)
			if out := mustAnswer(t, cl, c.URL(leader), addGen1); out.Status != http.StatusOK {
				t.Fatalf("mount through the leader: %d", out.Status)
			}
			mustAnswer(t, cl, c.URL(follower), getM0)
			c.Heal()

			res, err := linearize.Check(rec.Operations(), nil, "stale-reads-"+name)
			if err != nil {
				t.Fatal(err)
			}
			want := porcupine.Ok
			if stale {
				want = porcupine.Illegal
			}
			if res.Verdict != want {
				t.Fatalf("verdict %s, want %s (history in %s)", res.Verdict, want, res.File)
			}
			if stale && res.File == "" {
				t.Fatal("no visualisation of the stale history")
			}
		})
	}
}

// mustAnswer makes a call until it gets a definite answer.
func mustAnswer(t *testing.T, cl *linearize.Client, base string, in linearize.Input) linearize.Output {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := cl.DoOn(base, in)
		if err != nil {
			t.Fatal(err)
		}
		if !out.Unknown && out.Status != http.StatusServiceUnavailable {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer to %v from %s", in.Op, base)
		}
	}
}

// TestScheduleIsDerivedFromTheSeed checks that a seed replays the same
// faults, that seeds differ, and that a short history sees every fault.
func TestScheduleIsDerivedFromTheSeed(t *testing.T) {
	d := 3 * time.Second
	a, b := linearize.Schedule(7, d), linearize.Schedule(7, d)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("seed 7 gave two schedules:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, linearize.Schedule(8, d)) {
		t.Fatal("seeds 7 and 8 gave the same schedule")
	}
	for seed := range uint64(20) {
		s := linearize.Schedule(seed, d)
		var total time.Duration
		seen := map[linearize.Fault]bool{}
		for _, st := range s {
			total += st.Wait + st.Hold
			seen[st.Fault] = true
		}
		if total < d || len(s) < 4 || len(seen) != 4 {
			t.Fatalf("seed %d: %d steps over %s, faults %v", seed, len(s), total, seen)
		}
	}
}
