package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/alluvium/alluvium/api"
	"github.com/alluvium/alluvium/ring"
	"github.com/spf13/cobra"
)

// statusReport is `alluvium status`: the cluster on one screen. With
// --output json it is printed as is.
type statusReport struct {
	Coordinators api.Coordinators `json:"coordinators"`
	Workers      []workerStatus   `json:"workers"`
	// Jobs are the jobs not yet finished: waiting, running or verifying.
	Jobs []api.Job `json:"jobs"`
}

// workerStatus is a worker with its share of the ring.
type workerStatus struct {
	api.Node
	// RingShare is the fraction of files the worker owns on the ring that
	// the cluster builds from its LIVE workers (0 for the others).
	RingShare float64 `json:"ringShare"`
}

func newStatusCommand(cf *clientFlags) *cobra.Command {
	cmd := verb(cf, "status", "Show the cluster on one screen: coordinators, workers, ring shares, running jobs", cobra.NoArgs,
		func(s *session, _ []string) error {
			r, err := gatherStatus(s)
			if err != nil {
				return err
			}
			return s.show(r, func(w io.Writer) { writeStatus(w, r) })
		})
	cmd.Long = `Show the coordinators (the leader marked), the workers with their state,
cache usage and share of the hash ring, and the jobs that have not finished.
Ring shares are those of the ring of LIVE workers (the default, dynamic ring
mode); the web dashboard at the coordinator's / shows the same, live.`
	return cmd
}

// gatherStatus asks the API for what the report shows.
func gatherStatus(s *session) (statusReport, error) {
	var r statusReport
	var err error
	if r.Coordinators, err = s.c.Coordinators(s.ctx); err != nil {
		return r, err
	}
	nodes, err := s.c.Nodes(s.ctx)
	if err != nil {
		return r, err
	}
	if r.Workers, err = withRingShares(nodes.Results); err != nil {
		return r, err
	}
	r.Jobs = []api.Job{}
	for _, list := range []func() (api.Jobs, error){
		func() (api.Jobs, error) { return s.c.LoadJobs(s.ctx, "", 0) },
		func() (api.Jobs, error) { return s.c.FreeJobs(s.ctx, "", 0) },
		func() (api.Jobs, error) { return s.c.RebalanceJobs(s.ctx, "", 0) },
	} {
		js, err := list()
		if err != nil {
			return r, err
		}
		for _, j := range js.Results {
			if activeJob(j.State) {
				r.Jobs = append(r.Jobs, j)
			}
		}
	}
	slices.SortFunc(r.Jobs, func(a, b api.Job) int { return strings.Compare(a.ID, b.ID) })
	return r, nil
}

func activeJob(state string) bool {
	return state == "WAITING" || state == "RUNNING" || state == "VERIFYING"
}

// withRingShares sorts the workers by id and adds each one's share of the
// ring of the LIVE ones, computed as every party of the cluster does.
func withRingShares(nodes []api.Node) ([]workerStatus, error) {
	var live []string
	out := make([]workerStatus, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, workerStatus{Node: n})
		if n.State == "LIVE" {
			live = append(live, n.ID)
		}
	}
	slices.SortFunc(out, func(a, b workerStatus) int { return strings.Compare(a.ID, b.ID) })
	rg, err := ring.New(live, ring.DefaultConfig())
	if err != nil {
		return nil, err
	}
	shares, parts := rg.Shares(), float64(rg.Config().Partitions)
	for i := range out {
		out[i].RingShare = float64(shares[out[i].ID]) / parts
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
		id, role := "  "+m.ID, "follower"
		if m.Leader {
			id, role = "* "+m.ID, "leader"
		}
		if !m.Voter {
			role += " (non-voter)"
		}
		rows = append(rows, []string{id, role, orDash(m.HTTPAddress), m.RaftAddress})
	}
	table(w, []string{"  ID", "ROLE", "HTTP ADDRESS", "RAFT ADDRESS"}, rows)

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
			share := "-"
			if n.State == "LIVE" {
				share = percentText(n.RingShare)
			}
			rows = append(rows, []string{n.ID, n.State, usageBar(n.UsedBytes, n.CapacityBytes, 10),
				bytesText(n.UsedBytes) + " / " + bytesText(n.CapacityBytes), share})
		}
		table(w, []string{"ID", "STATE", "USAGE", "USED / CAPACITY", "RING SHARE"}, rows)
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
