package ufs

import (
	"os"

	"golang.org/x/sys/unix"
)

// sequentialHint is the length of a read from which the kernel is told it
// is sequential: a load streams a whole file, and a larger read-ahead
// window keeps the disk busy while the page before is being written.
const sequentialHint = 4 << 20

// adviseSequential tells the kernel the range will be read in order (it
// doubles the read-ahead window). Only a hint: errors are ignored.
func adviseSequential(f *os.File, off, n int64) {
	_ = unix.Fadvise(int(f.Fd()), off, n, unix.FADV_SEQUENTIAL)
}
