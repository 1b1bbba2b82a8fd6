// Command ferry-kernel is Ferry's Go kernel: a Jupyter kernel (protocol 5.4
// over ZeroMQ) that runs cells in the yaegi interpreter, with magics,
// widgets, DuckDB and tracking. Jupyter starts it through the kernelspec
// that `ferry kernelspec install` writes (`ferry kernel -f FILE`, which
// executes this binary); it lives next to the ferry binary.
//
// It is a binary of its own so that the notebook server and the CLI do not
// carry the interpreter's symbol tables and DuckDB (their startup touches
// ~40 MB of the binary).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/traefik/yaegi/interp"

	"github.com/ferryml/ferry/cmd/ferry-kernel/symbols"
	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/kernel"
	"github.com/ferryml/ferry/kernel/goeval"
	"github.com/ferryml/ferry/kernel/gomod"
	"github.com/ferryml/ferry/magics"
	"github.com/ferryml/ferry/magics/gomagic"
	"github.com/ferryml/ferry/magics/runs"
	"github.com/ferryml/ferry/magics/sqlmagic"
	"github.com/ferryml/ferry/magics/train"
	"github.com/ferryml/ferry/magics/tune"
	"github.com/ferryml/ferry/tuning/tuningclient"
	"github.com/ferryml/ferry/widgets"
	"github.com/ferryml/ferry/wire"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ctx, orphaned := watchParent(ctx, time.Second, slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "kernel"))
	err := runKernel(ctx, os.Args[1:], os.Stderr)
	if orphaned() {
		killGroup() // the kernel too: nobody waits for its exit status
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "ferry-kernel:", err)
		os.Exit(1)
	}
}

func runKernel(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("kernel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connFile := fs.String("f", "", "the connection file written by the Jupyter client")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *connFile == "" {
		return fmt.Errorf("kernel: -f CONNECTION_FILE is required (Jupyter passes it as {connection_file})")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("kernel: -log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("component", "kernel")
	setMemoryLimit()
	setProcs()

	ci, err := wire.ReadConnectionFile(*connFile)
	if err != nil {
		return err
	}
	k, err := kernel.New(ctx, kernel.Config{
		Conn: ci,
		NewEvaluator: func(s kernel.Streams) (kernel.Evaluator, error) {
			// Third-party packages: fetched with the go command, built as
			// plugins, recorded in the notebook directory's go.mod or a
			// workspace module for it.
			mods := gomod.New(gomod.Config{Log: s.Stderr})
			g, err := goeval.New(goeval.Options{
				Packages:     mods,
				Stdout:       s.Stdout,
				Stderr:       s.Stderr,
				Stdin:        s.Stdin,
				Symbols:      []interp.Exports{symbols.Symbols},
				Compile:      true,
				CaptureStdio: true,
				PreImports:   map[string]string{"display": "github.com/ferryml/ferry/display", "fmt": "fmt", "data": "github.com/ferryml/ferry/storage/data", "widgets": "github.com/ferryml/ferry/widgets", "tracking": "github.com/ferryml/ferry/storage/tracking"},
			})
			if err != nil {
				return nil, err
			}
			reg := kernelMagics()
			gomagic.Register(reg, mods)
			sqlmagic.Register(reg, sqlmagic.Options{Globals: g})
			return magics.NewEvaluator(g, reg), nil
		},
		HistoryPath:  historyPath(),
		Version:      version,
		Logger:       log,
		HandleSIGINT: true,
		OnCommFlood:  newGCFloods(gcFloodHeadroom()).hook(),
	})
	if err != nil {
		return err
	}
	display.SetPublisher(k)
	widgets.SetKernel(k)
	restart, err := k.Run(ctx)
	if err != nil && ctx.Err() == nil {
		return err
	}
	log.Info("kernel stopped", "restart", restart)
	return nil
}

// kernelMagics is the registry of the magics a kernel session offers.
func kernelMagics() *magics.Registry {
	reg := magics.NewRegistry()
	runs.Register(reg, nil)
	train.Register(reg, train.Options{})
	tune.Register(reg, tune.Options{})
	// An Optimize in a Go cell shows the same dashboard as %%tune.
	tuningclient.NewSink = tune.NewSink
	return reg
}

// historyPath is where execution history is kept across kernel restarts:
// $FERRY_HISTORY, else the user's data directory.
func historyPath() string {
	if p := os.Getenv("FERRY_HISTORY"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "ferry", "kernel-history.jsonl")
}

// setProcs runs Go code on at least 4 Ps unless GOMAXPROCS says
// otherwise. A cell's goroutine that never blocks (a loop updating a widget,
// a numeric loop) keeps a P busy; with as many Ps as CPUs (2 here) the
// shell socket's reader then waits for the scheduler's 10 ms network poll
// before it answers a request. Spare Ps block in the network poller and
// wake at once; the OS shares the CPUs between them.
func setProcs() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	if n := runtime.NumCPU(); n < 4 {
		runtime.GOMAXPROCS(4)
	}
}

// setMemoryLimit sets a soft memory limit (half the machine's memory) unless
// GOMEMLIMIT says otherwise, so a big scan in a cell makes the GC work harder
// before the machine runs out of memory.
func setMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if total := totalMemory(); total > 0 {
		debug.SetMemoryLimit(total / 2)
	}
}

func totalMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb int64
	if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err != nil {
		return 0
	}
	return kb << 10
}
