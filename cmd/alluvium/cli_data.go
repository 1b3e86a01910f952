package main

import (
	"fmt"
	"io"

	"github.com/alluvium/alluvium/api"
	"github.com/spf13/cobra"
)

// newCatCommand reads a file through the cache, from its owner worker (or
// the next replica), to standard output.
func newCatCommand(cf *clientFlags) *cobra.Command {
	var byteRange string
	cmd := &cobra.Command{
		Use:   "cat PATH",
		Short: "Print a file, read through the workers' cache",
		Long: `Print a file of a mounted UFS, read through the cache: from the worker that
owns it on the ring, or the next replica when that one is down.`,
		Example: `  alluvium cat /sample/hello.txt
  alluvium cat /sample/data.bin --range bytes=0-1023 | xxd | head`,
		Args: argsExactly(1),
		RunE: cf.action(func(s *session, args []string) error {
			r, err := s.c.Open(s.ctx, args[0], byteRange)
			if err != nil {
				return err
			}
			defer r.Close()
			if _, err := io.Copy(s.out, r); err != nil {
				return fmt.Errorf("reading %s from %s: %w", args[0], r.Worker, err)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&byteRange, "range", "", `an HTTP byte range, e.g. "bytes=0-1023"`)
	return cmd
}

// newLsCommand lists the files under a path, as a worker sees the UFS.
func newLsCommand(cf *clientFlags) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "ls PATH",
		Short: "List the files under a path (recursively)",
		Long: `List the files of the mounted UFS at or under an Alluxio path, recursively,
with their sizes and whether the answering worker caches them.`,
		Example: `  alluvium ls /sample
  alluvium ls /sample/train -o json`,
		Args: argsExactly(1),
		RunE: cf.action(func(s *session, args []string) error {
			var all api.Listing
			cursor := ""
			for {
				page, err := s.c.List(s.ctx, args[0], cursor, 1000)
				if err != nil {
					return err
				}
				all.Results = append(all.Results, page.Results...)
				if cursor = page.Cursor; cursor == "" || (limit > 0 && len(all.Results) >= limit) {
					break
				}
			}
			if limit > 0 && len(all.Results) > limit {
				all.Results, all.Cursor = all.Results[:limit], all.Results[limit-1].Path
			}
			return s.show(all, func(w io.Writer) {
				rows := make([][]string, 0, len(all.Results))
				for _, f := range all.Results {
					cached := ""
					if f.Cached {
						cached = "yes"
					}
					rows = append(rows, []string{bytesText(f.Size), orDash(f.ModTime), cached, f.Path})
				}
				table(w, []string{"SIZE", "MODIFIED", "CACHED", "PATH"}, rows)
			})
		}),
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most this many files (0: all)")
	return cmd
}
