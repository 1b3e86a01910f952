package main

import (
	"flag"
	"time"
)

// newFlags declares the command's flags into o on a new flag set.
func newFlags(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("readbench", flag.ExitOnError)
	fs.StringVar(&o.nginxBin, "nginx", "/usr/sbin/nginx", "the nginx binary")
	fs.BoolVar(&o.nopush, "nginx-tcp-nopush", false, "turn nginx's tcp_nopush on (slower for 1 MiB on loopback)")
	fs.StringVar(&o.extra, "nginx-extra", "", "more directives for nginx's http block, e.g. 'open_file_cache max=10000;'")
	fs.IntVar(&o.files1m, "files-1m", 64, "how many 1 MiB files")
	fs.IntVar(&o.files4k, "files-4k", 4096, "how many 4 KiB files")
	fs.IntVar(&o.rangeMiB, "range-file-mb", 256, "size in MiB of the large file read in 4 KiB ranges")
	fs.IntVar(&o.conns1m, "conns-1m", 16, "connections for the 1 MiB GETs")
	fs.IntVar(&o.conns4k, "conns-4k", 64, "connections for the 4 KiB GETs")
	fs.IntVar(&o.connsRng, "conns-range", 16, "connections for the 4 KiB ranged GETs")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before each measured window (none in the cold tier)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured window of each step")
	fs.IntVar(&o.rounds, "rounds", 1, "how many times each scenario runs on both systems in each tier")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write CPU profiles of the alluvium steps to `prefix`-<tier>-<scenario>.pprof")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	fs.BoolVar(&o.tls, "tls", false, "serve the worker on TLS (a throwaway CA); nginx stays plain")
	return fs
}
