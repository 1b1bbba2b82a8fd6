//go:build unix

package testsrv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresBinDir finds the PostgreSQL server binaries (initdb, postgres):
// $FERRY_PG_BIN, else the newest /usr/lib/postgresql/*/bin (Debian), else
// the directory of initdb on PATH.
func PostgresBinDir() (string, error) {
	if d := os.Getenv("FERRY_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL server binaries not found ($FERRY_PG_BIN, /usr/lib/postgresql/*/bin, PATH): apt-get install postgresql")
}

func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// PostgresOptions configure StartPostgres.
type PostgresOptions struct {
	// Durable keeps fsync and synchronous commit on, as a production server
	// has them (for benchmarks). Tests leave it off for speed.
	Durable bool
}

// Postgres is a PostgreSQL server on a temporary directory, listening on a
// free loopback port and on a unix socket in that directory. Its superuser
// is "postgres", with trust authentication.
type Postgres struct {
	Dir       string // data directory is Dir/data
	SocketDir string
	Host      string
	Port      int

	cmd    *exec.Cmd
	exited chan struct{}
	logs   *syncBuffer
	dbs    atomic.Int64
}

// StartPostgres initializes a database cluster in a new temporary directory
// and starts a server on it. Stop stops it and removes the directory.
// Running as root, it runs the server as the "postgres" user (initdb
// refuses root).
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	removeStalePostgresDirs()
	dir, err := os.MkdirTemp("", "ferry-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{Dir: dir, SocketDir: filepath.Join(dir, "sock"), Host: "127.0.0.1", logs: &syncBuffer{}}
	if err := p.start(ctx, bin, opts); err != nil {
		p.Stop()
		if logs := p.logs.String(); logs != "" {
			err = fmt.Errorf("%w\nserver output:\n%s", err, logs)
		}
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	return p, nil
}

func (p *Postgres) start(ctx context.Context, bin string, opts PostgresOptions) error {
	if err := os.Mkdir(p.SocketDir, 0o700); err != nil {
		return err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root, the server needs an unprivileged user: %w (create a postgres user)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for _, d := range []string{p.Dir, p.SocketDir} {
			if err := os.Chown(d, uid, gid); err != nil {
				return err
			}
		}
	}
	attr := func() *syscall.SysProcAttr {
		a := childAttr()
		if a == nil {
			a = &syscall.SysProcAttr{}
		}
		a.Credential = cred
		return a
	}
	data := filepath.Join(p.Dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = attr()
	initdb.Dir = p.Dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	var lastErr error
	for range 5 {
		addr, err := freePort()
		if err != nil {
			return err
		}
		_, port, _ := net.SplitHostPort(addr)
		p.Port, _ = strconv.Atoi(port)
		args := []string{"-D", data, "-p", port, "-k", p.SocketDir,
			"-c", "listen_addresses=" + p.Host,
			"-c", "max_connections=300",
			"-c", "shared_buffers=128MB",
			"-c", "log_min_messages=warning",
			"-c", "logging_collector=off",
		}
		if !opts.Durable {
			args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
		}
		p.cmd = exec.Command(filepath.Join(bin, "postgres"), args...)
		p.cmd.SysProcAttr = attr()
		p.cmd.Dir = p.Dir
		p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
		if err := p.cmd.Start(); err != nil {
			return err
		}
		p.exited = make(chan struct{})
		go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(p.cmd, p.exited)
		if lastErr = p.waitReady(ctx); lastErr == nil {
			return nil
		}
		p.stopServer()
	}
	return lastErr
}

func (p *Postgres) waitReady(ctx context.Context) error {
	db, err := sql.Open("pgx", p.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("postgres exited during startup")
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := db.PingContext(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("postgres not ready: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL returns the URL of database db over TCP.
func (p *Postgres) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// SocketURL returns the URL of database db over the unix socket.
func (p *Postgres) SocketURL(db string) string {
	q := url.Values{"host": {p.SocketDir}, "port": {strconv.Itoa(p.Port)}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + db + "?" + q.Encode()
}

// Logs returns what the server wrote to stdout and stderr.
func (p *Postgres) Logs() string { return p.logs.String() }

var unsafeDBChars = regexp.MustCompile(`[^a-z0-9_]+`)

// CreateDatabase creates a new, empty database whose name starts with
// prefix and returns its URL.
func (p *Postgres) CreateDatabase(ctx context.Context, prefix string) (string, error) {
	name := fmt.Sprintf("t%d_%s", p.dbs.Add(1), strings.Trim(unsafeDBChars.ReplaceAllString(strings.ToLower(prefix), "_"), "_"))
	if len(name) > 63 {
		name = name[:63]
	}
	db, err := sql.Open("pgx", p.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return p.URL(name), nil
}

func (p *Postgres) stopServer() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	// SIGQUIT is PostgreSQL's immediate shutdown.
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// removeStalePostgresDirs removes the directories of servers of test
// binaries that were killed before they could stop them: older than an
// hour, with no live postmaster.
func removeStalePostgresDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "ferry-pg-*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < time.Hour {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
			if pid > 0 && syscall.Kill(pid, 0) == nil {
				continue
			}
		}
		_ = os.RemoveAll(d)
	}
}

// Stop stops the server and removes its directory.
func (p *Postgres) Stop() {
	p.stopServer()
	_ = os.RemoveAll(p.Dir)
}

var shared struct {
	mu  sync.Mutex
	srv *Postgres
	err error
}

// NewPostgresDB returns the URL of a new database on a server shared by the
// tests of this test binary, starting the server on first use. Call
// StopSharedPostgres from TestMain after m.Run. Missing server binaries fail
// t (skip it in -short mode).
func NewPostgresDB(t testing.TB) string {
	t.Helper()
	srv := SharedPostgres(t)
	u, err := srv.CreateDatabase(t.Context(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// SharedPostgres returns the server shared by the tests of this test
// binary, starting it on first use.
func SharedPostgres(t testing.TB) *Postgres {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv == nil && shared.err == nil {
		if _, err := PostgresBinDir(); err != nil {
			if testing.Short() {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		shared.srv, shared.err = StartPostgres(context.Background(), PostgresOptions{})
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

// StopSharedPostgres stops the shared server, if one was started.
func StopSharedPostgres() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		shared.srv.Stop()
		shared.srv = nil
	}
}
