package testsrv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// VersityGWVersion is the versitygw release the tests run against.
const VersityGWVersion = "v1.8.0"

// VersityGWPath finds the versitygw binary: $FERRY_VERSITYGW, else
// ~/.cache/ferry/tools/versitygw-VERSION/versitygw (where `make tools` puts
// it), else versitygw on PATH.
func VersityGWPath() (string, error) {
	if p := os.Getenv("FERRY_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "ferry", "tools", "versitygw-"+VersityGWVersion, "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("versitygw not found ($FERRY_VERSITYGW, ~/.cache/ferry/tools/versitygw-%s/versitygw, PATH): run `make tools` to build it", VersityGWVersion)
}

// VersityGW is a versitygw S3 gateway with the posix backend, serving a
// temporary directory on a loopback port.
type VersityGW struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
	DataDir   string

	bin     string
	addr    string
	verDir  string
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	logs    *syncBuffer
	buckets atomic.Int64
}

// StartVersityGW starts a versitygw for t and stops it when t ends. A
// missing binary fails t (skips it in -short mode).
func StartVersityGW(t testing.TB) *VersityGW {
	t.Helper()
	bin, err := VersityGWPath()
	if err != nil {
		if testing.Short() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	dir := t.TempDir()
	g := &VersityGW{
		AccessKey: "ferrytestaccess",
		SecretKey: "ferrytestsecret0123456789",
		Region:    "us-east-1",
		DataDir:   filepath.Join(dir, "data"),
		verDir:    filepath.Join(dir, "versions"),
		bin:       bin,
		logs:      &syncBuffer{},
	}
	for _, d := range []string{g.DataDir, g.verDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(g.Stop)
	var lastErr error
	for range 5 { // another process may take the free port first
		addr, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		g.addr = addr
		if lastErr = g.start(); lastErr == nil {
			g.Endpoint = "http://" + addr
			return g
		}
	}
	t.Fatalf("start versitygw: %v", lastErr)
	return nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (g *VersityGW) start() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	cmd := exec.Command(g.bin, "--port", g.addr, "--quiet", "posix", "--versioning-dir", g.verDir, g.DataDir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+g.AccessKey, "ROOT_SECRET_KEY="+g.SecretKey, "VGW_REGION="+g.Region)
	cmd.Stdout = g.logs
	cmd.Stderr = g.logs
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	g.cmd, g.exited = cmd, exited
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", g.addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			g.cmd = nil
			return fmt.Errorf("versitygw exited: %s", strings.TrimSpace(g.logs.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			g.stopLocked()
			return fmt.Errorf("versitygw did not listen on %s within 15s: %s", g.addr, g.logs.String())
		}
	}
}

// Stop kills the server (SIGKILL: no chance to finish requests in flight)
// and waits for it to exit. It is safe to call from any goroutine, and
// more than once.
func (g *VersityGW) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopLocked()
}

func (g *VersityGW) stopLocked() {
	if g.cmd == nil {
		return
	}
	_ = g.cmd.Process.Kill()
	<-g.exited
	g.cmd = nil
}

// Restart starts the server again on the same address and data directory.
func (g *VersityGW) Restart(t testing.TB) {
	t.Helper()
	g.Stop()
	var err error
	for range 50 { // the old socket may linger for a moment
		if err = g.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("restart versitygw on %s: %v", g.addr, err)
}

// Logs returns what the server wrote to stdout and stderr.
func (g *VersityGW) Logs() string { return g.logs.String() }

// Client returns a minio-go client of the server with the root credentials.
func (g *VersityGW) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(g.Endpoint, "http://"), &minio.Options{
		Creds:        credentials.NewStaticV4(g.AccessKey, g.SecretKey, ""),
		Region:       g.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// NewBucket creates a bucket with a fresh name and returns the name.
func (g *VersityGW) NewBucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test-%d-%d", time.Now().UnixNano()%1e9, g.buckets.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.Client(t).MakeBucket(ctx, name, minio.MakeBucketOptions{Region: g.Region}); err != nil {
		t.Fatalf("create bucket %s on versitygw: %v\n%s", name, err, g.Logs())
	}
	return name
}

// Env returns the AWS_* variables that point an S3 client at the server.
func (g *VersityGW) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + g.Endpoint,
		"AWS_ACCESS_KEY_ID=" + g.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + g.SecretKey,
		"AWS_REGION=" + g.Region,
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 1<<20 {
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
