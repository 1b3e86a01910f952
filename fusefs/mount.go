package fusefs

import (
	"bufio"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// FsName is the file system's type as mount(8) and df show it
// (fuse.alluvium) and its source.
const FsName = "alluvium"

// Mount is a mounted file system.
type Mount struct {
	dir    string
	server *fuse.Server
	f      *fsys
}

// New mounts the cluster's namespace read-only at dir, an existing
// directory, and serves it until Unmount. A stale mount at dir, left by a
// process that died ("transport endpoint is not connected"), is unmounted
// first (lazily) and taken over; a live one is refused.
func New(dir string, cfg Config) (*Mount, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := TakeOverStale(dir, cfg.Logger.Warn); err != nil {
		return nil, err
	}
	f := newFsys(cfg)
	ttl, negative := cfg.MetadataTTL, min(cfg.MetadataTTL, time.Second)
	opts := &fs.Options{
		MountOptions: fuse.MountOptions{
			AllowOther:    cfg.AllowOther,
			FsName:        FsName,
			Name:          FsName,
			Options:       []string{"ro"},
			MaxWrite:      maxRequest,
			MaxReadAhead:  maxRequest,
			MaxBackground: 64,
			DisableXAttrs: true,
			DisableSplice: true,              // replies are in memory: splicing them only fails (pipes hold 1 MiB)
			DirectMount:   os.Geteuid() == 0, // no fusermount3 needed as root
			Debug:         cfg.Debug,
		},
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &negative,
		UID:             f.uid,
		GID:             f.gid,
	}
	if cfg.Debug {
		opts.Logger = log.New(os.Stderr, "fuse: ", 0)
	}
	root := &dirNode{f: f, path: "/"}
	server, err := fs.Mount(dir, root, opts)
	if err != nil {
		return nil, fmt.Errorf("fusefs: mount %s: %w", dir, err)
	}
	m := &Mount{dir: dir, server: server, f: f}
	m.raiseReadahead()
	return m, nil
}

// Dir is where the file system is mounted.
func (m *Mount) Dir() string { return m.dir }

// Wait blocks until the file system is unmounted (by Unmount, or by
// umount/fusermount3 -u from outside).
func (m *Mount) Wait() { m.server.Wait() }

// Unmount unmounts the file system and waits until it is no longer served.
// When it is busy (a process has a file open or its working directory in
// it), it is detached lazily instead: it disappears from the namespace at
// once and the kernel lets go when the last user does.
func (m *Mount) Unmount() error {
	err := m.server.Unmount()
	if err != nil {
		if lazyErr := lazyUnmount(m.dir); lazyErr != nil {
			return fmt.Errorf("fusefs: unmount %s: %w (lazily: %w)", m.dir, err, lazyErr)
		}
	}
	m.server.Wait()
	return nil
}

// kernelReadahead is the most the kernel reads ahead of a sequential
// reader: several 1 MiB requests in flight at once keep the daemon and the
// kernel's copy busy at the same time.
const kernelReadahead = 16 << 20

// raiseReadahead lets the kernel read ahead up to Config.Readahead (at
// least one request, at most kernelReadahead) instead of its default
// 128 KiB, through the mount's backing device in sysfs; only root may, and
// where it may not, the default stays.
func (m *Mount) raiseReadahead() {
	var st syscall.Stat_t
	if err := syscall.Stat(m.dir, &st); err != nil {
		return
	}
	major, minor := (st.Dev>>8)&0xfff, (st.Dev&0xff)|((st.Dev>>12)&0xfff00)
	p := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", major, minor)
	if err := os.WriteFile(p, []byte(fmt.Sprint(min(max(m.f.cfg.Readahead, maxRequest), kernelReadahead)>>10)), 0); err != nil {
		m.f.cfg.Logger.Debug("the kernel's readahead stays at its default", "err", err)
	}
}

// TakeOverStale checks dir before a mount: a dead FUSE mount there
// (ENOTCONN, "transport endpoint is not connected", what a killed instance
// leaves) is unmounted lazily, and warn is told; a live mount of this file
// system is refused; anything else is left to the mount to judge.
func TakeOverStale(dir string, warn func(msg string, args ...any)) error {
	// statfs reaches the daemon of a FUSE mount every time, where a stat
	// may be answered from the kernel's attribute cache.
	var st syscall.Statfs_t
	err := syscall.Statfs(dir, &st)
	if err == nil {
		_, err = os.Stat(dir)
	}
	switch {
	case errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED):
		warn("taking over a stale mount left by an instance that died", "dir", dir)
		if err := lazyUnmount(dir); err != nil {
			return fmt.Errorf("fusefs: %s is a stale mount and could not be unmounted: %w", dir, err)
		}
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("fusefs: %s after unmounting the stale mount: %w", dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("fusefs: mount point: %w", err)
	}
	if mounted, err := isOurMount(dir); err == nil && mounted {
		return fmt.Errorf("fusefs: %s is mounted by a running alluvium fuse already", dir)
	}
	return nil
}

// lazyUnmount detaches the mount at dir: fusermount3 -uz, or umount2 with
// MNT_DETACH where fusermount3 is missing (root only).
func lazyUnmount(dir string) error {
	if bin, err := exec.LookPath("fusermount3"); err == nil {
		out, err := exec.Command(bin, "-uz", dir).CombinedOutput()
		if err == nil {
			return nil
		}
		if os.Geteuid() != 0 {
			return fmt.Errorf("fusermount3 -uz %s: %w: %s", dir, err, strings.TrimSpace(string(out)))
		}
	}
	if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("umount -l %s: %w", dir, err)
	}
	return nil
}

// isOurMount reports whether dir is the mount point of a fuse.alluvium
// file system, from /proc/self/mountinfo.
func isOurMount(dir string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source ...
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if len(fields) > 4 && sep > 0 && sep+1 < len(fields) &&
			unescapeMountinfo(fields[4]) == dir && fields[sep+1] == "fuse."+FsName {
			return true, nil
		}
	}
	return false, sc.Err()
}

// unescapeMountinfo undoes the octal escapes of /proc/self/mountinfo
// (\040 for a space...).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Available says why a mount cannot work on this machine, or nil: it needs
// /dev/fuse, and fusermount3 (Debian's fuse3) to mount and unmount unless
// the process is root.
func Available() error {
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("fusefs: /dev/fuse: %w (load the fuse module; in a container, pass the device)", err)
	}
	f.Close()
	if _, err := exec.LookPath("fusermount3"); err != nil && os.Geteuid() != 0 {
		return errors.New("fusefs: fusermount3 is not installed (apt-get install fuse3)")
	}
	return nil
}
