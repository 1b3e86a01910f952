//go:build !unix

package ufs

import "os"

const openFlags = os.O_RDONLY
