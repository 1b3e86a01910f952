package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/alluvium/alluvium/api"
	alluvium "github.com/alluvium/alluvium/client"
	"github.com/alluvium/alluvium/fusefs"
	"github.com/alluvium/alluvium/internal/tlsconfig"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// fuseFlags are the flags of `alluvium fuse`.
type fuseFlags struct {
	lf              logFlags
	coordinators    []string
	authToken       string
	tls             tlsconfig.Files
	metadataTTL     time.Duration
	readahead       string
	readaheadMemory string
	allowOther      bool
	debug           bool
	cpuProfile      string
}

func (f *fuseFlags) register(fs *pflag.FlagSet) {
	fs.StringSliceVar(&f.coordinators, "coordinator", []string{defaultCoordinator},
		"coordinator URLs, comma-separated; the next is tried when one is down")
	fs.StringVar(&f.authToken, "auth-token", "", "bearer token of the cluster's API")
	fs.StringVar(&f.tls.CA, "tls-ca", "", "PEM certificate of the cluster's CA: talk to a cluster on TLS")
	fs.StringVar(&f.tls.Cert, "tls-cert", "", "PEM client certificate, when the cluster asks for one")
	fs.StringVar(&f.tls.Key, "tls-key", "", "PEM private key of --tls-cert")
	fs.DurationVar(&f.metadataTTL, "metadata-ttl", fusefs.DefaultMetadataTTL,
		"how long names, sizes and mtimes are trusted (also the kernel's entry and attribute timeouts)")
	fs.StringVar(&f.readahead, "readahead", "64MiB", "largest readahead window of a sequential reader (0 turns it off)")
	fs.StringVar(&f.readaheadMemory, "readahead-memory", "512MiB", "bytes read ahead over all open files")
	fs.BoolVar(&f.allowOther, "allow-other", false, "let other users read the mount (user_allow_other in /etc/fuse.conf when not root)")
	fs.BoolVar(&f.debug, "fuse-debug", false, "log every FUSE request")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the mount's life to this file")
	_ = fs.MarkHidden("cpuprofile")
	f.lf.register(fs)
}

// fusePlan is a mount, built and checked.
type fusePlan struct {
	cfg fusefs.Config
	dir string
}

// build turns the flags and MOUNTPOINT into a checked configuration, with
// no side effect: a mount and --validate both run it. The client it builds
// has no TLS yet (the files are read when mounting: see client).
func (f *fuseFlags) build(cmd *cobra.Command, args []string) (fusePlan, error) {
	cfg := fusefs.DefaultConfig()
	dir := args[0]
	if dir == "" || strings.ContainsRune(dir, 0) {
		return fusePlan{}, fmt.Errorf("MOUNTPOINT %q is not a path", dir)
	}
	log, err := f.lf.logger(cmd.ErrOrStderr())
	if err != nil {
		return fusePlan{}, err
	}
	for _, s := range []struct {
		flag, value string
		to          *int64
	}{{"readahead", f.readahead, &cfg.Readahead}, {"readahead-memory", f.readaheadMemory, &cfg.ReadaheadMemory}} {
		v, err := api.ParseSize(s.value)
		if err != nil {
			return fusePlan{}, bad(s.flag, s.value, "%v", err)
		}
		*s.to = int64(v)
	}
	if cfg.Readahead > 1<<30 {
		return fusePlan{}, bad("readahead", f.readahead, "want 0 to 1GiB")
	}
	if f.metadataTTL < 0 {
		return fusePlan{}, bad("metadata-ttl", f.metadataTTL.String(), "must not be negative")
	}
	if err := checkTLSFiles(f.tls, false); err != nil {
		return fusePlan{}, err
	}
	var urls []string
	for _, u := range f.coordinators {
		if u = strings.TrimSpace(u); u != "" {
			if err := checkURL("coordinator", u); err != nil {
				return fusePlan{}, err
			}
			urls = append(urls, u)
		}
	}
	if cfg.Client, err = alluvium.New(urls); err != nil {
		return fusePlan{}, bad("coordinator", strings.Join(f.coordinators, ","), "%v", err)
	}
	cfg.MetadataTTL, cfg.AllowOther, cfg.Debug, cfg.Logger = f.metadataTTL, f.allowOther, f.debug, log
	return fusePlan{cfg: cfg, dir: dir}, cfg.Validate()
}

// client builds the mount's client as every client command does: with
// the token, and the TLS files read.
func (f *fuseFlags) client() (*alluvium.Client, error) {
	cf := clientFlags{authToken: f.authToken, tls: f.tls}
	return cf.newClient(f.coordinators, alluvium.WithRingCache(5*time.Second))
}

func newFuseCommand() *cobra.Command {
	var f fuseFlags
	cmd := &cobra.Command{
		Use:   "fuse MOUNTPOINT",
		Short: "Mount the cluster's namespace read-only (FUSE), in the foreground",
		Long: `Mount the whole namespace of the cluster at MOUNTPOINT, read-only, so that any
program reads the cache as ordinary files: the root lists the mount points,
directories list through the workers, and reads go to each file's owner on
the ring (the next replica when it is down), as "alluvium cat" reads. It
runs in the foreground; SIGINT or SIGTERM unmounts and exits. A mount left
by an instance that was killed ("transport endpoint is not connected") is
taken over. MOUNTPOINT is created when missing. Needs /dev/fuse, and fusermount3 (Debian's fuse3) unless root.
Every flag can also be set from the environment: --metadata-ttl as
ALLUVIUM_METADATA_TTL.`,
		Example: `  alluvium fuse /mnt/alluvium --coordinator http://127.0.0.1:19999
  python3 -c "print(open('/mnt/alluvium/sample/hello.txt').read())"`,
		Args: argsExactly(1),
	}
	serve(cmd, f.build, func(cmd *cobra.Command, p fusePlan) error {
		var err error
		if p.cfg.Client, err = f.client(); err != nil {
			return err
		}
		if f.cpuProfile != "" {
			out, err := os.Create(f.cpuProfile)
			if err != nil {
				return err
			}
			defer out.Close()
			if err := pprof.StartCPUProfile(out); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		return runFuse(cmd, p.dir, p.cfg)
	})
	f.register(cmd.Flags())
	return cmd
}

// runFuse mounts, says so, and unmounts on SIGINT or SIGTERM (or returns
// when someone else unmounts).
func runFuse(cmd *cobra.Command, dir string, cfg fusefs.Config) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	m, err := fusefs.New(dir, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Alluvium is mounted read-only at %s; Ctrl-C (or SIGTERM) unmounts.\n", m.Dir())
	unmounted := make(chan struct{})
	go func() { m.Wait(); close(unmounted) }()
	select {
	case <-ctx.Done():
		if err := m.Unmount(); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "unmounted %s\n", m.Dir())
	case <-unmounted:
		fmt.Fprintf(cmd.OutOrStdout(), "%s was unmounted\n", m.Dir())
	}
	return nil
}
