package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/alluvium/alluvium/api"
	"github.com/schollz/progressbar/v3"
)

// waitInterval is how often --wait polls a job.
const waitInterval = 500 * time.Millisecond

// waitJob follows a job until it ends, drawing a live progress bar of the
// bytes moved (text output), then prints the final report. A job that does
// not succeed makes the command fail.
func (s *session) waitJob(typ string, sel api.JobSelector) error {
	var bar *progressbar.ProgressBar
	if !s.json && isTerminal(s.out) {
		bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(s.out),
			progressbar.OptionSetDescription("waiting"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	t := time.NewTicker(waitInterval)
	defer t.Stop()
	for {
		job, err := s.getJob(typ, sel)
		if err != nil {
			return err
		}
		if bar != nil {
			if job.TotalBytes > 0 && bar.GetMax64() != job.TotalBytes {
				bar.ChangeMax64(job.TotalBytes)
			}
			_ = bar.Set64(movedBytes(job) + job.SkippedBytes)
			bar.Describe(fmt.Sprintf("%s %s: %d files", job.State, jobVerb(job.Type), processedFiles(job)))
		}
		switch job.State {
		case "SUCCEEDED", "FAILED", "STOPPED":
			if bar != nil {
				_ = bar.Finish()
			}
			if err := s.show(job, func(w io.Writer) { writeProgress(w, job) }); err != nil {
				return err
			}
			if job.State != "SUCCEEDED" {
				return fmt.Errorf("the %s job %s ended %s", job.Type, job.ID, job.State)
			}
			return nil
		}
		select {
		case <-s.ctx.Done():
			return fmt.Errorf("stopped waiting for the %s job %s (it goes on): %w", job.Type, job.ID, s.ctx.Err())
		case <-t.C:
		}
	}
}

// isTerminal reports whether w is a terminal, where a live bar makes sense.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
