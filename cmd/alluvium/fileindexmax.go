package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"github.com/alluvium/alluvium/coordinator"
)

const fileIndexMaxUsage = "most entries the global file index holds (the leader replicates it); past it loads still work, " +
	"the index says it is partial. Default: a quarter of this machine's memory at 128 B an entry; 0: no ceiling"

// defaultFileIndexMax sizes the file index's ceiling to this machine's
// memory (MemTotal of /proc/meminfo; 8 GiB where it cannot be read).
func defaultFileIndexMax() int {
	return coordinator.DefaultFileIndexMaxEntries(machineMemory())
}

func machineMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 8 << 30
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			if kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 8 << 30
}
