//go:build !linux

package terminals

import "syscall"

// signalSession sends sig to the process group sid (the shell's; jobs in
// groups of their own are left to the shell's SIGHUP handling).
func signalSession(sid int, sig syscall.Signal) {
	_ = syscall.Kill(-sid, sig)
}
