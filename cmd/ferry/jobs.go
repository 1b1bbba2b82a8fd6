package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/ferryml/ferry/controlplane"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/jobsapi"
	"github.com/ferryml/ferry/jobs/jobsclient"
	"github.com/ferryml/ferry/storage/tracking"
)

const jobsUsage = `Usage: ferry jobs COMMAND [FLAGS] [ARGS]

Commands:
  list [--kind KIND] [--status STATUS] [--label KEY=VALUE]...
                            list jobs, oldest first
  show NAME                 one job: status, conditions, each replica's state
  logs NAME [--replica ROLE-I] [--tail N] [-f]
                            a replica's output (default the primary replica);
                            -f follows it until the replica ends
  cancel NAME               stop every replica (the job ends Failed, JobCancelled)
  delete NAME               cancel if running, then remove the job and its logs
  submit -f SPEC.json [--wait]
                            submit a job spec (- reads stdin); --wait follows it
                            until it ends and fails when the job failed

A spec is the JSON of a job (camelCase, as the Kubeflow resources), e.g.
  {"name": "mnist", "kind": "pytorch",
   "replicas": {"Master": {"replicas": 1}, "Worker": {"replicas": 1}},
   "command": ["python3", "jobsclient.py"], "files": {"jobsclient.py": "..."}}

Where the jobs run: --url (or $FERRY_API_URL) and --token ($FERRY_TOKEN)
name a running ferry lab's control plane, e.g.
http://127.0.0.1:8888/api/ferry/v1/; otherwise the local backend of the
data directory ($FERRY_DATA_DIR or ~/.local/share/ferry), with jobs/ and
the embedded tracking store (its jobs are supervised while a ferry process
has them open: prefer ferry lab).

Flags:
`

func runJobs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("jobs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiURL := fs.String("url", os.Getenv(controlplane.EnvAPIURL), "the control-plane `URL` of a running ferry lab")
	token := fs.String("token", os.Getenv(controlplane.EnvToken), "its `token`")
	kind := fs.String("kind", "", "list: only jobs of this `kind`")
	status := fs.String("status", "", "list: only jobs in this `status` (Created, Running, Restarting, Succeeded, Failed; comma-separated)")
	var labels stringList
	fs.Var(&labels, "label", "list: only jobs with this `KEY=VALUE` label (repeatable)")
	replica := fs.String("replica", "", "logs: the `replica`, e.g. Worker-1 (default the primary replica)")
	tail := fs.Int("tail", 0, "logs: the last `N` lines (0: all)")
	follow := fs.Bool("follow", false, "logs: follow the log until the replica ends")
	fs.BoolVar(follow, "F", false, "alias of --follow")
	specFile := fs.String("f", "", "submit: the job spec `file` (JSON; - for stdin)")
	wait := fs.Bool("wait", false, "submit: follow the job until it ends")
	asJSON := fs.Bool("json", false, "list, show: print JSON")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), jobsUsage)
		fs.PrintDefaults()
	}
	cmd, done, err := subcommand(fs, args, stdout)
	if done {
		return err
	}
	// Flags may come before or after the job name; "logs NAME -f" follows.
	rest := args[1:]
	if cmd == "logs" {
		for i, a := range rest {
			if a == "-f" {
				rest[i] = "-F"
			}
		}
	}
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		return err
	}
	needName := map[string]bool{"show": true, "logs": true, "cancel": true, "delete": true}
	switch {
	case needName[cmd] && len(pos) != 1:
		return fmt.Errorf("jobs %s: give one job name (ferry jobs list shows them)", cmd)
	case (cmd == "list" || cmd == "submit") && len(pos) > 0:
		return fmt.Errorf("jobs %s: unexpected arguments %q (ferry jobs --help)", cmd, pos)
	case !needName[cmd] && cmd != "list" && cmd != "submit":
		fs.Usage()
		return fmt.Errorf("jobs: unknown command %q", cmd)
	case cmd == "submit" && *specFile == "":
		return errors.New("jobs submit: give the spec file with -f SPEC.json (- for stdin)")
	}

	s, closeAll, err := jobsSession(ctx, *apiURL, *token)
	if err != nil {
		return err
	}
	defer closeAll()
	b := s.Backend
	switch cmd {
	case "list":
		lo, statuses, err := jobsclient.ListFilter(*kind, *status, labels)
		if err != nil {
			return fmt.Errorf("jobs list: %w", err)
		}
		js, err := b.List(ctx, lo)
		if err != nil {
			return fmt.Errorf("jobs list: %w", err)
		}
		js = slices.DeleteFunc(js, func(j jobs.Job) bool { return !jobsapi.HasStatus(&j, statuses) })
		if *asJSON {
			return printJSON(stdout, js)
		}
		fmt.Fprintln(stdout, jobsclient.JobsTable(js).String())
		fmt.Fprintf(stdout, "(%d jobs, %s)\n", len(js), s.Where)
	case "show":
		j, err := b.Get(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("jobs show: %w", err)
		}
		if *asJSON {
			return printJSON(stdout, j)
		}
		printJob(stdout, &j)
	case "logs":
		j, err := b.Get(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("jobs logs: %w", err)
		}
		lo := jobs.LogOptions{Follow: *follow, TailLines: *tail}
		if lo.Replica, lo.Index, err = jobsapi.ParseReplica(j.Spec.Kind, *replica); err != nil {
			return fmt.Errorf("jobs logs: --replica: %w", err)
		}
		rc, err := b.Logs(ctx, pos[0], lo)
		if err != nil {
			return fmt.Errorf("jobs logs: %w", err)
		}
		defer rc.Close()
		if _, err := io.Copy(stdout, rc); err != nil && ctx.Err() == nil {
			return fmt.Errorf("jobs logs: %w", err)
		}
	case "cancel":
		if err := b.Cancel(ctx, pos[0]); err != nil {
			return fmt.Errorf("jobs cancel: %w", err)
		}
		j, err := b.Get(ctx, pos[0])
		if err != nil {
			return fmt.Errorf("jobs cancel: %w", err)
		}
		fmt.Fprintf(stdout, "job %s: %s\n", j.Name(), j.Status.Phase())
	case "delete":
		if err := b.Delete(ctx, pos[0]); err != nil {
			return fmt.Errorf("jobs delete: %w", err)
		}
		fmt.Fprintf(stdout, "job %s deleted\n", pos[0])
	case "submit":
		var spec jobs.Spec
		if err := readSpec(*specFile, &spec, "job"); err != nil {
			return fmt.Errorf("jobs submit: %w", err)
		}
		j, err := b.Submit(ctx, spec)
		if err != nil {
			return fmt.Errorf("jobs submit: %w", err)
		}
		fmt.Fprintf(stdout, "job %s submitted (%s, %d replicas, run %s)\n", j.Name(), j.Spec.Kind, j.Spec.TotalReplicas(), j.RunID)
		if !*wait {
			return nil
		}
		res := jobsclient.Monitor(ctx, b, j, nil, jobsclient.MonitorOptions{})
		if res.Err != nil {
			return fmt.Errorf("jobs submit: watching %s: %w", j.Name(), res.Err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("jobs submit: stopped watching %s; it keeps running (ferry jobs cancel %s stops it)", j.Name(), j.Name())
		}
		fmt.Fprintln(stdout, jobsclient.Summary(ctx, res.Job, nil, res.Metrics).String())
		if res.Job.Status.Phase() == jobs.Failed {
			c, _ := res.Job.Status.Condition(jobs.Failed)
			return fmt.Errorf("job %s failed (%s): %s", j.Name(), c.Reason, c.Message)
		}
	}
	return nil
}

// jobsSession connects to the control plane at apiURL, or opens the local
// backend of the data directory with the embedded tracking store.
func jobsSession(ctx context.Context, apiURL, token string) (*jobsclient.Session, func(), error) {
	if apiURL != "" {
		return jobsclient.NewSession(jobsapi.NewClient(apiURL, token, nil), apiURL), func() {}, nil
	}
	ts, err := tracking.Connect(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: tracking store: %w", err)
	}
	s, err := jobsclient.Connect(ctx, ts)
	if err != nil {
		ts.Tracker.Close()
		return nil, nil, err
	}
	return s, func() {
		s.Close()
		ts.Tracker.Close()
	}, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printJob(w io.Writer, j *jobs.Job) {
	fmt.Fprintf(w, "name:     %s\nkind:     %s\nbackend:  %s\nuid:      %s\nstatus:   %s\nrun:      %s\ncommand:  %s\n",
		j.Name(), j.Spec.Kind, j.Backend, j.UID, j.Status.Phase(), j.RunID, strings.Join(j.Spec.Command, " "))
	fmt.Fprintln(w, "conditions:")
	for _, c := range j.Status.Conditions {
		fmt.Fprintf(w, "  %-10s %-5v %-20s %s  %s\n", c.Type, c.Status, c.Reason, c.LastTransitionTime.UTC().Format("2006-01-02 15:04:05"), c.Message)
	}
	t := jobsclient.Describe(j)
	t.Caption = ""
	fmt.Fprintln(w, t.String())
}

// stringList collects a repeated flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
