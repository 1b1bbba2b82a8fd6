//go:build !linux

package testsrv

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
