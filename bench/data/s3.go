//go:build duckdb_arrow

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/open"
)

// gateway is a versitygw started for the run.
type gateway struct {
	cmd      *exec.Cmd
	dir      string
	endpoint string
	env      []string
}

func startVersityGW(ctx context.Context, parent string) (*gateway, error) {
	bin, err := testsrv.VersityGWPath()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "versitygw-")
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"data", "versions"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	const access, secret = "benchaccess", "benchsecret0123456789"
	cmd := exec.Command(bin, "--port", addr, "posix", "--versioning-dir", filepath.Join(dir, "versions"), filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+access, "ROOT_SECRET_KEY="+secret)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	g := &gateway{cmd: cmd, dir: dir, endpoint: "http://" + addr, env: []string{
		"AWS_ENDPOINT_URL=http://" + addr, "AWS_ACCESS_KEY_ID=" + access, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_REGION=us-east-1",
	}}
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		g.stop()
		return nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err = c.MakeBucket(ctx, "bench", minio.MakeBucketOptions{Region: "us-east-1"})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		g.stop()
		return nil, fmt.Errorf("versitygw: create bucket: %w", err)
	}
	return g, nil
}

// put uploads the file at p to s3://bench/ through Ferry's object store.
func (g *gateway) put(ctx context.Context, p string) (string, error) {
	for _, kv := range g.env {
		k, v, _ := cut(kv)
		os.Setenv(k, v)
	}
	s, err := open.Store(ctx, "s3://bench", open.Options{})
	if err != nil {
		return "", err
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	start := time.Now()
	key := filepath.Base(p)
	if _, err := s.Put(ctx, key, f, storage.PutOptions{Size: fi.Size()}); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "put %s (%d MiB) to s3://bench in %s\n", key, fi.Size()>>20, time.Since(start).Round(time.Millisecond))
	return "s3://bench/" + key, nil
}

func cut(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

func (g *gateway) stop() {
	if g.cmd.Process != nil {
		g.cmd.Process.Kill()
		g.cmd.Wait()
	}
	os.RemoveAll(g.dir)
}
