package kernels

import "syscall"

// procAttr puts a kernel in a process group of its own (signals reach what
// it starts too) and has the system send it SIGTERM when the server dies,
// even by SIGKILL, so that no kernel outlives its server holding its ports.
// (Kernels that honour JPY_PARENT_PID, as Ferry's and ipykernel do, also
// watch for that themselves.)
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
