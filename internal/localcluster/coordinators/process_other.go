//go:build !linux

package coordinators

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
