package jobsapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/jobsapi"
	"github.com/ferryml/ferry/jobs/local"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/tracking"
)

// waitLimit bounds every wait for a job; reaching it fails the test.
const waitLimit = 2 * time.Minute

type server struct {
	c   *jobsapi.Client
	b   *local.Backend
	tr  storage.Tracker
	url string // the API base, with a trailing slash
}

// serve starts the jobs API over a real local backend with a tracking
// store, behind a token check like notebookd's, and returns a client of it.
func serve(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	tr, err := tracking.Open(t.Context(), tracking.DefaultURL(dir), tracking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := local.New(t.Context(), local.Options{
		Dir: filepath.Join(dir, "jobs"), Tracker: tr, GPUs: []string{}, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		GracePeriod: 3 * time.Second, RestartDelay: 20 * time.Millisecond, PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := jobsapi.NewHandler(b, local.BackendName, slog.New(slog.NewTextHandler(t.Output(), nil)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token secret" {
			http.Error(w, `{"message": "forbidden", "reason": "Forbidden"}`, http.StatusForbidden)
			return
		}
		http.StripPrefix("/api/ferry/v1", h).ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		js, _ := b.List(ctx, jobs.ListOptions{})
		for _, j := range js {
			if err := b.Cancel(ctx, j.Name()); err != nil {
				t.Errorf("cancel %s: %v", j.Name(), err)
			}
		}
		srv.CloseClientConnections()
		srv.Close()
		b.Close()
		tr.Close()
	})
	u := srv.URL + "/api/ferry/v1/"
	return &server{c: jobsapi.NewClient(u, "secret", srv.Client()), b: b, tr: tr, url: u}
}

func shJob(name, script string) jobs.Spec {
	return jobs.Spec{
		Name: name, Kind: jobs.PyTorch,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 1}},
		Command:  []string{"/bin/sh", "-c", script},
	}
}

// waitFor watches job name through the client until cond holds.
func waitFor(t *testing.T, b jobs.Backend, name, what string, cond func(*jobs.Job) bool) jobs.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	ch, err := b.Watch(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var last jobs.Job
	for ev := range ch {
		last = ev.Job
		if cond(&last) {
			return last
		}
	}
	t.Fatalf("job %s: not %s within %s; last status %+v", name, what, waitLimit, last.Status)
	return last
}

func readAll(t *testing.T, b jobs.Backend, name string, opts jobs.LogOptions) string {
	t.Helper()
	rc, err := b.Logs(t.Context(), name, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestJobThroughClient runs a job's whole life through the API: submit,
// watch until it succeeded, its logs, its tracking run, list and delete.
func TestJobThroughClient(t *testing.T) {
	s := serve(t)
	ctx := t.Context()
	spec := shJob("tiny", `echo "rank $RANK of $WORLD_SIZE"; [ "$RANK" = 0 ] && echo loss=0.5 || true`)
	spec.Labels = map[string]string{"team": "a"}
	j, err := s.c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := j.Status.Condition(jobs.Created); !ok || !c.Status || j.UID == "" || j.Backend != "local" {
		t.Errorf("submitted job %+v: want Created, a uid and backend local", j)
	}
	var seen []jobs.ConditionType
	j = waitFor(t, s.c, "tiny", "Succeeded", func(j *jobs.Job) bool {
		if p := j.Status.Phase(); len(seen) == 0 || seen[len(seen)-1] != p {
			seen = append(seen, p)
		}
		return j.Status.Finished() && j.Status.ReplicaStatuses[jobs.Master].Active+j.Status.ReplicaStatuses[jobs.Worker].Active == 0
	})
	if got := j.Status.Phase(); got != jobs.Succeeded {
		t.Fatalf("phase %s (phases seen %v), want Succeeded; master log:\n%s", got, seen, readAll(t, s.c, "tiny", jobs.LogOptions{}))
	}
	if j.Status.StartTime.IsZero() || j.Status.CompletionTime.IsZero() || len(j.Status.Replicas) != 2 {
		t.Errorf("status %+v: want start, completion and 2 replicas", j.Status)
	}

	if got, want := readAll(t, s.c, "tiny", jobs.LogOptions{}), "rank 0 of 2\nloss=0.5\n"; got != want {
		t.Errorf("primary log %q, want %q", got, want)
	}
	if got, want := readAll(t, s.c, "tiny", jobs.LogOptions{Replica: jobs.Worker, Index: 0}), "rank 1 of 2\n"; got != want {
		t.Errorf("worker log %q, want %q", got, want)
	}
	if got, want := readAll(t, s.c, "tiny", jobs.LogOptions{TailLines: 1}), "loss=0.5\n"; got != want {
		t.Errorf("tail 1 %q, want %q", got, want)
	}

	run, err := s.tr.GetRun(ctx, j.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := run.Metrics["loss"]; !ok || m.Value != 0.5 || run.Status != storage.RunFinished {
		t.Errorf("run %s: status %s, metrics %v; want FINISHED with loss 0.5", run.ID, run.Status, run.Metrics)
	}

	got, err := s.c.Get(ctx, "tiny")
	if err != nil || got.UID != j.UID || got.Status.Phase() != jobs.Succeeded {
		t.Errorf("get: %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name     string
		opts     jobs.ListOptions
		statuses []jobs.ConditionType
		want     int
	}{
		{"all", jobs.ListOptions{}, nil, 1},
		{"kind", jobs.ListOptions{Kind: jobs.PyTorch}, nil, 1},
		{"other kind", jobs.ListOptions{Kind: jobs.XGBoost}, nil, 0},
		{"label", jobs.ListOptions{Labels: map[string]string{"team": "a"}}, nil, 1},
		{"other label", jobs.ListOptions{Labels: map[string]string{"team": "b"}}, nil, 0},
		{"succeeded", jobs.ListOptions{}, []jobs.ConditionType{jobs.Succeeded}, 1},
		{"running", jobs.ListOptions{}, []jobs.ConditionType{jobs.Running}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js, err := s.c.ListStatus(ctx, tc.opts, tc.statuses...)
			if err != nil || len(js) != tc.want {
				t.Errorf("list: %d jobs (%v), want %d", len(js), err, tc.want)
			}
		})
	}
	if name, err := s.c.BackendName(ctx); err != nil || name != "local" {
		t.Errorf("backend name %q, %v; want local", name, err)
	}

	// Delete: a watch of all jobs sees it go.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	ch, err := s.c.Watch(wctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Type != jobs.Added || ev.Job.Name() != "tiny" {
		t.Errorf("first event %s %s, want ADDED tiny", ev.Type, ev.Job.Name())
	}
	if err := s.c.Delete(ctx, "tiny"); err != nil {
		t.Fatal(err)
	}
	deleted := false
	for ev := range ch { // the job's last MODIFIED events may come first
		if ev.Type == jobs.Deleted {
			if ev.Job.Name() != "tiny" {
				t.Errorf("DELETED %s, want tiny", ev.Job.Name())
			}
			deleted = true
			break
		}
	}
	if !deleted {
		t.Error("the watch ended without a DELETED event")
	}
	stop()
	for range ch { // the channel closes once the context is done
	}
	if _, err := s.c.Get(ctx, "tiny"); !ferry.IsNotFound(err) {
		t.Errorf("get after delete: %v, want NotFound", err)
	}
}

// TestFollowLogs reads a replica's log while it is written; the reader
// ends when the replica does.
func TestFollowLogs(t *testing.T) {
	s := serve(t)
	ctx := t.Context()
	spec := shJob("slow", `for i in 1 2 3; do echo "step=$i loss=0.$i"; sleep 0.2; done`)
	spec.Replicas = map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}}
	if _, err := s.c.Submit(ctx, spec); err != nil {
		t.Fatal(err)
	}
	rc, err := s.c.Logs(ctx, "slow", jobs.LogOptions{Replica: jobs.Master, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var lines []string
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(lines, "|"), "step=1 loss=0.1|step=2 loss=0.2|step=3 loss=0.3"; got != want {
		t.Errorf("followed log %q, want %q", got, want)
	}
}

// liveProcesses lists live processes whose environment holds the job's
// FERRY_JOB_UID, read from /proc.
func liveProcesses(t *testing.T, uid string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append([]byte{0}, env...), []byte("\x00FERRY_JOB_UID="+uid+"\x00")) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			continue // a zombie
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, e.Name()+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return out
}

// TestCancel cancels a running job through the API: it ends Failed with
// reason JobCancelled and no process of it is left.
func TestCancel(t *testing.T) {
	s := serve(t)
	ctx := t.Context()
	j, err := s.c.Submit(ctx, shJob("sleepy", "echo started; exec sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, s.c, "sleepy", "running", func(j *jobs.Job) bool {
		return j.Status.Phase() == jobs.Running && j.Status.ReplicaStatuses[jobs.Worker].Active == 1
	})
	if ps := liveProcesses(t, j.UID); len(ps) == 0 {
		t.Fatal("no process of the running job found in /proc: the check below could not fail")
	}
	if err := s.c.Cancel(ctx, "sleepy"); err != nil {
		t.Fatal(err)
	}
	got, err := s.c.Get(ctx, "sleepy")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := got.Status.Condition(jobs.Failed)
	if got.Status.Phase() != jobs.Failed || c.Reason != jobs.ReasonCancelled {
		t.Errorf("after cancel: phase %s reason %q, want Failed JobCancelled", got.Status.Phase(), c.Reason)
	}
	if ps := liveProcesses(t, j.UID); len(ps) > 0 {
		t.Errorf("processes left after cancel: %q", ps)
	}
	if err := s.c.Cancel(ctx, "sleepy"); err != nil {
		t.Errorf("cancelling a finished job: %v, want nil", err)
	}
}

// TestErrors checks that the backend's errors keep their codes through
// the API, and that an invalid spec is refused with the fields named.
func TestErrors(t *testing.T) {
	s := serve(t)
	ctx := t.Context()

	bad := jobs.Spec{Name: "Bad_Name", Kind: jobs.PyTorch, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{"PS": {Replicas: 1}}}
	_, err := s.c.Submit(ctx, bad)
	var se *ferry.Error
	if !errors.As(err, &se) || se.Code != ferry.Invalid {
		t.Fatalf("invalid spec: %v, want an Invalid error", err)
	}
	for _, field := range []string{"name \"Bad_Name\"", "replicas[PS]", "needs a Master or at least one Worker"} {
		if !strings.Contains(se.Message, field) {
			t.Errorf("invalid spec message %q does not name %s", se.Message, field)
		}
	}
	if js, _ := s.b.List(ctx, jobs.ListOptions{}); len(js) != 0 {
		t.Errorf("an invalid spec left %d jobs", len(js))
	}

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		says                     string
	}{
		{"bad json", "POST", "jobs", `{"name": "x", "kind": `, 400, "bad job spec JSON"},
		{"unknown field", "POST", "jobs", `{"name": "x", "kind": "pytorch", "workers": 2}`, 400, `unknown field "workers"`},
		{"no body", "POST", "jobs", ``, 400, "needs a job spec"},
		{"invalid spec", "POST", "jobs", `{"name": "x", "kind": "pytorch", "replicas": {"Worker": {"replicas": 0}}, "command": ["true"]}`, 400, "replicas[Worker] = 0"},
		{"unknown job", "GET", "jobs/nope", ``, 404, `job "nope" not found`},
		{"unknown job logs", "GET", "jobs/nope/logs", ``, 404, "not found"},
		{"unknown job watch", "GET", "jobs/nope/watch", ``, 404, "not found"},
		{"bad kind filter", "GET", "jobs?kind=spark", ``, 400, "not a training kind"},
		{"bad status filter", "GET", "jobs?status=Sleeping", ``, 400, "use Created, Running"},
		{"no route", "GET", "jobs/a/b/c", ``, 404, "no jobs API route"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, tc.method, s.url+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "token secret")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Message, Code string }
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tc.status || !strings.Contains(e.Message, tc.says) {
				t.Errorf("%s %s: %d %q, want %d saying %q", tc.method, tc.path, resp.StatusCode, e.Message, tc.status, tc.says)
			}
		})
	}

	if _, err := s.c.Submit(ctx, shJob("dup", "true")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.Submit(ctx, shJob("dup", "true")); ferry.ErrorCode(err) != ferry.AlreadyExists {
		t.Errorf("a taken name: %v, want AlreadyExists", err)
	}
	if _, err := s.c.Logs(ctx, "dup", jobs.LogOptions{Replica: jobs.Worker, Index: 5}); !ferry.IsNotFound(err) || !strings.Contains(err.Error(), "Worker-5") {
		t.Errorf("logs of a missing replica: %v, want NotFound naming Worker-5", err)
	}
	if err := s.c.Cancel(ctx, "nope"); !ferry.IsNotFound(err) {
		t.Errorf("cancel unknown: %v", err)
	}
	wrong := jobsapi.NewClient(s.url, "wrong", nil)
	if _, err := wrong.List(ctx, jobs.ListOptions{}); err == nil || !strings.Contains(err.Error(), "FERRY_TOKEN") {
		t.Errorf("wrong token: %v", err)
	}
	down := jobsapi.NewClient("http://127.0.0.1:1/api/ferry/v1", "x", nil)
	if _, err := down.List(ctx, jobs.ListOptions{}); ferry.ErrorCode(err) != ferry.Unavailable || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("unreachable: %v", err)
	}
}

// TestServerSentEvents watches with Accept: text/event-stream, as a
// browser's EventSource does.
func TestServerSentEvents(t *testing.T) {
	s := serve(t)
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if _, err := s.c.Submit(ctx, shJob("sse", "true")); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"jobs/sse/watch", nil)
	req.Header.Set("Authorization", "token secret")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var events []string
	for sc.Scan() {
		line := sc.Text()
		if ev, ok := strings.CutPrefix(line, "event: "); ok {
			events = append(events, ev)
			continue
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var ev jobs.Event
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatalf("data line %q: %v", data, err)
			}
			if string(ev.Type) != events[len(events)-1] {
				t.Errorf("event %s with data of type %s", events[len(events)-1], ev.Type)
			}
			if ev.Job.Status.Finished() {
				break
			}
		}
	}
	if len(events) == 0 || events[0] != "ADDED" {
		t.Errorf("events %v, want ADDED first", events)
	}
}
