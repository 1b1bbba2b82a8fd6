package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/ferryml/ferry/wire"
)

// kernelSpec is the part of kernel.json zmqrtt uses.
type kernelSpec struct {
	Argv []string          `json:"argv"`
	Env  map[string]string `json:"env"`
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

var zmqLog = log.New(io.Discard, "", 0)

func sockOpts() []zmq4.Option {
	return []zmq4.Option{zmq4.WithDialerRetry(5 * time.Millisecond), zmq4.WithDialerMaxRetries(-1),
		zmq4.WithLogger(zmqLog), zmq4.WithTimeout(10 * time.Second)}
}

// launch starts the kernel of the kernelspec at specPath, connects to it and
// waits for its first kernel_info_reply (and an IOPub message, as
// jupyter_client's wait_for_ready does). hello has the kernel's pid and the
// time from the process start to that reply.
func launch(ctx context.Context, specPath, dir string) (*client, map[string]any, error) {
	b, err := os.ReadFile(specPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read kernelspec: %w", err)
	}
	var spec kernelSpec
	if err := json.Unmarshal(b, &spec); err != nil || len(spec.Argv) == 0 {
		return nil, nil, fmt.Errorf("kernelspec %s has no argv (%v)", specPath, err)
	}
	z := &zclient{}
	c := &client{session: wire.NewID(), in: make(chan recvd, 64), gone: make(chan struct{}), close: z.shutdown}
	z.c = c
	if dir == "" {
		d, err := os.MkdirTemp("", "zmqrtt-")
		if err != nil {
			return nil, nil, fmt.Errorf("make a temporary directory: %w", err)
		}
		dir, z.owned = d, d
	}
	ports, err := freePorts(5)
	if err != nil {
		return c, nil, err
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	conn := wire.ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", ShellPort: ports[0], IOPubPort: ports[1],
		StdinPort: ports[2], ControlPort: ports[3], HBPort: ports[4], Key: hex.EncodeToString(key),
		SignatureScheme: "hmac-sha256"}
	if z.sign, err = wire.NewSigner(conn.SignatureScheme, []byte(conn.Key)); err != nil {
		return c, nil, err
	}
	z.connFile = filepath.Join(dir, "kernel-"+c.session+".json")
	cf, _ := json.Marshal(conn)
	if err := os.WriteFile(z.connFile, cf, 0o600); err != nil {
		return c, nil, fmt.Errorf("write connection file: %w", err)
	}
	argv := make([]string, len(spec.Argv))
	for i, a := range spec.Argv {
		a = strings.ReplaceAll(a, "{connection_file}", z.connFile)
		argv[i] = strings.ReplaceAll(a, "{resource_dir}", filepath.Dir(specPath))
	}
	env := os.Environ()
	for k, v := range spec.Env {
		env = append(env, k+"="+os.ExpandEnv(v))
	}
	addr := func(p int) string { return fmt.Sprintf("tcp://127.0.0.1:%d", p) }
	t0 := time.Now()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	// The kernel's own output (banners, warnings) is dropped: stdout is the
	// JSON answers. ZMQRTT_KERNEL_STDERR=1 passes its stderr through (for
	// GODEBUG=gctrace=1 and the like).
	if os.Getenv("ZMQRTT_KERNEL_STDERR") == "1" {
		cmd.Stderr = os.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return c, nil, fmt.Errorf("run %s: %w", argv[0], err)
	}
	z.cmd = cmd
	go func() { _ = cmd.Wait(); close(c.gone) }()

	id := zmq4.SocketIdentity(wire.NewID())
	z.iopub = zmq4.NewSub(ctx, sockOpts()...)
	z.shell = zmq4.NewDealer(ctx, append(sockOpts(), zmq4.WithID(id))...)
	z.control = zmq4.NewDealer(ctx, append(sockOpts(), zmq4.WithID(id))...)
	if err := z.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		return c, nil, err
	}
	for _, s := range []struct {
		s    zmq4.Socket
		port int
	}{{z.iopub, conn.IOPubPort}, {z.shell, conn.ShellPort}, {z.control, conn.ControlPort}} {
		if err := s.s.Dial(addr(s.port)); err != nil {
			return c, nil, fmt.Errorf("connect to the kernel: %w", err)
		}
	}
	go z.readLoop(z.shell, "shell")
	go z.readLoop(z.iopub, "iopub")
	c.send = z.send

	deadline := time.After(60 * time.Second)
	var replyAt time.Time
	gotIOPub := false
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		mid, err := c.send("shell", "kernel_info_request", map[string]any{})
		if err != nil {
			return c, nil, err
		}
		t := time.NewTimer(wait)
	loop:
		for {
			select {
			case r := <-c.in:
				if r.channel == "iopub" {
					gotIOPub = true
				} else if r.msgType == "kernel_info_reply" && r.parent == mid && replyAt.IsZero() {
					replyAt = r.at
				}
				if !replyAt.IsZero() && gotIOPub {
					t.Stop()
					return c, map[string]any{"pid": cmd.Process.Pid, "start_ns": replyAt.Sub(t0).Nanoseconds()}, nil
				}
			case <-t.C:
				break loop
			case <-deadline:
				return c, nil, errors.New("no kernel_info_reply in 60 s")
			case <-c.gone:
				return c, nil, fmt.Errorf("the kernel exited before it answered kernel_info_request (%v)", cmd.ProcessState)
			}
		}
	}
}

// zclient is the ZeroMQ side of a client.
type zclient struct {
	c                     *client
	sign                  *wire.Signer
	shell, control, iopub zmq4.Socket
	cmd                   *exec.Cmd
	connFile, owned       string
	once                  sync.Once
}

func (z *zclient) readLoop(s zmq4.Socket, channel string) {
	for {
		zm, err := s.Recv()
		if err != nil {
			return
		}
		at := time.Now()
		_, parts, err := z.sign.Verify(zm.Frames)
		var r recvd
		if err == nil {
			r, err = received(at, channel, parts[0], parts[1], parts[3])
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "zmqrtt: dropped a message:", err)
			continue
		}
		z.c.in <- r
	}
}

func (z *zclient) send(channel, msgType string, content any) (string, error) {
	s := z.shell
	if channel == "control" {
		s = z.control
	}
	id, h := z.c.header(msgType)
	body, _ := json.Marshal(content)
	frames := z.sign.Frames(nil, h, []byte("{}"), []byte("{}"), body)
	if err := s.SendMulti(zmq4.NewMsgFrom(frames...)); err != nil {
		return "", fmt.Errorf("send %s: %w", msgType, err)
	}
	return id, nil
}

// shutdown asks the kernel to shut down, kills its process group after 2 s
// (or at once when it already exited) and removes the connection file.
func (z *zclient) shutdown() {
	z.once.Do(func() {
		if z.cmd != nil {
			if z.control != nil {
				_, _ = z.send("control", "shutdown_request", map[string]bool{"restart": false})
			}
			select {
			case <-z.c.gone:
			case <-time.After(2 * time.Second):
			}
			_ = syscall.Kill(-z.cmd.Process.Pid, syscall.SIGKILL)
			<-z.c.gone
		}
		for _, s := range []zmq4.Socket{z.shell, z.control, z.iopub} {
			if s != nil {
				s.Close()
			}
		}
		if z.connFile != "" {
			_ = os.Remove(z.connFile)
		}
		if z.owned != "" {
			_ = os.RemoveAll(z.owned)
		}
	})
}
