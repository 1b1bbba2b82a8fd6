// Command ferry is Ferry's one binary: the Go Jupyter kernel, its kernelspec
// installer, and (with later issues) the notebook server and the CLI of the
// control plane.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "ferry:", err)
		os.Exit(1)
	}
}

const usage = `Usage: ferry COMMAND [ARGS]

Commands:
  lab [--ip IP] [--port PORT] [--root DIR] [--token TOKEN] [...]
                                        run the notebook server and JupyterLab (ferry lab --help)
  kernel -f CONNECTION_FILE             run the Go kernel (started by Jupyter)
  kernelspec install [--user|--prefix DIR|--sys-prefix] [--name NAME]
                                        install the kernelspec for Jupyter, JupyterLab, VS Code
  runs list|show|compare|experiments   tracked runs (ferry runs --help)
  jobs list|show|logs|cancel|delete|submit
                                        training jobs (ferry jobs --help)
  tune list|show|watch|stop|resume|delete|create
                                        hyperparameter studies (ferry tune --help)
  version                               print the version
`

// Run runs the ferry command line.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "lab":
		return runLab(ctx, args[1:], os.Stdin, stdout, stderr)
	case "kernel":
		return runKernel(ctx, args[1:], stderr)
	case "kernelspec":
		if len(args) < 2 || args[1] != "install" {
			fmt.Fprint(stderr, usage)
			return errors.New("kernelspec: the only subcommand is install")
		}
		return runKernelspecInstall(args[2:], stdout, stderr)
	case "runs":
		return runRuns(ctx, args[1:], stdout, stderr)
	case "jobs":
		return runJobs(ctx, args[1:], stdout, stderr)
	case "tune":
		return runTune(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "ferry", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
