package main

import (
	"strings"
	"testing"
)

func TestFindKernel(t *testing.T) {
	t.Setenv("FERRY_KERNEL", "/opt/ferry/ferry-kernel")
	if p, err := findKernel(); err != nil || p != "/opt/ferry/ferry-kernel" {
		t.Errorf("with FERRY_KERNEL: %q, %v", p, err)
	}
	// The test binary has no ferry-kernel beside it, and PATH has none.
	t.Setenv("FERRY_KERNEL", "")
	t.Setenv("PATH", t.TempDir())
	_, err := findKernel()
	if err == nil || !strings.Contains(err.Error(), "./cmd/ferry-kernel") || !strings.Contains(err.Error(), "FERRY_KERNEL") {
		t.Errorf("missing kernel: %v, want an error saying how to build it", err)
	}
}
