package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// parentEnv names the process a kernel lives for: the Jupyter server or
// notebookd that started it sets it to its pid (jupyter_client does, and
// ipykernel watches it the same way).
const parentEnv = "JPY_PARENT_PID"

// orphanGrace is how long a kernel whose parent is gone gets to stop on
// its own before it kills its process group and exits.
const orphanGrace = 5 * time.Second

// errOrphaned is the cause of the context cancelled by watchParent.
var errOrphaned = errors.New("the process that started the kernel is gone")

// watchParent returns a context that is cancelled, with cause errOrphaned,
// once the process named by $JPY_PARENT_PID is gone, checked every
// interval: when that process is the kernel's parent, once the kernel is
// reparented; otherwise once the pid no longer exists. The kernel then has
// orphanGrace to stop before killGroup and exit. Without $JPY_PARENT_PID
// (or with 1, init) nothing is watched. A SIGKILLed notebook server thus
// leaves no kernel holding its ports. orphaned reports whether the parent
// is gone (now, or when the context was cancelled for it).
func watchParent(ctx context.Context, interval time.Duration, log *slog.Logger) (context.Context, func() bool) {
	pid, err := strconv.Atoi(os.Getenv(parentEnv))
	if err != nil || pid <= 1 {
		return ctx, func() bool { return false }
	}
	gone := func() bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }
	if os.Getppid() == pid {
		gone = func() bool { return os.Getppid() != pid }
	}
	var orphaned atomic.Bool
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if gone() {
				break
			}
		}
		orphaned.Store(true)
		log.Warn("the process that started the kernel is gone; stopping", "parent", pid)
		cancel(errOrphaned)
		time.AfterFunc(orphanGrace, func() {
			killGroup()
			os.Exit(1)
		})
	}()
	return ctx, func() bool { return orphaned.Load() || gone() }
}

// killGroup kills the kernel's process group, when the kernel leads it (as
// notebookd and jupyter_client start kernels), so that what cells started
// goes with the kernel.
func killGroup() {
	if pid := os.Getpid(); syscall.Getpgrp() == pid {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}
