package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/alluvium/alluvium/api"
	alluvium "github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/ring"
	"github.com/spf13/cobra"
)

// statusReport is `alluvium status`: the cluster on one screen. With
// --output json it is printed as is.
type statusReport struct {
	Coordinators coordinatorsReport `json:"coordinators"`
	// Stale, when set, says why the workers and jobs are the answering
	// coordinator's own view (?stale=true) rather than the leader's: there
	// is no leader to ask.
	Stale   string         `json:"stale,omitempty"`
	Workers []workerStatus `json:"workers"`
	// Jobs are the jobs not yet finished: waiting, running or verifying.
	Jobs []api.Job `json:"jobs"`
}

// workerStatus is a worker with its share of the ring.
type workerStatus struct {
	api.Node
	// RingShare is the fraction of files the worker owns on the ring that
	// the cluster builds from its LIVE workers (0 for the others).
	RingShare float64 `json:"ringShare"`
	// CapacityShare is the worker's share of the ring's weight (its
	// capacity over the LIVE workers'): what RingShare should be.
	CapacityShare float64 `json:"capacityShare"`
}

func newStatusCommand(cf *clientFlags) *cobra.Command {
	cmd := verb(cf, "status", "Show the cluster on one screen: coordinators, workers, ring shares, running jobs", cobra.NoArgs,
		func(s *session, _ []string) error {
			st, err := s.c.Coordinators(s.ctx) // any coordinator answers this, with a leader or not
			if err != nil {
				return err
			}
			r := statusReport{Coordinators: cf.probeCoordinators(s.ctx, st)}
			for _, m := range r.Coordinators.Results {
				if m.Leader && m.Reach == "down" {
					r.Stale = fmt.Sprintf("no raft leader: the leader %s does not answer", m.ID)
				}
			}
			err = gatherStatus(s, &r)
			if err != nil && r.Stale == "" && st.Leader != "" && alluvium.IsUnavailable(err) {
				r.Stale = fmt.Sprintf("no raft leader: the leader %s does not serve reads", st.Leader)
			}
			if err != nil && r.Stale != "" {
				// Without a leader, the answering coordinator's own view.
				stale, cerr := cf.newClient(s.c.URLs(), alluvium.WithStaleReads())
				if cerr != nil {
					return cerr
				}
				err = gatherStatus(&session{ctx: s.ctx, c: stale, out: s.out, json: s.json}, &r)
			}
			if err != nil {
				return err
			}
			if err := s.show(r, func(w io.Writer) { writeStatus(w, r) }); err != nil {
				return err
			}
			if r.Stale != "" {
				return fmt.Errorf("the cluster has no working leader: %s", r.Stale)
			}
			return nil
		})
	cmd.Long = `Show the coordinators (the leader marked, and each one's own health: down
when it does not answer), the workers with their state, cache usage and
share of the hash ring against their share of the capacity (the ring
weighs workers by capacity), and the jobs that have not finished. Ring shares are
those of the ring of LIVE workers (the default, dynamic ring mode); the web
dashboard at the coordinator's / shows the same, live.

Without a leader (no quorum), status still shows the coordinators, and the
workers and jobs as the answering coordinator last knew them, marked stale;
it then exits 1.`
	return cmd
}

// gatherStatus asks the API for the workers and jobs of the report. When
// the coordinators know no leader, r.Stale says so and nothing is asked:
// the caller asks again with stale reads.
func gatherStatus(s *session, r *statusReport) error {
	if r.Coordinators.Leader == "" && r.Stale == "" {
		r.Stale = "no raft leader (a quorum of coordinators is down or cannot reach each other)"
		return errors.New(r.Stale)
	}
	nodes, err := s.c.Nodes(s.ctx)
	if err != nil {
		return err
	}
	if r.Workers, err = withRingShares(nodes.Results); err != nil {
		return err
	}
	r.Jobs = []api.Job{}
	for _, list := range []func() (api.Jobs, error){
		func() (api.Jobs, error) { return s.c.LoadJobs(s.ctx, "", 0) },
		func() (api.Jobs, error) { return s.c.FreeJobs(s.ctx, "", 0) },
		func() (api.Jobs, error) { return s.c.RebalanceJobs(s.ctx, "", 0) },
	} {
		js, err := list()
		if err != nil {
			return err
		}
		for _, j := range js.Results {
			if activeJob(j.State) {
				r.Jobs = append(r.Jobs, j)
			}
		}
	}
	slices.SortFunc(r.Jobs, func(a, b api.Job) int { return strings.Compare(a.ID, b.ID) })
	return nil
}

func activeJob(state string) bool {
	return state == "WAITING" || state == "RUNNING" || state == "VERIFYING"
}

// withRingShares sorts the workers by id and adds each one's share of the
// ring of the LIVE ones, computed as every party of the cluster does.
func withRingShares(nodes []api.Node) ([]workerStatus, error) {
	live := map[string]ring.Capacity{}
	out := make([]workerStatus, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, workerStatus{Node: n})
		if n.State == "LIVE" {
			live[n.ID] = ring.Capacity{Bytes: n.CapacityBytes, Scale: n.RingWeight}
		}
	}
	slices.SortFunc(out, func(a, b workerStatus) int { return strings.Compare(a.ID, b.ID) })
	rg, err := ring.FromMembers(live, ring.DefaultConfig())
	if err != nil {
		return nil, err
	}
	shares, total := rg.Shares(), 0.0
	for _, id := range rg.Members() {
		total += rg.Weight(id)
	}
	for i := range out {
		out[i].RingShare = shares[out[i].ID]
		if total > 0 {
			out[i].CapacityShare = rg.Weight(out[i].ID) / total
		}
	}
	return out, nil
}

// usageBar draws used/capacity in width characters: "[###.......]".
func usageBar(used, capacity int64, width int) string {
	filled := 0
	if capacity > 0 {
		filled = int(min(max(used, 0), capacity) * int64(width) / capacity)
		if used > 0 && filled == 0 {
			filled = 1 // something is cached: show it
		}
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
}

func percentText(f float64) string {
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}

func writeStatus(w io.Writer, r statusReport) {
	c := r.Coordinators
	fmt.Fprintf(w, "Coordinators: leader %s, term %d (answered by %s)\n", orDash(c.Leader), c.Term, orDash(c.ServedBy))
	rows := make([][]string, 0, len(c.Results))
	for _, m := range c.Results {
		id := "  " + m.ID
		if m.Leader {
			id = "* " + m.ID
		}
		rows = append(rows, []string{id, role(m.Coordinator), m.state(), orDash(m.HTTPAddress), m.RaftAddress})
	}
	table(w, []string{"  ID", "ROLE", "STATE", "HTTP ADDRESS", "RAFT ADDRESS"}, rows)
	writeMemberErrors(w, c.Results)
	if r.Stale != "" {
		fmt.Fprintf(w, "\nSTALE: %s. The workers and jobs below are as coordinator %s last knew them.\n", r.Stale, orDash(c.ServedBy))
	}

	live := 0
	for _, n := range r.Workers {
		if n.State == "LIVE" {
			live++
		}
	}
	fmt.Fprintf(w, "\nWorkers: %d LIVE of %d\n", live, len(r.Workers))
	if len(r.Workers) == 0 {
		fmt.Fprintln(w, "No workers.")
	} else {
		rows = rows[:0]
		for _, n := range r.Workers {
			share, want := "-", "-"
			if n.State == "LIVE" {
				share, want = percentText(n.RingShare), percentText(n.CapacityShare)
			}
			rows = append(rows, []string{n.ID, n.State, usageBar(n.UsedBytes, n.CapacityBytes, 10),
				bytesText(n.UsedBytes) + " / " + bytesText(n.CapacityBytes), share, want})
		}
		table(w, []string{"ID", "STATE", "USAGE", "USED / CAPACITY", "RING SHARE", "CAPACITY SHARE"}, rows)
	}

	fmt.Fprintln(w)
	if len(r.Jobs) == 0 {
		fmt.Fprintln(w, "No running jobs.")
		return
	}
	fmt.Fprintf(w, "Running jobs: %d\n", len(r.Jobs))
	rows = rows[:0]
	for _, j := range r.Jobs {
		rows = append(rows, []string{j.ID, j.Type, j.State, jobName(j), count(processedFiles(j)),
			bytesText(movedBytes(j)), bytesText(j.ThroughputBytesPerSecond) + "/s"})
	}
	table(w, []string{"ID", "TYPE", "STATE", "NAME", "FILES DONE", "BYTES", "THROUGHPUT"}, rows)
}
