package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/spf13/cobra"
)

// verb is a leaf command of the CLI.
func verb(cf *clientFlags, use, short string, args cobra.PositionalArgs, fn func(s *session, args []string) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args, RunE: cf.action(fn)}
}

func newMountCommand(cf *clientFlags) *cobra.Command {
	var options []string
	add := verb(cf, "add PATH UFS", "Mount a UFS (file:// or s3://) at an Alluxio path", argsExactly(2),
		func(s *session, args []string) error {
			m := api.Mount{Path: args[0], UFS: args[1]}
			for _, o := range options {
				k, v, ok := strings.Cut(o, "=")
				if !ok || k == "" {
					return fmt.Errorf("--option %q: want key=value", o)
				}
				if m.Options == nil {
					m.Options = map[string]string{}
				}
				m.Options[k] = v
			}
			got, err := s.c.AddMount(s.ctx, m)
			if err != nil {
				return err
			}
			return s.show(got, func(w io.Writer) { fmt.Fprintf(w, "Mounted %s at %s.\n", got.UFS, got.Path) })
		})
	add.Flags().StringArrayVar(&options, "option", nil, "a UFS option as key=value, e.g. s3.region=us-east-1 (repeatable)")
	add.Example = `  alluvium mount add /data file:///srv/data
  alluvium mount add /s3 s3://bucket/prefix --option s3.region=us-east-1 \
    --option s3.accessKeyId=... --option s3.secretAccessKey=...`
	return group("mount", "Manage the mount table", add,
		verb(cf, "list", "List the mount points", cobra.NoArgs, func(s *session, _ []string) error {
			ms, err := s.c.Mounts(s.ctx)
			if err != nil {
				return err
			}
			return s.show(ms, func(w io.Writer) { writeMounts(w, ms.Results) })
		}),
		verb(cf, "get PATH", "Show one mount point", argsExactly(1), func(s *session, args []string) error {
			m, err := s.c.Mount(s.ctx, args[0])
			if err != nil {
				return err
			}
			return s.show(m, func(w io.Writer) { writeMounts(w, []api.Mount{m}) })
		}),
		verb(cf, "remove PATH", "Unmount a path, with its policies and cached data", argsExactly(1), func(s *session, args []string) error {
			if err := s.c.RemoveMount(s.ctx, args[0]); err != nil {
				return err
			}
			return s.show(api.Empty{}, func(w io.Writer) { fmt.Fprintf(w, "Unmounted %s.\n", args[0]) })
		}),
	)
}

func newQuotaCommand(cf *clientFlags) *cobra.Command {
	return group("quota", "Manage per-directory cache quotas",
		verb(cf, "set PATH SIZE", `Set the cache quota of a directory, e.g. "50GiB"`, argsExactly(2), func(s *session, args []string) error {
			size, err := api.ParseSize(args[1])
			if err != nil || size <= 0 {
				return fmt.Errorf("quota %q: want a positive size such as 50GiB, 512MiB or 10GB", args[1])
			}
			q, err := s.c.SetQuota(s.ctx, args[0], size)
			if err != nil {
				return err
			}
			return s.show(q, func(w io.Writer) {
				fmt.Fprintf(w, "Set the quota of %s to %s (%s used).\n", q.Path, bytesText(q.QuotaBytes), bytesText(q.UsedBytes))
			})
		}),
		verb(cf, "get PATH", "Show the quota of a directory and its usage", argsExactly(1), func(s *session, args []string) error {
			q, err := s.c.Quota(s.ctx, args[0])
			if err != nil {
				return err
			}
			return s.show(q, func(w io.Writer) { writeQuotas(w, []api.Quota{q}) })
		}),
		verb(cf, "list", "List the quotas and their usage", cobra.NoArgs, func(s *session, _ []string) error {
			qs, err := s.c.Quotas(s.ctx)
			if err != nil {
				return err
			}
			return s.show(qs, func(w io.Writer) { writeQuotas(w, qs.Results) })
		}),
		verb(cf, "remove PATH", "Remove the quota of a directory", argsExactly(1), func(s *session, args []string) error {
			if err := s.c.DeleteQuota(s.ctx, args[0]); err != nil {
				return err
			}
			return s.show(api.Empty{}, func(w io.Writer) { fmt.Fprintf(w, "Removed the quota of %s.\n", args[0]) })
		}),
	)
}

func newTTLCommand(cf *clientFlags) *cobra.Command {
	return group("ttl", "Manage per-directory cache TTLs",
		verb(cf, "set PATH DURATION", `Set how long data under a directory stays cached, e.g. "1h30m" or seconds`, argsExactly(2),
			func(s *session, args []string) error {
				d, err := api.ParseDuration(args[1])
				if err != nil || d <= 0 {
					return fmt.Errorf("ttl %q: want a positive duration such as 1h, 90m or 3600 (seconds)", args[1])
				}
				t, err := s.c.SetTTL(s.ctx, args[0], time.Duration(d))
				if err != nil {
					return err
				}
				return s.show(t, func(w io.Writer) { fmt.Fprintf(w, "Set the TTL of %s to %s.\n", t.Path, durationText(t.TTL)) })
			}),
		verb(cf, "get PATH", "Show the TTL of a directory", argsExactly(1), func(s *session, args []string) error {
			t, err := s.c.TTL(s.ctx, args[0])
			if err != nil {
				return err
			}
			return s.show(t, func(w io.Writer) { writeTTLs(w, []api.TTL{t}) })
		}),
		verb(cf, "list", "List the TTLs", cobra.NoArgs, func(s *session, _ []string) error {
			ts, err := s.c.TTLs(s.ctx)
			if err != nil {
				return err
			}
			return s.show(ts, func(w io.Writer) { writeTTLs(w, ts.Results) })
		}),
		verb(cf, "remove PATH", "Remove the TTL of a directory", argsExactly(1), func(s *session, args []string) error {
			if err := s.c.DeleteTTL(s.ctx, args[0]); err != nil {
				return err
			}
			return s.show(api.Empty{}, func(w io.Writer) { fmt.Fprintf(w, "Removed the TTL of %s.\n", args[0]) })
		}),
	)
}

func newPriorityCommand(cf *clientFlags) *cobra.Command {
	return group("priority", "Manage per-directory eviction priorities",
		verb(cf, "set PATH LEVEL", "Set the eviction priority of a directory: HIGH, MEDIUM or LOW", argsExactly(2),
			func(s *session, args []string) error {
				p, err := s.c.SetPriority(s.ctx, args[0], args[1])
				if err != nil {
					return err
				}
				return s.show(p, func(w io.Writer) { fmt.Fprintf(w, "Set the priority of %s to %s.\n", p.Path, p.Priority) })
			}),
		verb(cf, "get PATH", "Show the priority of a directory", argsExactly(1), func(s *session, args []string) error {
			p, err := s.c.Priority(s.ctx, args[0])
			if err != nil {
				return err
			}
			return s.show(p, func(w io.Writer) { writePriorities(w, []api.Priority{p}) })
		}),
		verb(cf, "list", "List the priorities set on directories", cobra.NoArgs, func(s *session, _ []string) error {
			ps, err := s.c.Priorities(s.ctx)
			if err != nil {
				return err
			}
			return s.show(ps, func(w io.Writer) { writePriorities(w, ps.Results) })
		}),
		verb(cf, "remove PATH", "Remove the priority of a directory (it becomes MEDIUM)", argsExactly(1), func(s *session, args []string) error {
			if err := s.c.DeletePriority(s.ctx, args[0]); err != nil {
				return err
			}
			return s.show(api.Empty{}, func(w io.Writer) { fmt.Fprintf(w, "Removed the priority of %s.\n", args[0]) })
		}),
	)
}

func newCacheFilterCommand(cf *clientFlags) *cobra.Command {
	var addTime, defTime string
	// parseTime reads --time, which a maxAge rule needs and others refuse
	// (said here with the flag's name: the API names its field "time").
	parseTime := func(rule, s string) (time.Duration, error) {
		if s == "" {
			if rule == "maxAge" {
				return 0, errors.New("a maxAge rule needs --time, how long cached data stays fresh, e.g. --time 10m")
			}
			return 0, nil
		}
		d, err := api.ParseDuration(s)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("--time %q: want a positive duration such as 10m or 1h", s)
		}
		if rule != "maxAge" {
			return 0, fmt.Errorf("--time is for maxAge rules only, not %s", rule)
		}
		return time.Duration(d), nil
	}
	add := verb(cf, "add RULE PATTERN", "Add a rule (immutable, skipCache, or maxAge with --time) for paths matching a regex", argsExactly(2),
		func(s *session, args []string) error {
			d, err := parseTime(args[0], addTime)
			if err != nil {
				return err
			}
			rule := api.FilterRule{Rule: args[0], Pattern: args[1]}
			if d > 0 {
				v := api.Duration(d)
				rule.Time = &v
			}
			r, err := s.c.AddFilterRule(s.ctx, rule)
			if err != nil {
				return err
			}
			return s.show(r, func(w io.Writer) {
				fmt.Fprintf(w, "Added rule %s for '%s'%s.\n", r.Rule, r.Pattern, timeSuffix(r.Time))
			})
		})
	add.Flags().StringVar(&addTime, "time", "", `how long cached data stays fresh, for maxAge, e.g. "10m"`)
	add.Example = `  alluvium cache-filter add maxAge '^/s3/live/' --time 10m
  alluvium cache-filter add skipCache '\.tmp$'`
	def := verb(cf, "default RULE", "Change the rule of paths no rule matches", argsExactly(1),
		func(s *session, args []string) error {
			d, err := parseTime(args[0], defTime)
			if err != nil {
				return err
			}
			r, err := s.c.SetDefaultFilterRule(s.ctx, args[0], d)
			if err != nil {
				return err
			}
			return s.show(r, func(w io.Writer) { fmt.Fprintf(w, "The default rule is now %s%s.\n", r.Rule, timeSuffix(r.Time)) })
		})
	def.Flags().StringVar(&defTime, "time", "", "how long cached data stays fresh, for maxAge")
	return group("cache-filter", "Manage the rules that decide how paths are cached", add, def,
		verb(cf, "list", "List the rules in the order they match, and the default", cobra.NoArgs, func(s *session, _ []string) error {
			f, err := s.c.CacheFilter(s.ctx)
			if err != nil {
				return err
			}
			return s.show(f, func(w io.Writer) { writeCacheFilter(w, f) })
		}),
		verb(cf, "remove RULE PATTERN", "Remove a rule", argsExactly(2), func(s *session, args []string) error {
			if err := s.c.RemoveFilterRule(s.ctx, args[0], args[1]); err != nil {
				return err
			}
			return s.show(api.Empty{}, func(w io.Writer) { fmt.Fprintf(w, "Removed rule %s for '%s'.\n", args[0], args[1]) })
		}),
	)
}

func timeSuffix(d *api.Duration) string {
	if d == nil {
		return ""
	}
	return " (" + d.String() + ")"
}
