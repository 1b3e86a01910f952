package main

import (
	"fmt"
	"io"

	"github.com/alluvium/alluvium/api"
	alluvium "github.com/alluvium/alluvium/client"
	"github.com/spf13/cobra"
)

func newNodesCommand(cf *clientFlags) *cobra.Command {
	return group("nodes", "List and decommission workers",
		verb(cf, "list", "List the workers", cobra.NoArgs, func(s *session, _ []string) error {
			ns, err := s.c.Nodes(s.ctx)
			if err != nil {
				return err
			}
			return s.show(ns, func(w io.Writer) { writeNodes(w, ns.Results) })
		}),
		verb(cf, "get ID", "Show one worker", argsExactly(1), func(s *session, args []string) error {
			n, err := s.c.Node(s.ctx, args[0])
			if err != nil {
				return err
			}
			return s.show(n, func(w io.Writer) { writeNodes(w, []api.Node{n}) })
		}),
		withAliases(verb(cf, "remove ID", "Remove a worker from the cluster for good (it leaves the ring; a restart registers it anew)", argsExactly(1), func(s *session, args []string) error {
			n, err := s.c.RemoveNode(s.ctx, args[0])
			if err != nil {
				return err
			}
			return s.show(n, func(w io.Writer) { fmt.Fprintf(w, "Removed %s from the cluster (it was %s).\n", n.ID, n.State) })
		}), "decommission"),
	)
}

func newFileIndexCommand(cf *clientFlags) *cobra.Command {
	var prefix, lastKey string
	var n int
	list := verb(cf, "list", "List entries of the global file index, a page at a time", cobra.NoArgs, func(s *session, _ []string) error {
		if n < 0 {
			return fmt.Errorf("--count %d: want a positive page size, or 0 for all", n)
		}
		fi, err := s.c.FileIndex(s.ctx, prefix, lastKey, n)
		if err != nil {
			return err
		}
		return s.show(fi, func(w io.Writer) { writeFileIndex(w, fi) })
	})
	list.Flags().StringVar(&prefix, "prefix", "", "only paths that start with this")
	list.Flags().StringVar(&lastKey, "last-key", "", "start after this path (the previous page's last)")
	list.Flags().IntVar(&n, "count", 0, "page size (0: all)")
	return group("file-index", "Read and change the global index of cached files", list,
		verb(cf, "add PATH...", "Record paths in the file index", argsBetween(1, -1), func(s *session, args []string) error {
			added, err := s.c.FileIndexAdd(s.ctx, args...)
			if err != nil {
				return err
			}
			return s.show(api.FileIndexAdded{Added: added}, func(w io.Writer) { fmt.Fprintf(w, "Added %d of %d paths.\n", added, len(args)) })
		}),
		verb(cf, "remove PATH...", "Remove paths from the file index", argsBetween(1, -1), func(s *session, args []string) error {
			removed, err := s.c.FileIndexRemove(s.ctx, args...)
			if err != nil {
				return err
			}
			return s.show(api.FileIndexRemoved{Removed: removed}, func(w io.Writer) { fmt.Fprintf(w, "Removed %d of %d paths.\n", removed, len(args)) })
		}),
	)
}

func newCacheCommand(cf *clientFlags) *cobra.Command {
	// op reports a cache operation; workers that did not accept it make the
	// command fail, after they are listed.
	op := func(s *session, r api.CacheOpResult, done string) error {
		if err := s.show(r, func(w io.Writer) { writeCacheOp(w, r, done) }); err != nil {
			return err
		}
		if len(r.Errors) > 0 {
			return fmt.Errorf("%d workers did not accept", len(r.Errors))
		}
		return nil
	}
	return group("cache", "Clear cached data that workers no longer own",
		verb(cf, "clear-stale", "Tell every live worker to delete what it no longer owns on the ring", cobra.NoArgs,
			func(s *session, _ []string) error {
				r, err := s.c.ClearStale(s.ctx)
				if err != nil {
					return err
				}
				return op(s, r, "Clearing stale cache on every live worker; see `alluvium cache status`.")
			}),
		verb(cf, "stop", "Tell every live worker to stop clearing stale cache", cobra.NoArgs, func(s *session, _ []string) error {
			r, err := s.c.StopClearStale(s.ctx)
			if err != nil {
				return err
			}
			return op(s, r, "Stopped clearing stale cache on every live worker.")
		}),
		verb(cf, "status", "Show each worker's clear-stale progress", cobra.NoArgs, func(s *session, _ []string) error {
			st, err := s.c.ClearStaleStatus(s.ctx)
			if err != nil {
				return err
			}
			return s.show(st, func(w io.Writer) { writeCacheStatus(w, st) })
		}),
	)
}

func newCoordinatorsCommand(cf *clientFlags) *cobra.Command {
	cmd := verb(cf, "coordinators", "Show the coordinators, the leader and the term, and which are down", cobra.NoArgs, func(s *session, _ []string) error {
		st, err := s.c.Coordinators(s.ctx)
		if err != nil {
			return err
		}
		r := cf.probeCoordinators(s.ctx, st)
		return s.show(r, func(w io.Writer) { writeCoordinators(w, r) })
	})
	cmd.Long = `Show the coordinators of the cluster as the answering one knows them (the
Raft configuration), the leader and the term; each is then asked for its
health: one that does not answer is shown as down, one without a leader or
behind its log as unhealthy.`
	return cmd
}

// healthReport is one coordinator's answer to `alluvium health`.
type healthReport struct {
	URL    string      `json:"url"`
	Health *api.Health `json:"health,omitempty"`
	Error  string      `json:"error,omitempty"`
}

func newHealthCommand(cf *clientFlags) *cobra.Command {
	cmd := verb(cf, "health", "Check each --coordinator: has it a leader and has it applied its log?", cobra.NoArgs,
		func(s *session, _ []string) error {
			var reports []healthReport
			bad := 0
			for _, u := range s.c.URLs() {
				// One client per URL, without failover: each is asked itself.
				c, err := cf.newClient([]string{u}, alluvium.WithRetries(0))
				if err != nil {
					return err
				}
				r := healthReport{URL: u}
				if h, err := c.Health(s.ctx); err != nil {
					r.Error, bad = err.Error(), bad+1
				} else {
					r.Health = &h
				}
				reports = append(reports, r)
			}
			if err := s.show(reports, func(w io.Writer) { writeHealth(w, reports) }); err != nil {
				return err
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d coordinators are unhealthy", bad, len(reports))
			}
			return nil
		})
	cmd.Long = `Ask each coordinator given with --coordinator for its health; exit non-zero
when any is unhealthy (no leader, behind its log, or unreachable).`
	return cmd
}

func writeHealth(w io.Writer, reports []healthReport) {
	for _, r := range reports {
		if r.Health == nil {
			fmt.Fprintf(w, "%s: unhealthy: %s\n", r.URL, r.Error)
			continue
		}
		h := r.Health
		fmt.Fprintf(w, "%s: %s (%s, %s, leader %s, applied %d of %d)\n",
			r.URL, h.Status, h.ID, h.State, orDash(h.Leader), h.AppliedIndex, h.CommitIndex)
	}
}

// withAliases gives a command other names (an earlier name of a verb).
func withAliases(c *cobra.Command, aliases ...string) *cobra.Command {
	c.Aliases = append(c.Aliases, aliases...)
	return c
}
