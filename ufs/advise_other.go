//go:build !linux

package ufs

import "os"

const sequentialHint = 4 << 20

func adviseSequential(*os.File, int64, int64) {}
