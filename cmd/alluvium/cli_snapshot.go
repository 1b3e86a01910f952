package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	alluvium "github.com/alluvium/alluvium/client"
	"github.com/spf13/cobra"
)

func newSnapshotCommand(cf *clientFlags) *cobra.Command {
	var stale bool
	save := verb(cf, "save FILE", "Back up the coordinators' replicated state to FILE (written 0600: it holds the mounts' secrets, such as S3 keys)", argsExactly(1),
		func(s *session, args []string) error {
			c := s.c
			if stale {
				var err error
				if c, err = cf.newClient(cf.coordinators, alluvium.WithStaleReads()); err != nil {
					return err
				}
			}
			info, err := saveSnapshotFile(s, c, args[0])
			if err != nil {
				return err
			}
			return s.show(info, func(w io.Writer) {
				fmt.Fprintf(w, "Saved the state at index %d (term %d, %s, sha256 %s) from %s to %s.\n",
					info.Index, info.Term, bytesText(info.Size), info.SHA256, info.Coordinator, args[0])
			})
		})
	save.Flags().BoolVar(&stale, "stale", false,
		"save the answering coordinator's own replica: works without a leader, but may lag it")
	restore := verb(cf, "restore FILE", "Replace the coordinators' replicated state with a backup", argsExactly(1),
		func(s *session, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			info, err := s.c.RestoreSnapshot(s.ctx, f)
			if err != nil {
				return err
			}
			return s.show(info, func(w io.Writer) {
				fmt.Fprintf(w, "Restored the state at index %d (saved from %s at %s) on every coordinator.\n",
					info.Index, info.Coordinator, info.CreatedAt.Format("2006-01-02 15:04:05Z07:00"))
			})
		})
	inspect := &cobra.Command{Use: "inspect FILE", Short: "Check a backup's size and checksum and print its header",
		Args: argsExactly(1), RunE: func(cmd *cobra.Command, args []string) error {
			if cf.output != "text" && cf.output != "json" {
				return fmt.Errorf("--output %q: want text or json", cf.output)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			info, err := alluvium.VerifySnapshot(f)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			s := &session{out: cmd.OutOrStdout(), json: cf.output == "json"}
			return s.show(info, func(w io.Writer) {
				fmt.Fprintf(w, "%s: state at index %d (term %d), %s, sha256 %s, saved from %s at %s.\n",
					args[0], info.Index, info.Term, bytesText(info.Size), info.SHA256, info.Coordinator,
					info.CreatedAt.Format("2006-01-02 15:04:05Z07:00"))
			})
		}}
	return group("snapshot", "Back up and restore the coordinators' replicated state", save, restore, inspect)
}

// saveSnapshotFile downloads into a temporary file beside path and renames
// it to path once complete and synced, so that path never holds a partial
// backup, nor loses an earlier one to a failed download.
func saveSnapshotFile(s *session, c *alluvium.Client, path string) (alluvium.SnapshotInfo, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return alluvium.SnapshotInfo{}, err
	}
	done := false
	// The state holds the mounts' options, S3 keys among them: the file is
	// for its owner alone (CreateTemp's 0600, said here so that it stays).
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return alluvium.SnapshotInfo{}, err
	}
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	info, err := c.SaveSnapshot(s.ctx, tmp)
	if err != nil {
		return info, err
	}
	if err := tmp.Sync(); err != nil {
		return info, err
	}
	if err := tmp.Close(); err != nil {
		return info, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return info, err
	}
	done = true
	return info, nil
}
