package main

import "syscall"

// childAttr makes a child die with this process, even when it is killed
// without a chance to clean up.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
