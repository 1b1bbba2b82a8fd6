package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// kernelBinary is the Go kernel's executable, built from cmd/ferry-kernel
// and installed next to ferry.
const kernelBinary = "ferry-kernel"

// findKernel returns the path of ferry-kernel: $FERRY_KERNEL, else next to
// this executable, else on PATH.
func findKernel() (string, error) {
	if p := os.Getenv("FERRY_KERNEL"); p != "" {
		return p, nil
	}
	if self, err := os.Executable(); err == nil {
		if self, err = filepath.EvalSymlinks(self); err == nil {
			p := filepath.Join(filepath.Dir(self), kernelBinary)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(kernelBinary); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("kernel: %s not found next to ferry nor on PATH: build both with `go build -tags duckdb_arrow -o bin/ ./cmd/ferry ./cmd/ferry-kernel` (or `make build`), or set FERRY_KERNEL", kernelBinary)
}

// runKernel replaces this process with ferry-kernel (same pid, so Jupyter's
// signals and process-group handling reach the kernel itself).
func runKernel(_ context.Context, args []string, _ io.Writer) error {
	p, err := findKernel()
	if err != nil {
		return err
	}
	argv := append([]string{p}, args...)
	if err := syscall.Exec(p, argv, os.Environ()); err != nil {
		return fmt.Errorf("kernel: exec %s: %w", p, err)
	}
	return nil
}
