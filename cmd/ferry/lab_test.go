package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryml/ferry/notebookd"
	"github.com/ferryml/ferry/notebookd/kernels"
)

func TestLabHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := runLab(context.Background(), []string{"--help"}, strings.NewReader(""), &stdout, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, f := range []string{"-ip", "-port", "-root", "-notebook-dir", "-token", "-password", "-password-hash", "-hash-password", "-no-terminals",
		"-base-url", "-no-browser", "-browser", "-data-dir", "-allow-origin", "-allow-remote-access",
		"-cull-idle-timeout", "-cull-interval", "-lab-assets", "-log-level",
		"-iopub-data-rate-limit", "-iopub-msg-rate-limit", "-rate-limit-window", "-websocket-max-message-size", "-websocket-queue-size",
		"-max-body-size", "-max-connections-per-client", "-jobs-max-replicas"} {
		if !strings.Contains(stderr.String(), "  "+f) {
			t.Errorf("--help does not document %s", f)
		}
	}
}

func TestLabHashPassword(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := runLab(context.Background(), []string{"--hash-password"}, strings.NewReader("s3cret\n"), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(stdout.String())
	if !notebookd.CheckPassword(h, "s3cret") || notebookd.CheckPassword(h, "other") {
		t.Errorf("hash %q does not check", h)
	}
	if err := runLab(context.Background(), []string{"--hash-password"}, strings.NewReader(""), &stdout, &stderr); err == nil {
		t.Error("empty password accepted")
	}
}

func TestLabConfig(t *testing.T) {
	t.Setenv("FERRY_DATA_DIR", "")
	t.Setenv("FERRY_TOKEN", "")
	t.Setenv("FERRY_LAB_ASSETS", "")
	t.Setenv("HOME", "/home/u")
	fs, o := labFlags(&bytes.Buffer{})
	if err := fs.Parse([]string{"--port", "9999", "--base-url", "/x/", "--allow-origin", "*", "--no-browser", "--notebook-dir", "/nb"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IP != "127.0.0.1" || cfg.Port != 9999 || cfg.BaseURL != "/x/" || cfg.AllowOrigin != "*" ||
		cfg.DataDir != filepath.Join("/home/u", ".local", "share", "ferry") || o.root != "/nb" {
		t.Errorf("config = %+v, root %q", cfg, o.root)
	}
	t.Setenv("FERRY_DATA_DIR", "/data")
	fs, o = labFlags(&bytes.Buffer{})
	_ = fs.Parse(nil)
	if cfg, _ := o.config(nil, nil); cfg.DataDir != "/data" {
		t.Errorf("FERRY_DATA_DIR: %q", cfg.DataDir)
	}
	if err := runLab(context.Background(), []string{"extra"}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("extra arguments accepted")
	}
}

func TestLabLimits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    kernels.Limits
		wantErr bool
	}{
		{"defaults", nil, kernels.Limits{IOPubDataRate: 1e6, IOPubMsgRate: 1000, RateWindow: 3 * time.Second,
			MaxMessageBytes: 10 << 20, QueueBytes: 16 << 20}, false},
		{"0 is off", []string{"--iopub-data-rate-limit=0", "--iopub-msg-rate-limit=0", "--websocket-max-message-size=0",
			"--websocket-queue-size=0", "--rate-limit-window=0.5"},
			kernels.Limits{IOPubDataRate: -1, IOPubMsgRate: -1, RateWindow: 500 * time.Millisecond, MaxMessageBytes: -1, QueueBytes: -1}, false},
		{"negative", []string{"--iopub-data-rate-limit=-1"}, kernels.Limits{}, true},
		{"no window", []string{"--rate-limit-window=0"}, kernels.Limits{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FERRY_DATA_DIR", "/data")
			fs, o := labFlags(&bytes.Buffer{})
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			_, err := o.config(nil, nil)
			if (err != nil) != tc.wantErr {
				t.Fatalf("config: %v, want an error %v", err, tc.wantErr)
			}
			if err == nil {
				if got := o.kernelLimits(); got != tc.want {
					t.Errorf("limits %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}
