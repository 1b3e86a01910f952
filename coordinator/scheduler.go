package coordinator

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/alluvium/alluvium/ring"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/alluvium/alluvium/apath"
	"github.com/alluvium/alluvium/coordinator/jobplan"
	"github.com/alluvium/alluvium/fsm"
	"github.com/alluvium/alluvium/ufs"
)

// The scheduler runs on the leader: one runner per active job. A runner
// lists the job's files in pages from the job's committed cursor, sends
// each page to the workers that own the files, and commits the page's
// counters together with the new cursor, so a new leader resumes where the
// old one stopped. The pages that were in flight are sent again; what they
// had already cached is found cached (no second read from the UFS). What
// a page sends where, and what the answers count, package jobplan decides.

type scheduler struct {
	c       *Coordinator
	pool    *ufs.Pool
	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
	rings   ring.Cache // the ring of the current members, rebuilt when they change
}

// schedulerLoop starts a runner for every active job, as long as this node
// leads. It looks at the jobs when something was written (a job submitted,
// stopped or resumed, a mount changed: every one is an Apply of this
// leader, which rings schedBell) or a runner ended (a failed one is started
// again), at most once per SchedulerInterval, and otherwise sleeps: an
// idle cluster's leader does not wake for it (schedulerIdleInterval aside).
func (c *Coordinator) schedulerLoop(ctx context.Context) {
	s := &scheduler{c: c, pool: ufs.NewCheckedPool(c.cfg.AllowedUFS), running: map[string]bool{}}
	defer func() {
		s.wg.Wait()
		s.pool.Close()
	}()
	ended := make(chan struct{}, 1)
	idle := time.NewTimer(schedulerIdleInterval)
	defer idle.Stop()
	for {
		s.pool.Sync(c.fsm.Mounts())
		for _, j := range c.fsm.ActiveJobs() {
			s.start(ctx, j, ended)
		}
		last := time.Now()
		idle.Reset(schedulerIdleInterval)
		select {
		case <-ctx.Done():
			return
		case <-c.schedBell:
		case <-ended:
		case <-idle.C:
		}
		if sleepCtx(ctx, c.cfg.SchedulerInterval-time.Since(last)) != nil {
			return
		}
	}
}

// schedulerIdleInterval is how often the scheduler looks at the jobs when
// nothing wakes it: a safety net only, every change of a job being a write.
const schedulerIdleInterval = 10 * time.Second

// start starts a runner for job j unless one runs or the job is of a kind
// the scheduler does not run; ended is rung when the runner returns.
func (s *scheduler) start(ctx context.Context, j fsm.Job, ended chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[j.ID] || (j.Type != fsm.JobLoad && j.Type != fsm.JobFree && j.Type != fsm.JobRebalance) {
		return
	}
	s.running[j.ID] = true
	s.wg.Add(1)
	go func(id string) {
		defer s.wg.Done()
		err := s.run(ctx, id)
		if err != nil && ctx.Err() == nil {
			s.c.log.Warn("job runner", "job", id, "err", err)
		}
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
		ringBell(ended)
	}(j.ID)
}

// sleepCtx waits for d (nothing when d <= 0) or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cursor is a job's resume point: the root being listed (a path of the job,
// or a line of its index file) and the UFS listing cursor within it.
type cursor struct {
	Root  int
	Inner string
}

// storedCursor is a cursor as the job keeps it. The listing cursor is kept
// in base64 ("b"): it is a UFS key, which need not be UTF-8, and JSON would
// replace what is not. "c" is how earlier versions kept it.
type storedCursor struct {
	Root   int    `json:"r"`
	Inner  []byte `json:"b,omitempty"`
	Legacy string `json:"c,omitempty"`
}

func parseCursor(s string) cursor {
	var sc storedCursor
	if s != "" {
		_ = json.Unmarshal([]byte(s), &sc)
	}
	c := cursor{Root: max(sc.Root, 0), Inner: string(sc.Inner)}
	if c.Inner == "" {
		c.Inner = sc.Legacy
	}
	return c
}

func (c cursor) String() string {
	b, _ := json.Marshal(storedCursor{Root: c.Root, Inner: []byte(c.Inner)})
	return string(b)
}

// run drives one job until it ends, stops, or this node stops leading.
func (s *scheduler) run(ctx context.Context, id string) error {
	j, ok := s.c.fsm.Job(id)
	if !ok || !j.State.Active() {
		return nil
	}
	if j.State == fsm.JobWaiting {
		if err := s.update(ctx, j, fsm.UpdateJob{State: fsm.JobRunning}); err != nil {
			return ignoreGone(err)
		}
	}
	if j.Type == fsm.JobRebalance {
		return s.rebalance(ctx, j)
	}
	var filter *regexp.Regexp
	if j.Options.FileFilterRegex != "" {
		var err error
		if filter, err = regexp.Compile(j.Options.FileFilterRegex); err != nil {
			return s.finish(ctx, j, fsm.JobFailed, "fileFilterRegex: "+err.Error())
		}
	}
	roots := j.Paths
	if j.Index != "" {
		lines, err := s.readIndex(ctx, j.Index)
		if err != nil {
			return s.finish(ctx, j, fsm.JobFailed, "index file "+j.Index+": "+err.Error())
		}
		roots = lines
	}
	if j.Phase != phaseVerify {
		if err := s.pass(ctx, j, roots, filter, false); err != nil {
			return ignoreGone(err)
		}
		if done, _ := s.c.fsm.Job(id); !jobplan.Verifies(j, done.FailedFiles) {
			return s.end(ctx, j)
		}
		phase, start := phaseVerify, ""
		if err := s.update(ctx, j, fsm.UpdateJob{State: fsm.JobVerifying, Phase: &phase, Cursor: &start}); err != nil {
			return ignoreGone(err)
		}
		j.Cursor = ""
	}
	if err := s.pass(ctx, j, roots, filter, true); err != nil {
		return ignoreGone(err)
	}
	return s.end(ctx, j)
}

// update applies progress to this run of job j (the job's attempt when the
// run began): a run that the job has left behind, stopped or superseded by
// a resumed run, gets fsm.ErrGone and changes nothing.
func (s *scheduler) update(ctx context.Context, j fsm.Job, up fsm.UpdateJob) error {
	up.ID, up.Attempt = j.ID, j.Attempts
	_, err := s.c.Apply(ctx, &up)
	return err
}

// phaseVerify is the phase of a load job's verify pass.
const phaseVerify = "verify"

// end ends a run whose passes are done: FAILED when a file failed.
func (s *scheduler) end(ctx context.Context, j fsm.Job) error {
	if now, _ := s.c.fsm.Job(j.ID); now.FailedFiles > 0 {
		return s.finish(ctx, j, fsm.JobFailed, fmt.Sprintf("%d files failed; see failedFileSamples and failedFileListPath", now.FailedFiles))
	}
	return s.finish(ctx, j, fsm.JobSucceeded, "")
}

// pass goes once through the job's files from its cursor: the work itself,
// or (verify) the check that every file is cached on its owners, loading
// those that are not. It returns fsm.ErrGone when the run was left behind.
//
// Pages are listed and sent in order, up to pagesInFlight at once (the
// workers go on with the next page while the slowest of them finishes the
// last one), and committed in order: a committed cursor never runs ahead of
// a page that has not finished.
func (s *scheduler) pass(ctx context.Context, j fsm.Job, roots []string, filter *regexp.Regexp, verify bool) error {
	batch := max(j.Options.BatchSize, 1)
	cur := parseCursor(j.Cursor)
	var pending []*page
	defer func() {
		for _, p := range pending {
			<-p.done
		}
	}()
	quotaReported := j.QuotaCheckError != ""
	for cur.Root < len(roots) || len(pending) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if cur.Root < len(roots) && len(pending) < pagesInFlight {
			p := s.startPage(ctx, j, filter, roots[cur.Root], cur, batch, verify)
			cur = p.next
			pending = append(pending, p)
			continue
		}
		p := pending[0]
		pending = pending[1:]
		<-p.done
		if ctx.Err() != nil {
			return ctx.Err() // do not commit a page that was cut short
		}
		pos := p.next.String()
		up := fsm.UpdateJob{Delta: p.out.Delta, Cursor: &pos, Failed: p.out.Failed, Observed: p.out.Observed}
		if len(p.out.Failed) > 0 {
			up.FailedFileListPath = s.recordFailed(j, p.out.Failed)
		}
		if p.out.QuotaErr != "" && !quotaReported {
			up.QuotaCheckError = &p.out.QuotaErr
			quotaReported = true
		}
		if err := s.update(ctx, j, up); err != nil {
			return err
		}
	}
	return nil
}

// recordFailed appends failed files, one "path<TAB>reason" a line, to the
// job's failed-file list in this coordinator's data dir, and returns its
// path ("" when it cannot be written: the samples in the job remain). A
// new leader goes on in a file of its own.
func (s *scheduler) recordFailed(j fsm.Job, failed []fsm.FailedFile) string {
	if s.c.cfg.DataDir == "" {
		return ""
	}
	dir := filepath.Join(s.c.cfg.DataDir, "jobs")
	name := filepath.Join(dir, fmt.Sprintf("%s-%d.failed", j.ID, j.Attempts))
	var b strings.Builder
	for _, f := range failed {
		b.WriteString(oneLine(f.Path))
		b.WriteByte('\t')
		b.WriteString(oneLine(f.Reason))
		b.WriteByte('\n')
	}
	err := os.MkdirAll(dir, 0o750)
	if err == nil {
		var f *os.File
		if f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640); err == nil {
			_, err = f.WriteString(b.String())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		s.c.log.Warn("job: failed-file list", "job", j.ID, "err", err)
		return ""
	}
	return name
}

// oneLine keeps a field of the failed-file list on its line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}

// pagesInFlight is how many pages of a job are at the workers at once.
const pagesInFlight = 3

// page is one page of a job's files on its way through the workers.
type page struct {
	next cursor // the cursor once this page is done
	done chan struct{}
	out  jobplan.Outcome // what the page did, once done
}

// startPage lists the page of root after cur and sends it to the workers in
// the background; done closes when the workers have answered.
func (s *scheduler) startPage(ctx context.Context, j fsm.Job, filter *regexp.Regexp, root string, cur cursor, batch int, verify bool) *page {
	p := &page{done: make(chan struct{})}
	files, next, err := s.list(ctx, root, cur.Inner, batch)
	if err != nil {
		p.out = jobplan.ListFailed(root, err)
		next = ""
	}
	if next == "" {
		p.next = cursor{Root: cur.Root + 1}
	} else {
		p.next = cursor{Root: cur.Root, Inner: next}
	}
	kept := jobplan.Filter(files, filter)
	if len(kept) == 0 {
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		p.out.Add(s.dispatch(ctx, j, kept, verify))
	}()
	return p
}

func (s *scheduler) finish(ctx context.Context, j fsm.Job, state fsm.JobState, msg string) error {
	return ignoreGone(s.update(ctx, j, fsm.UpdateJob{State: state, ErrorMessage: msg}))
}

// ignoreGone treats a job that was stopped meanwhile as done.
func ignoreGone(err error) error {
	if errors.Is(err, fsm.ErrGone) {
		return nil
	}
	return err
}

// list returns a page of the files at or under root (an Alluxio path or a
// UFS URI).
func (s *scheduler) list(ctx context.Context, root, after string, limit int) ([]jobplan.File, string, error) {
	r := ufs.Resolver{Mounts: s.c.fsm.Mounts, Pool: s.pool}
	fs, loc, err := r.Resolve(root)
	if err != nil {
		return nil, "", err
	}
	infos, next, err := fs.List(ctx, loc.Rel, after, limit)
	if err != nil {
		return nil, "", err
	}
	files := make([]jobplan.File, 0, len(infos))
	for _, fi := range infos {
		files = append(files, jobplan.File{Path: apath.Join(loc.Mount.Path, fi.Path), Size: fi.Size})
	}
	return files, next, nil
}

// MaxIndexBytes bounds an index file, which is read whole.
const MaxIndexBytes = 64 << 20

// readIndex reads an index file: one path a line; blank and # lines skipped.
func (s *scheduler) readIndex(ctx context.Context, index string) ([]string, error) {
	r := ufs.Resolver{Mounts: s.c.fsm.Mounts, Pool: s.pool}
	fs, loc, err := r.Resolve(index)
	if err != nil {
		return nil, err
	}
	rc, err := fs.Open(ctx, loc.Rel, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var lines []string
	sc := bufio.NewScanner(io.LimitReader(rc, MaxIndexBytes))
	// Lines up to 1 MiB are read (a long comment is still a comment); a
	// path longer than apath.MaxLen then fails as that file's error.
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	return lines, sc.Err()
}

// pruneJobsLoop deletes finished jobs past their retention, on the leader.
// It commits a prune only when one is due, so that an idle cluster's log
// does not grow by a command a minute.
func (c *Coordinator) pruneJobsLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		before := time.Now().Add(-c.cfg.JobRetention)
		if jobs, _ := c.fsm.Jobs("", "", 0); pruneDue(jobs, before, c.cfg.JobRetentionCount) {
			cmd := &fsm.PruneJobs{Before: before, Keep: c.cfg.JobRetentionCount}
			if n, err := c.Apply(ctx, cmd); err == nil && n.(int) > 0 {
				c.log.Info("pruned finished jobs", "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pruneDue reports whether fsm.PruneJobs{Before: before, Keep: keep} would
// delete a job: a finished one that ended before the cutoff, or more than
// keep finished ones.
func pruneDue(jobs []fsm.Job, before time.Time, keep int) bool {
	finished := 0
	for _, j := range jobs {
		if j.State.Active() {
			continue
		}
		if j.EndTime.Before(before) {
			return true
		}
		finished++
	}
	return keep >= 0 && finished > keep
}
