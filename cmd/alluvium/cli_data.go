package main

import (
	"fmt"
	"io"

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
