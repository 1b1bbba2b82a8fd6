package testsrv

import "syscall"

// childAttr makes the kernel kill a server if the test binary dies first
// (a test timeout does not run cleanups).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
