//go:build !linux

package kernels

import "syscall"

// procAttr puts a kernel in a process group of its own. (There is no
// parent-death signal here: kernels that honour JPY_PARENT_PID, as Ferry's
// and ipykernel do, exit when the server is gone.)
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
