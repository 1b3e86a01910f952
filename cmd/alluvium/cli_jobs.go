package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/alluvium/alluvium/api"
	alluvium "github.com/alluvium/alluvium/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// jobFlags are the flags of load and free, as in Alluxio's `job load`: what
// the job is about, what to do with it, and a submission's options.
type jobFlags struct {
	typ                    string // "load" or "free"
	paths                  []string
	index, alias           string
	submit, progress, stop bool
	wait                   bool

	batchSize, replicas int
	regex               string
	// load
	skipIfExists, metadataOnly, verify bool
	loadPolicy, bandwidth              string
	// free
	force bool
}

// submitOnly are the flags that make sense with --submit only.
var submitOnly = []string{"wait", "batch-size", "replicas", "file-filter-regex", "skip-if-exists", "load-policy",
	"metadata-only", "verify", "bandwidth", "force",
	"load-batch-size", "load-bandwidth", "prune-bandwidth", "skip-prune"}

// jobAction returns which of --submit, --progress and --stop was given, and
// refuses submission options without --submit.
func jobAction(fs *pflag.FlagSet, submit, progress, stop bool) (string, error) {
	n, act := 0, ""
	for _, a := range []struct {
		on   bool
		name string
	}{{submit, "submit"}, {progress, "progress"}, {stop, "stop"}} {
		if a.on {
			n++
			act = a.name
		}
	}
	if n != 1 {
		return "", errors.New("give one of --submit, --progress and --stop")
	}
	if act != "submit" {
		for _, name := range submitOnly {
			if f := fs.Lookup(name); f != nil && f.Changed {
				return "", fmt.Errorf("--%s applies to --submit only", name)
			}
		}
	}
	return act, nil
}

// target checks --path, --alias and --index, and returns the request's
// fields: an index, or paths with an alias (a single path is its own alias).
func (f *jobFlags) target(submit bool) (index string, paths []string, alias string, err error) {
	switch {
	case f.index != "" && len(f.paths) > 0:
		return "", nil, "", errors.New("give --path or --index, not both")
	case f.index != "" && f.alias != "":
		return "", nil, "", errors.New("--alias names a job of --path, not of --index")
	case f.index != "":
		return f.index, nil, "", nil
	case len(f.paths) == 0 && f.alias != "" && !submit:
		return "", nil, f.alias, nil
	case len(f.paths) == 0:
		return "", nil, "", errors.New("give --path (one or more, with --alias) or --index")
	case len(f.paths) > 1 && f.alias == "":
		return "", nil, "", errors.New("several --path need an --alias to name the job")
	}
	alias = f.alias
	if alias == "" {
		alias = f.paths[0]
	}
	return "", f.paths, alias, nil
}

// followHint is how to name the job again on the command line.
func followHint(j api.Job) string {
	switch {
	case j.Index != "":
		return "--index '" + j.Index + "'"
	case j.Target != "":
		return "--target '" + j.Target + "'"
	case len(j.Paths) == 1 && j.Alias == j.Paths[0]:
		return "--path '" + j.Alias + "'"
	}
	return "--alias '" + j.Alias + "'"
}

func newLoadCommand(cf *clientFlags) *cobra.Command {
	return newJobVerbCommand(cf, &jobFlags{typ: "load"}, &cobra.Command{
		Use:   "load",
		Short: "Load files into the cache; follow or stop a load job",
		Long: `Load the files under one or more paths (or listed in an index file on a
mounted UFS, one path a line) into the workers' caches, as Alluxio's
"job load" does. A load job is the job of what it covers: its --index, or its
set of --path (however spelled, in any order); its --alias (by default its
single --path) is a name to follow or stop it by. Submitting a job that exists
runs it again with the new options (if it stopped, failed or succeeded; a
stopped one given the same options resumes where it stopped) or leaves it
running.`,
		Example: `  alluvium load --path /data/train --submit --replicas 2 --bandwidth 100MiB
  alluvium load --path /data/a --path /data/b --alias set-1 --submit
  alluvium load --path /data/train --progress
  alluvium load --index /data/list.txt --stop`,
	})
}

func newFreeCommand(cf *clientFlags) *cobra.Command {
	return newJobVerbCommand(cf, &jobFlags{typ: "free"}, &cobra.Command{
		Use:   "free",
		Short: "Free files from the cache; follow or stop a free job",
		Long: `Remove the cached pages of the files under one or more paths (or listed in
an index file) from every worker that holds them; the UFS is never touched.
Jobs are named as for load.`,
		Example: `  alluvium free --path /data/old --submit --force
  alluvium free --path /data/old --progress`,
	})
}

func newJobVerbCommand(cf *clientFlags, f *jobFlags, cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.NoArgs
	fs := cmd.Flags()
	fs.StringArrayVar(&f.paths, "path", nil, "an Alluxio path or UFS URI under a mount point (repeatable)")
	fs.StringVar(&f.index, "index", "", "an index file on a mounted UFS listing the paths, one a line")
	fs.StringVar(&f.alias, "alias", "", "the job's name, required with several --path (default: the single --path)")
	fs.BoolVar(&f.submit, "submit", false, "submit the job (or resume it)")
	fs.BoolVar(&f.progress, "progress", false, "show the job's progress")
	fs.BoolVar(&f.stop, "stop", false, "stop the job")
	fs.BoolVar(&f.wait, "wait", false, "with --submit: follow the job with a live progress bar until it ends")
	fs.IntVar(&f.batchSize, "batch-size", 0, "files per batch sent to a worker (server default 200)")
	fs.IntVar(&f.replicas, "replicas", 1, "number of workers that hold each file")
	fs.StringVar(&f.regex, "file-filter-regex", "", "only files whose full path matches this RE2 regex")
	if f.typ == "load" {
		fs.BoolVar(&f.skipIfExists, "skip-if-exists", false, "skip files that are fully cached")
		fs.StringVar(&f.loadPolicy, "load-policy", "", "IF_CHANGED: reload cached files whose UFS size, mtime or ETag changed")
		fs.BoolVar(&f.metadataOnly, "metadata-only", false, "load the files' metadata only")
		fs.BoolVar(&f.verify, "verify", false, "check afterwards that every file is cached on its owners")
		fs.StringVar(&f.bandwidth, "bandwidth", "", `bandwidth per worker, e.g. "100MiB" (per second)`)
	} else {
		fs.BoolVar(&f.force, "force", false, "free on the live workers even when some holders are offline")
	}
	cmd.RunE = cf.action(func(s *session, _ []string) error {
		act, err := jobAction(fs, f.submit, f.progress, f.stop)
		if err != nil {
			return err
		}
		index, paths, alias, err := f.target(act == "submit")
		if err != nil {
			return err
		}
		sel := api.JobSelector{Index: index, Alias: alias}
		switch act {
		case "submit":
			followed, err := f.doSubmit(s, fs, api.Job{Type: f.typ, Index: index, Paths: paths, Alias: alias})
			if err != nil || !f.wait {
				return err
			}
			return s.waitJob(f.typ, followed)
		case "progress":
			job, err := s.getJob(f.typ, sel)
			if err != nil {
				return err
			}
			return s.show(job, func(w io.Writer) { writeProgress(w, job) })
		}
		job, err := s.stopJob(f.typ, sel)
		if err != nil {
			return err
		}
		return s.show(job, func(w io.Writer) { fmt.Fprintf(w, "Stopped %s job %s for %s.\n", f.typ, job.ID, jobSubject(job)) })
	})
	return cmd
}

// doSubmit submits the job and returns the selector to follow it by: the
// job's own alias when a job over the same paths had another.
func (f *jobFlags) doSubmit(s *session, fs *pflag.FlagSet, want api.Job) (api.JobSelector, error) {
	var job api.Job
	var err error
	opt := func(name string, v *int) *int {
		if fs.Changed(name) {
			return v
		}
		return nil
	}
	if f.typ == "load" {
		o := &api.LoadOptions{BatchSize: opt("batch-size", &f.batchSize), Replicas: opt("replicas", &f.replicas),
			FileFilterRegex: f.regex, SkipIfExists: f.skipIfExists, LoadPolicy: f.loadPolicy,
			LoadMetadataOnly: f.metadataOnly, Verify: f.verify}
		if f.bandwidth != "" {
			bw, err := api.ParseSize(f.bandwidth)
			if err != nil {
				return api.JobSelector{}, fmt.Errorf("--bandwidth: %w", err)
			}
			o.Bandwidth = &bw
		}
		job, err = s.c.SubmitLoad(s.ctx, api.LoadRequest{Index: want.Index, Paths: want.Paths, Alias: want.Alias, Options: o})
	} else {
		o := &api.FreeOptions{BatchSize: opt("batch-size", &f.batchSize), Replicas: opt("replicas", &f.replicas),
			FileFilterRegex: f.regex, Force: f.force}
		job, err = s.c.SubmitFree(s.ctx, api.FreeRequest{Index: want.Index, Paths: want.Paths, Alias: want.Alias, Options: o})
	}
	sel := api.JobSelector{Index: want.Index, Alias: want.Alias}
	var e *alluvium.Error
	if errors.As(err, &e) && e.State != "" && e.Alias != "" {
		sel.Alias = e.Alias
	}
	return sel, s.showSubmitted(want, job, err)
}

// showSubmitted reports a submission. A 409 with the job's state means the
// job (found by what it covers) exists and was resumed or goes on: for the
// user that is a success, so it is shown as one, and followed by its own
// alias. A 409 without a state (the alias names a job over other paths) is
// an error.
func (s *session) showSubmitted(want, job api.Job, err error) error {
	var e *alluvium.Error
	if errors.As(err, &e) && alluvium.IsConflict(err) && e.ID != "" && e.State != "" {
		if s.json {
			return printJSON(s.out, api.Error{Status: e.Message, ID: e.ID, State: e.State, Resumed: e.Resumed, Alias: e.Alias})
		}
		if e.Alias != "" {
			want.Alias = e.Alias
		}
		if e.Resumed {
			fmt.Fprintf(s.out, "Resumed %s job %s for %s.\n", want.Type, e.ID, jobSubject(want))
		} else {
			fmt.Fprintf(s.out, "The %s job %s for %s exists already and goes on: %s.\n", want.Type, e.ID, jobSubject(want), e.Message)
		}
		fmt.Fprintf(s.out, "Follow it with: alluvium %s %s --progress\n", want.Type, followHint(want))
		return nil
	}
	if err != nil {
		return err
	}
	return s.show(job, func(w io.Writer) {
		fmt.Fprintf(w, "Submitted %s job %s for %s.\n", job.Type, job.ID, jobSubject(job))
		fmt.Fprintf(w, "Follow it with: alluvium %s %s --progress\n", job.Type, followHint(job))
	})
}

func (s *session) getJob(typ string, sel api.JobSelector) (api.Job, error) {
	switch typ {
	case "load":
		return s.c.LoadJob(s.ctx, sel)
	case "free":
		return s.c.FreeJob(s.ctx, sel)
	}
	return s.c.RebalanceJob(s.ctx, sel)
}

func (s *session) stopJob(typ string, sel api.JobSelector) (api.Job, error) {
	switch typ {
	case "load":
		return s.c.StopLoad(s.ctx, sel)
	case "free":
		return s.c.StopFree(s.ctx, sel)
	}
	return s.c.StopRebalance(s.ctx, sel)
}

func newRebalanceCommand(cf *clientFlags) *cobra.Command {
	var (
		target, id                    string
		submit, progress, stop, wait  bool
		loadBatch                     int
		loadBandwidth, pruneBandwidth string
		skipPrune                     bool
	)
	cmd := &cobra.Command{
		Use:   "rebalance",
		Short: "Move cached files to their owners after workers join or leave",
		Long: `Rebalance a worker (or ALL): it loads the cached files it now owns on the
ring and, unless --skip-prune, drops those it no longer owns once their new
owners hold them.`,
		Example: `  alluvium rebalance --target ALL --submit --wait --load-bandwidth 200MiB
  alluvium rebalance --target worker-6f1c... --progress`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&target, "target", "", `a worker's id, or "ALL"`)
	fs.StringVar(&id, "id", "", "the job's id, instead of --target for --progress and --stop")
	fs.BoolVar(&submit, "submit", false, "submit the job (or resume it)")
	fs.BoolVar(&progress, "progress", false, "show the job's progress")
	fs.BoolVar(&stop, "stop", false, "stop the job")
	fs.BoolVar(&wait, "wait", false, "with --submit: follow the job with a live progress bar until it ends")
	fs.IntVar(&loadBatch, "load-batch-size", 0, "files per batch (server default 200)")
	fs.StringVar(&loadBandwidth, "load-bandwidth", "", `load bandwidth per worker, e.g. "100MiB" (per second)`)
	fs.StringVar(&pruneBandwidth, "prune-bandwidth", "", `prune bandwidth per worker, e.g. "100MiB" (per second)`)
	fs.BoolVar(&skipPrune, "skip-prune", false, "keep cached files the worker no longer owns")
	cmd.RunE = cf.action(func(s *session, _ []string) error {
		act, err := jobAction(fs, submit, progress, stop)
		if err != nil {
			return err
		}
		if act == "submit" {
			if target == "" || id != "" {
				return errors.New("--submit takes a --target (a worker's id, or ALL), and no --id")
			}
			o := &api.RebalanceOptions{SkipPrune: skipPrune}
			if fs.Changed("load-batch-size") {
				o.LoadBatchSize = &loadBatch
			}
			for _, b := range []struct {
				flag, v string
				dst     **api.Size
			}{{"load-bandwidth", loadBandwidth, &o.LoadBandwidth}, {"prune-bandwidth", pruneBandwidth, &o.PruneBandwidth}} {
				if b.v == "" {
					continue
				}
				sz, err := api.ParseSize(b.v)
				if err != nil {
					return fmt.Errorf("--%s: %w", b.flag, err)
				}
				*b.dst = &sz
			}
			want := api.Job{Type: "rebalance", Target: target}
			job, err := s.c.SubmitRebalance(s.ctx, api.RebalanceRequest{Target: target, Options: o})
			if err := s.showSubmitted(want, job, err); err != nil || !wait {
				return err
			}
			return s.waitJob("rebalance", api.JobSelector{Target: target})
		}
		if (target == "") == (id == "") {
			return errors.New("give one of --target and --id")
		}
		sel := api.JobSelector{Target: target, ID: id}
		if act == "progress" {
			job, err := s.c.RebalanceJob(s.ctx, sel)
			if err != nil {
				return err
			}
			return s.show(job, func(w io.Writer) { writeProgress(w, job) })
		}
		job, err := s.c.StopRebalance(s.ctx, sel)
		if err != nil {
			return err
		}
		return s.show(job, func(w io.Writer) { fmt.Fprintf(w, "Stopped rebalance job %s for %s.\n", job.ID, jobSubject(job)) })
	})
	return cmd
}

func newJobCommand(cf *clientFlags) *cobra.Command {
	var typ string
	list := &cobra.Command{
		Use:   "list",
		Short: "List load, free and rebalance jobs in submission order",
		Args:  cobra.NoArgs,
		RunE: cf.action(func(s *session, _ []string) error {
			types := []string{"load", "free", "rebalance"}
			if typ != "" {
				if !slices.Contains(types, typ) {
					return fmt.Errorf("--type %q: want load, free or rebalance", typ)
				}
				types = []string{typ}
			}
			all := api.Jobs{Results: []api.Job{}}
			for _, t := range types {
				var jobs api.Jobs
				var err error
				switch t {
				case "load":
					jobs, err = s.c.LoadJobs(s.ctx, "", 0)
				case "free":
					jobs, err = s.c.FreeJobs(s.ctx, "", 0)
				default:
					jobs, err = s.c.RebalanceJobs(s.ctx, "", 0)
				}
				if err != nil {
					return err
				}
				all.Results = append(all.Results, jobs.Results...)
			}
			slices.SortFunc(all.Results, func(a, b api.Job) int { return strings.Compare(a.ID, b.ID) })
			return s.show(all, func(w io.Writer) { writeJobs(w, all.Results) })
		}),
	}
	list.Flags().StringVar(&typ, "type", "", "only jobs of this type: load, free or rebalance")
	return group("job", "List jobs", list)
}
