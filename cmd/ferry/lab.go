package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/jobsapi"
	"github.com/ferryml/ferry/jobs/kube"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/notebookd"
	"github.com/ferryml/ferry/notebookd/contents"
	"github.com/ferryml/ferry/notebookd/kernels"
	"github.com/ferryml/ferry/notebookd/terminals"
	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/storage/trackingapi"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/algorithms"
	"github.com/ferryml/ferry/tuning/katib"
	"github.com/ferryml/ferry/tuning/runner"
	"github.com/ferryml/ferry/tuning/tuningapi"
)

// labOptions are the flags of `ferry lab`.
type labOptions struct {
	ip, token, passwordHash, baseURL, dataDir, allowOrigin, labAssets, logLevel, root string
	trackingURL, artifactsURL                                                         string
	jobsBackend, kubeconfig, kubeNamespace, kubeImage, kubeAPI, kubeRuntime           string
	tuningBackend                                                                     string
	port                                                                              int
	allowRemote, noBrowser, browser, hashPassword, allowHidden, noTerminals           bool
	cullIdle, cullInterval                                                            int
	// The websocket and IOPub limits (0: no limit).
	iopubDataRate, iopubMsgRate, rateWindow float64
	wsMaxMessage, wsQueue                   int64
	maxConnsPerClient, jobsMaxReplicas      int
	maxBodySize                             int64
}

func labFlags(stderr io.Writer) (*flag.FlagSet, *labOptions) {
	o := &labOptions{}
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.ip, "ip", "127.0.0.1", "the `address` to listen on (0.0.0.0 for all interfaces)")
	fs.IntVar(&o.port, "port", 8888, "the `port` to listen on; the next ones are tried when it is taken (up to 50)")
	fs.StringVar(&o.root, "root", "", "the notebook `directory` served (default: the current directory)")
	fs.StringVar(&o.root, "notebook-dir", "", "alias of --root")
	fs.StringVar(&o.token, "token", "", "the access `token` (default: a random one, printed in the URL; $FERRY_TOKEN)")
	fs.StringVar(&o.passwordHash, "password", "", "accept logins with the password of this `hash` (make one with --hash-password; like jupyter_server's hashed PasswordIdentityProvider.hashed_password); without --token only the password is accepted")
	fs.StringVar(&o.passwordHash, "password-hash", "", "alias of --password")
	fs.BoolVar(&o.hashPassword, "hash-password", false, "read a password from stdin, print its hash for --password, and exit")
	fs.StringVar(&o.baseURL, "base-url", "/", "the URL `prefix` of every route")
	fs.BoolVar(&o.noBrowser, "no-browser", true, "do not open a browser (the default; accepted for Jupyter compatibility)")
	fs.BoolVar(&o.browser, "browser", false, "open the URL in a browser (xdg-open) once the server listens")
	fs.StringVar(&o.dataDir, "data-dir", "", "the `directory` of server state: config, settings, workspaces (default $FERRY_DATA_DIR or ~/.local/share/ferry)")
	fs.StringVar(&o.allowOrigin, "allow-origin", "", "the cross-origin `origin` allowed (\"*\" for any; default same-origin only)")
	fs.BoolVar(&o.allowRemote, "allow-remote-access", false, "serve requests whose Host is not localhost (implied when --ip is not a loopback address)")
	fs.BoolVar(&o.allowHidden, "allow-hidden", false, "show and serve hidden files (dot files)")
	fs.BoolVar(&o.noTerminals, "no-terminals", false, "turn JupyterLab's terminals (shells on the server) off")
	fs.IntVar(&o.cullIdle, "cull-idle-timeout", 0, "shut kernels down after this many `seconds` idle (0: never)")
	fs.IntVar(&o.cullInterval, "cull-interval", 300, "check for idle kernels every this many `seconds`")
	fs.Float64Var(&o.iopubDataRate, "iopub-data-rate-limit", kernels.DefaultIOPubDataRate, "the most `bytes` per second of a kernel's stream output sent to its clients, averaged over --rate-limit-window; past it output is dropped, with a notice, until the rate falls under 80% of it (0: no limit)")
	fs.Float64Var(&o.iopubMsgRate, "iopub-msg-rate-limit", kernels.DefaultIOPubMsgRate, "the most output `messages` per second of a kernel sent to its clients (0: no limit)")
	fs.Float64Var(&o.rateWindow, "rate-limit-window", kernels.DefaultRateWindow.Seconds(), "the `seconds` the IOPub rates are averaged over")
	fs.Int64Var(&o.wsMaxMessage, "websocket-max-message-size", kernels.DefaultMaxMessageBytes, "the largest websocket message, in `bytes`, a kernel or terminal client may send (0: no limit)")
	fs.Int64Var(&o.wsQueue, "websocket-queue-size", kernels.DefaultQueueBytes, "the `bytes` of kernel messages queued for one slow websocket client; past it output is dropped, with a notice, and a client that still falls behind is disconnected (0: no limit)")
	fs.Int64Var(&o.maxBodySize, "max-body-size", notebookd.DefaultMaxBodyBytes, "the largest contents request body (a save or an upload chunk), in `bytes`; larger ones are answered 413 (0: no limit)")
	fs.IntVar(&o.maxConnsPerClient, "max-connections-per-client", notebookd.DefaultMaxConnsPerClient, "the most `connections` one client address (loopback included) may hold open at once; more are answered 503 (0: no cap)")
	fs.StringVar(&o.labAssets, "lab-assets", "", "the `directory` of the built JupyterLab app (default $FERRY_LAB_ASSETS)")
	fs.StringVar(&o.trackingURL, "tracking-url", "", "the tracking store: sqlite:///path/ferry.db or postgres://user@host:port/db (default $FERRY_TRACKING_URL, else ferry.db in the data directory)")
	fs.StringVar(&o.artifactsURL, "artifacts-url", "", "where runs keep artifacts: file:///dir or s3://bucket/prefix (default $FERRY_ARTIFACTS_URL, else artifacts/ in the data directory; required with PostgreSQL)")
	fs.StringVar(&o.jobsBackend, "jobs-backend", "local", "where training jobs run: local (processes on this machine) or kube (Kubeflow training operator jobs on a Kubernetes cluster)")
	fs.IntVar(&o.jobsMaxReplicas, "jobs-max-replicas", local.DefaultMaxReplicas, "with --jobs-backend local: the most `replicas` (processes) one job may ask for")
	fs.StringVar(&o.tuningBackend, "tuning-backend", "ferry", "where studies run: ferry (Ferry's runner; trials are jobs of --jobs-backend, or run by kernels) or katib (Katib Experiments on the cluster of --kubeconfig)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "with --jobs-backend kube: the kubeconfig `file` (default as kubectl: $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fs.StringVar(&o.kubeNamespace, "kube-namespace", "", "with --jobs-backend kube: the `namespace` of jobs (default: the kubeconfig context's)")
	fs.StringVar(&o.kubeImage, "kube-image", "", "with --jobs-backend kube: the container `image` of jobs that name none")
	fs.StringVar(&o.kubeAPI, "kube-api", "v1", "with --jobs-backend kube: v1 (the Kubeflow training operator's TFJob, PyTorchJob, ...) or trainer-v2 (Kubeflow Trainer TrainJob, PyTorch)")
	fs.StringVar(&o.kubeRuntime, "kube-trainer-runtime", "", "with --kube-api trainer-v2: the ClusterTrainingRuntime `name` (default torch-distributed)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: ferry lab [FLAGS]

Run the notebook server: the Jupyter Server API and JupyterLab, on
http://127.0.0.1:8888/lab?token=... by default.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs, o
}

func runLab(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, o := labFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("lab: unexpected arguments %q (see ferry lab --help)", fs.Args())
	}
	if o.hashPassword {
		pw, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		pw = strings.TrimRight(pw, "\r\n")
		if pw == "" {
			return errors.New("lab: --hash-password: no password on stdin")
		}
		fmt.Fprintln(stdout, notebookd.HashPassword(pw))
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("lab: --log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})).With("component", "notebookd")
	cfg, err := o.config(log, stderr)
	if err != nil {
		return err
	}
	root := o.root
	if root == "" {
		if root, err = os.Getwd(); err != nil {
			return err
		}
	}
	return serveLab(ctx, cfg, root, o, log)
}

// config turns the flags into a notebookd.Config (without the managers).
func (o *labOptions) config(log *slog.Logger, out io.Writer) (notebookd.Config, error) {
	if o.token == "" {
		o.token = os.Getenv(controlplane.EnvToken)
	}
	if o.labAssets == "" {
		o.labAssets = os.Getenv("FERRY_LAB_ASSETS")
	}
	if o.dataDir == "" {
		o.dataDir = os.Getenv(controlplane.EnvDataDir)
	}
	if o.dataDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return notebookd.Config{}, fmt.Errorf("lab: no --data-dir and no home directory: %w", err)
		}
		o.dataDir = filepath.Join(home, ".local", "share", "ferry")
	}
	if o.cullIdle < 0 || o.cullInterval < 0 {
		return notebookd.Config{}, errors.New("lab: --cull-idle-timeout and --cull-interval must not be negative")
	}
	if o.iopubDataRate < 0 || o.iopubMsgRate < 0 || o.wsMaxMessage < 0 || o.wsQueue < 0 {
		return notebookd.Config{}, errors.New("lab: --iopub-data-rate-limit, --iopub-msg-rate-limit, --websocket-max-message-size and --websocket-queue-size must not be negative (0 turns a limit off)")
	}
	if o.rateWindow <= 0 {
		return notebookd.Config{}, errors.New("lab: --rate-limit-window must be more than 0 seconds (turn the limits off with --iopub-data-rate-limit=0 --iopub-msg-rate-limit=0)")
	}
	if o.maxBodySize < 0 {
		return notebookd.Config{}, errors.New("lab: --max-body-size must not be negative (0 turns the limit off)")
	}
	if o.maxConnsPerClient < 0 {
		return notebookd.Config{}, errors.New("lab: --max-connections-per-client must not be negative (0 turns the cap off)")
	}
	if o.jobsMaxReplicas < 1 {
		return notebookd.Config{}, errors.New("lab: --jobs-max-replicas must be at least 1")
	}
	return notebookd.Config{
		IP:                o.ip,
		Port:              o.port,
		BaseURL:           o.baseURL,
		Token:             o.token,
		PasswordHash:      o.passwordHash,
		AllowOrigin:       o.allowOrigin,
		AllowRemoteAccess: o.allowRemote,
		MaxConnsPerClient: noLimitIfZero(o.maxConnsPerClient),
		MaxBodyBytes:      noLimitIfZero(o.maxBodySize),
		LabAssetsDir:      o.labAssets,
		DataDir:           o.dataDir,
		Version:           version,
		Logger:            log,
		Out:               out,
	}, nil
}

// serveLab wires the contents, kernel and terminal managers into the
// server and serves until ctx is done or SIGINT; then every terminal is
// killed.
func serveLab(ctx context.Context, cfg notebookd.Config, root string, o *labOptions, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	cm, err := contents.New(root, contents.Options{AllowHidden: o.allowHidden})
	if err != nil {
		return err
	}
	km, err := kernels.New(kernels.Options{
		Logger:       log.With("component", "kernels"),
		CullIdle:     time.Duration(o.cullIdle) * time.Second,
		CullInterval: time.Duration(o.cullInterval) * time.Second,
		Limits:       o.kernelLimits(),
	})
	if err != nil {
		return err
	}
	cfg.Contents, cfg.Kernels = cm, km

	// The control plane: tracking (the embedded SQLite store by default).
	if o.trackingURL == "" {
		o.trackingURL = os.Getenv(controlplane.EnvTrackingURL)
	}
	if o.artifactsURL == "" {
		o.artifactsURL = os.Getenv(controlplane.EnvArtifactsURL)
	}
	if o.trackingURL == "" {
		if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
			_ = km.Close(context.Background())
			return fmt.Errorf("lab: data directory: %w", err)
		}
		o.trackingURL = tracking.DefaultURL(o.dataDir)
	}
	tr, err := tracking.Open(ctx, o.trackingURL, tracking.Options{ArtifactRoot: o.artifactsURL, Logger: log.With("component", "tracking")})
	if err != nil {
		_ = km.Close(context.Background())
		return fmt.Errorf("lab: tracking store %s: %w (see --tracking-url)", o.trackingURL, err)
	}
	defer tr.Close()
	// Jobs: the local backend, under the data directory (Close detaches:
	// running jobs keep running and the next start re-attaches them), or
	// the Kubeflow training operator on a cluster.
	var (
		jb          jobsBackend
		backendName string
	)
	switch o.jobsBackend {
	case "local":
		lb, err := local.New(ctx, local.Options{Dir: filepath.Join(o.dataDir, "jobs"), Tracker: tr, Logger: log.With("component", "jobs"),
			MaxReplicas: o.jobsMaxReplicas})
		if err != nil {
			_ = km.Close(context.Background())
			return fmt.Errorf("lab: jobs: %w", err)
		}
		jb, backendName = lb, local.BackendName
	case "kube":
		kb, err := kube.New(ctx, kube.Options{Kubeconfig: o.kubeconfig, Namespace: o.kubeNamespace, Image: o.kubeImage,
			API: o.kubeAPI, TrainerRuntime: o.kubeRuntime, Tracker: tr, Logger: log.With("component", "jobs")})
		if err != nil {
			_ = km.Close(context.Background())
			return fmt.Errorf("lab: jobs on Kubernetes: %w (see --kubeconfig, or --jobs-backend local)", err)
		}
		jb, backendName = kb, kube.BackendName
	default:
		_ = km.Close(context.Background())
		return fmt.Errorf("lab: --jobs-backend %q: use local or kube", o.jobsBackend)
	}
	defer jb.Close()
	go func() { <-ctx.Done(); jb.Close() }() // ends watches and followed logs, so shutdown need not wait for them
	// Studies: Ferry's runner, whose trials are jobs of that backend (or
	// asked for by kernels), closed before the jobs backend; or Katib.
	var tuner tuning.Backend
	switch o.tuningBackend {
	case "ferry":
		r, err := runner.Open(ctx, runner.Options{Dir: filepath.Join(o.dataDir, "studies"), Jobs: jb, Tracker: tr,
			Suggesters: algorithms.New, Stoppers: algorithms.NewEarlyStopper, Logger: log.With("component", "tuning")})
		if err != nil {
			_ = km.Close(context.Background())
			return fmt.Errorf("lab: tuning: %w", err)
		}
		defer r.Close()
		tuner = r
	case "katib":
		kb, err := katib.New(katib.Options{Kubeconfig: o.kubeconfig, Namespace: o.kubeNamespace, Image: o.kubeImage,
			Suggesters: algorithms.New, Stoppers: algorithms.NewEarlyStopper, Logger: log.With("component", "tuning")})
		if err != nil {
			_ = km.Close(context.Background())
			return fmt.Errorf("lab: tuning on Katib: %w (see --kubeconfig, or --tuning-backend ferry)", err)
		}
		tuner = kb
	default:
		_ = km.Close(context.Background())
		return fmt.Errorf("lab: --tuning-backend %q: use ferry or katib", o.tuningBackend)
	}
	cfg.Control = controlplane.NewRegistry(log.With("component", "control-plane"),
		trackingapi.NewHandler(tr, tracking.OpenStore, log.With("component", "tracking-api")).Service(),
		jobsapi.NewHandler(jb, backendName, log.With("component", "jobs-api")).Service(),
		tuningapi.NewHandler(tuner, log.With("component", "tuning-api")).Service())
	var tm *terminals.Manager
	cfg.OnListen = func(l notebookd.Listening) {
		env := controlplane.Endpoint{URL: l.APIURL, Token: l.APIToken}.Environ()
		km.AddEnv(env...)
		if tm != nil {
			tm.AddEnv(env...)
		}
	}
	if !o.noTerminals {
		tm, err = terminals.New(terminals.Options{Logger: log.With("component", "terminals"),
			MaxMessageBytes: o.kernelLimits().MaxMessageBytes})
		if err != nil {
			_ = km.Close(context.Background())
			return fmt.Errorf("lab: %w (or start with --no-terminals)", err)
		}
		cfg.Terminals = tm
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := tm.Close(cctx); err != nil {
				log.Warn("closing terminals", "err", err)
			}
		}()
	}
	srv, err := notebookd.NewServer(cfg)
	if err != nil {
		_ = km.Close(context.Background())
		return err
	}
	if o.browser {
		go openBrowser(ctx, srv, log)
	}
	return srv.ListenAndServe(ctx)
}

// kernelLimits are the websocket and IOPub limits of the flags, which say
// 0 for no limit where the options say a negative value.
func (o *labOptions) kernelLimits() kernels.Limits {
	return kernels.Limits{
		IOPubDataRate:   noLimitIfZero(o.iopubDataRate),
		IOPubMsgRate:    noLimitIfZero(o.iopubMsgRate),
		RateWindow:      time.Duration(o.rateWindow * float64(time.Second)),
		MaxMessageBytes: noLimitIfZero(o.wsMaxMessage),
		QueueBytes:      int(noLimitIfZero(o.wsQueue)),
	}
}

// noLimitIfZero maps a flag's 0 ("no limit") to the configs' negative
// value for it (their 0 means the default).
func noLimitIfZero[T int | int64 | float64](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// openBrowser opens the server's URL with xdg-open (or open on macOS) once
// it listens.
func openBrowser(ctx context.Context, srv *notebookd.Server, log *slog.Logger) {
	for srv.Addr() == "" {
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	opener := "xdg-open"
	if runtime.GOOS == "darwin" {
		opener = "open"
	}
	if err := exec.CommandContext(ctx, opener, srv.URL(srv.Addr())).Start(); err != nil {
		log.Warn("cannot open a browser", "err", err)
	}
}

// jobsBackend is a jobs.Backend the server closes on shutdown.
type jobsBackend interface {
	jobs.Backend
	Close() error
}
