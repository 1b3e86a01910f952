package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alluvium/alluvium/api"
)

// The text output of the CLI verbs: pure functions of the API's answers,
// so that they are tested without a cluster.

// bytesText formats a byte count for people: exact in the largest binary
// unit that divides it ("50GiB"), else with one decimal ("12.5MiB").
func bytesText(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if n%(int64(1)<<(10*i)) == 0 {
		return strconv.FormatInt(n>>(10*i), 10) + units[i]
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + units[i]
}

// bandwidthText is a bandwidth option: 0 means none was set.
func bandwidthText(n int64) string {
	if n <= 0 {
		return "unlimited"
	}
	return bytesText(n) + "/s"
}

// table prints rows under a header, aligned in columns.
func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// orDash shows an empty cell as "-", so that columns stay readable.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// jobSubject names what a job works on, as Alluxio's reports do: "path
// '/sample'", "index file '/data/list.txt'", "target 'ALL'".
func jobSubject(j api.Job) string {
	switch {
	case j.Index != "":
		return fmt.Sprintf("index file '%s'", j.Index)
	case j.Target != "":
		return fmt.Sprintf("target '%s'", j.Target)
	case len(j.Paths) == 1 && (j.Alias == "" || j.Alias == j.Paths[0]):
		return fmt.Sprintf("path '%s'", j.Paths[0])
	case len(j.Paths) == 0:
		return fmt.Sprintf("alias '%s'", j.Alias)
	}
	const shown = 3
	quoted := make([]string, 0, shown)
	for _, p := range j.Paths[:min(len(j.Paths), shown)] {
		quoted = append(quoted, "'"+p+"'")
	}
	list := strings.Join(quoted, ", ")
	if len(j.Paths) > shown {
		list += fmt.Sprintf(" and %d more", len(j.Paths)-shown)
	}
	noun := "paths"
	if len(j.Paths) == 1 {
		noun = "path"
	}
	return fmt.Sprintf("%s %s (alias '%s')", noun, list, j.Alias)
}

// jobVerb is the -ing form Alluxio's report titles use.
func jobVerb(typ string) string {
	switch typ {
	case "load":
		return "loading"
	case "free":
		return "freeing"
	case "rebalance":
		return "rebalancing"
	}
	return typ
}

// processedFiles counts the files a job is done with, whatever the outcome.
func processedFiles(j api.Job) int64 {
	switch j.Type {
	case "free":
		return j.FreedFiles + j.FailedFiles
	case "rebalance":
		return j.LoadedFiles + j.PrunedFiles + j.FailedFiles
	}
	// loadedFiles counts empty files too; older jobs only set the non-empty count.
	return max(j.LoadedFiles, j.LoadedNonEmptyFiles) + j.SkippedFiles + j.FailedFiles
}

// movedBytes is the bytes a job has moved: loaded or freed.
func movedBytes(j api.Job) int64 {
	if j.Type == "free" {
		return j.FreedBytes
	}
	return j.LoadedBytes
}

// outOf reads "120 out of 500", or "120" while the total is unknown.
func outOf(done, total int64, f func(int64) string) string {
	if total <= 0 {
		return f(done)
	}
	return f(done) + " out of " + f(total)
}

// filesOf is outOf for a table cell: "120/500".
func filesOf(done, total int64) string {
	if total <= 0 {
		return count(done)
	}
	return count(done) + "/" + count(total)
}

func count(n int64) string { return strconv.FormatInt(n, 10) }

// writeProgress prints a job's progress the way Alluxio's `job load
// --progress` does, with the fields of api.Job.
func writeProgress(w io.Writer, j api.Job) {
	fmt.Fprintf(w, "Progress for %s %s:\n", jobVerb(j.Type), jobSubject(j))
	o := j.Options
	switch j.Type {
	case "free":
		fmt.Fprintf(w, "\tSettings:\tforce: %t\n", o.Force)
	case "rebalance":
		fmt.Fprintf(w, "\tSettings:\tload bandwidth: %s\tprune bandwidth: %s\tskip prune: %t\n",
			bandwidthText(o.LoadBandwidth), bandwidthText(o.PruneBandwidth), o.SkipPrune)
	default:
		fmt.Fprintf(w, "\tSettings:\tbandwidth: %s\tverify: %t\n", bandwidthText(o.Bandwidth), o.Verify)
	}
	fmt.Fprintf(w, "\tJob Id: %s\n", j.ID)
	fmt.Fprintf(w, "\tJob State: %s\n", j.State)
	if j.StartTime != "" {
		fmt.Fprintf(w, "\tTime Elapsed: %s\n", elapsedText(j.TimeElapsedMilliseconds))
	}
	switch j.Type {
	case "free":
		fmt.Fprintf(w, "\tFiles Processed: %s\n", outOf(processedFiles(j), j.ScannedFiles, count))
		fmt.Fprintf(w, "\tBytes Freed: %s\n", bytesText(j.FreedBytes))
	case "rebalance":
		fmt.Fprintf(w, "\tFiles Scanned: %d\n", j.ScannedFiles)
		fmt.Fprintf(w, "\tFiles Loaded: %d (%s)\n", j.LoadedFiles, bytesText(j.LoadedBytes))
		fmt.Fprintf(w, "\tFiles Pruned: %d (%s)\n", j.PrunedFiles, bytesText(j.PrunedBytes))
	default:
		fmt.Fprintf(w, "\tFiles Processed: %s\n", outOf(processedFiles(j), j.ScannedFiles, count))
		fmt.Fprintf(w, "\tBytes Loaded: %s\n", outOf(j.LoadedBytes, j.TotalBytes, bytesText))
		if j.SkippedFiles > 0 {
			fmt.Fprintf(w, "\tFiles Skipped: %d (%s)\n", j.SkippedFiles, bytesText(j.SkippedBytes))
		}
	}
	fmt.Fprintf(w, "\tThroughput: %s/s\n", bytesText(j.ThroughputBytesPerSecond))
	fmt.Fprintf(w, "\tFiles Failed: %d\n", j.FailedFiles)
	for _, f := range j.FailedFileSamples {
		fmt.Fprintf(w, "\t\t%s: %s\n", f.Path, f.Reason)
	}
	if int64(len(j.FailedFileSamples)) < j.FailedFiles && len(j.FailedFileSamples) > 0 {
		fmt.Fprintf(w, "\t\t... and %d more\n", j.FailedFiles-int64(len(j.FailedFileSamples)))
	}
	if j.FailedFileListPath != "" {
		fmt.Fprintf(w, "\tFailed File List: %s\n", j.FailedFileListPath)
	}
	if j.Quota != nil {
		fmt.Fprintf(w, "\tQuota: %s remaining of %s\n", bytesText(j.Quota.Remaining), bytesText(j.Quota.TotalBytes))
	}
	if j.QuotaCheckError != "" {
		fmt.Fprintf(w, "\tQuota Check: %s\n", j.QuotaCheckError)
	}
	if j.ErrorMessage != "" {
		fmt.Fprintf(w, "\tError: %s\n", j.ErrorMessage)
	}
}

// elapsedText rounds a job's elapsed time to what a person reads.
func elapsedText(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d < 10*time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// jobName is a job's short name in a list: its alias, index or target.
func jobName(j api.Job) string {
	switch {
	case j.Alias != "":
		return j.Alias
	case j.Index != "":
		return j.Index
	}
	return j.Target
}

func writeJobs(w io.Writer, jobs []api.Job) {
	if len(jobs) == 0 {
		fmt.Fprintln(w, "No jobs.")
		return
	}
	rows := make([][]string, 0, len(jobs))
	for _, j := range jobs {
		rows = append(rows, []string{j.ID, j.Type, j.State, jobName(j),
			filesOf(processedFiles(j), j.ScannedFiles), bytesText(movedBytes(j)), count(j.FailedFiles), orDash(j.SubmitTime)})
	}
	table(w, []string{"ID", "TYPE", "STATE", "NAME", "FILES", "BYTES", "FAILED", "SUBMITTED"}, rows)
}

// optionsText lists mount options as k=v in key order.
func optionsText(opts map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		parts = append(parts, k+"="+opts[k])
	}
	return orDash(strings.Join(parts, ","))
}

func writeMounts(w io.Writer, ms []api.Mount) {
	if len(ms) == 0 {
		fmt.Fprintln(w, "No mount points.")
		return
	}
	rows := make([][]string, 0, len(ms))
	for _, m := range ms {
		rows = append(rows, []string{m.Path, m.UFS, optionsText(m.Options)})
	}
	table(w, []string{"PATH", "UFS", "OPTIONS"}, rows)
}

func writeQuotas(w io.Writer, qs []api.Quota) {
	if len(qs) == 0 {
		fmt.Fprintln(w, "No quotas.")
		return
	}
	rows := make([][]string, 0, len(qs))
	for _, q := range qs {
		rows = append(rows, []string{q.Path, bytesText(q.QuotaBytes), bytesText(q.UsedBytes), bytesText(q.RemainingBytes)})
	}
	table(w, []string{"PATH", "QUOTA", "USED", "REMAINING"}, rows)
}

func durationText(d *api.Duration) string {
	if d == nil {
		return "-"
	}
	return d.String()
}

func writeTTLs(w io.Writer, ts []api.TTL) {
	if len(ts) == 0 {
		fmt.Fprintln(w, "No TTLs.")
		return
	}
	rows := make([][]string, 0, len(ts))
	for _, t := range ts {
		rows = append(rows, []string{t.Path, durationText(t.TTL)})
	}
	table(w, []string{"PATH", "TTL"}, rows)
}

func writePriorities(w io.Writer, ps []api.Priority) {
	if len(ps) == 0 {
		fmt.Fprintln(w, "No priorities (every path is MEDIUM).")
		return
	}
	rows := make([][]string, 0, len(ps))
	for _, p := range ps {
		rows = append(rows, []string{p.Path, p.Priority})
	}
	table(w, []string{"PATH", "PRIORITY"}, rows)
}

func writeCacheFilter(w io.Writer, f api.CacheFilter) {
	if len(f.Rules) == 0 {
		fmt.Fprintln(w, "No rules.")
	} else {
		rows := make([][]string, 0, len(f.Rules))
		for _, r := range f.Rules {
			rows = append(rows, []string{r.Rule, r.Pattern, durationText(r.Time)})
		}
		table(w, []string{"RULE", "PATTERN", "TIME"}, rows)
	}
	def := f.DefaultRule
	if f.DefaultTime != nil {
		def += " " + f.DefaultTime.String()
	}
	fmt.Fprintf(w, "Default rule: %s\n", def)
}

func writeNodes(w io.Writer, ns []api.Node) {
	if len(ns) == 0 {
		fmt.Fprintln(w, "No workers.")
		return
	}
	rows := make([][]string, 0, len(ns))
	for _, n := range ns {
		rows = append(rows, []string{n.ID, n.Address, n.State, bytesText(n.CapacityBytes), bytesText(n.UsedBytes),
			count(n.Pages), orDash(n.LastHeartbeat), orDash(n.Version)})
	}
	table(w, []string{"ID", "ADDRESS", "STATE", "CAPACITY", "USED", "PAGES", "LAST HEARTBEAT", "VERSION"}, rows)
}

func writeFileIndex(w io.Writer, fi api.FileIndex) {
	if len(fi.Results) == 0 {
		fmt.Fprintln(w, "No entries.")
	} else {
		rows := make([][]string, 0, len(fi.Results))
		for _, e := range fi.Results {
			rows = append(rows, []string{e.Path, bytesText(e.Size), orDash(strings.Join(e.Workers, ","))})
		}
		table(w, []string{"PATH", "SIZE", "WORKERS"}, rows)
	}
	if fi.NextKey != "" {
		fmt.Fprintf(w, "More entries follow: --last-key '%s'\n", fi.NextKey)
	}
	if fi.Partial {
		fmt.Fprintf(w, "The index is partial: its ceiling of %d entries refused some workers' files (--file-index-max-entries).\n", fi.Limit)
	}
}

// writeCacheOp reports which workers did not accept a cache operation.
func writeCacheOp(w io.Writer, r api.CacheOpResult, done string) {
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, done)
		return
	}
	rows := make([][]string, 0, len(r.Errors))
	for _, id := range slices.Sorted(maps.Keys(r.Errors)) {
		rows = append(rows, []string{id, r.Errors[id]})
	}
	table(w, []string{"WORKER", "ERROR"}, rows)
}

func writeCacheStatus(w io.Writer, st api.CacheStatus) {
	if len(st.Results) == 0 {
		fmt.Fprintln(w, "No worker reports a clear-stale status.")
		return
	}
	rows := make([][]string, 0, len(st.Results))
	for _, s := range st.Results {
		rows = append(rows, []string{s.Worker, strconv.FormatBool(s.Running), count(s.ScannedFiles), bytesText(s.RemovedBytes), orDash(s.Error)})
	}
	table(w, []string{"WORKER", "RUNNING", "SCANNED FILES", "REMOVED", "ERROR"}, rows)
}
