//go:build unix

package ufs

import (
	"os"
	"syscall"
)

// openFlags opens files non-blocking: a FIFO then opens at once (and is
// refused as not regular) instead of waiting for a writer. Regular files
// ignore the flag.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK
