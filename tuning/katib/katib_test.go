package katib_test

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/algorithms"
	"github.com/ferryml/ferry/tuning/katib"
)

var update = flag.Bool("update", false, "rewrite testdata/experiment.json")

func TestMain(m *testing.M) {
	code := m.Run()
	testsrv.StopSharedKube()
	os.Exit(code)
}

var (
	experiments = schema.GroupVersionResource{Group: "kubeflow.org", Version: "v1beta1", Resource: "experiments"}
	trials      = schema.GroupVersionResource{Group: "kubeflow.org", Version: "v1beta1", Resource: "trials"}
	pytorchJobs = schema.GroupVersionResource{Group: "kubeflow.org", Version: "v1", Resource: "pytorchjobs"}
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
)

// counter counts the requests a client sends.
type counter struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

type env struct {
	ns   string
	b    *katib.Backend
	reqs *counter
	dyn  dynamic.Interface
}

// newEnv returns a backend on a fresh namespace of this test binary's API
// server (Katib v0.19's CRDs and the PyTorchJob CRD; no Katib controller:
// the tests stand in for it), and a client that checks what it did.
func newEnv(t *testing.T) *env {
	t.Helper()
	k := testsrv.SharedKube(t, testsrv.KubeOptions{
		CRDs: []string{"katib-v0.19.0", "training-operator-v1.9.4/kubeflow.org_pytorchjobs.yaml"},
	})
	e := &env{ns: k.NewNamespace(t), reqs: &counter{}}
	cfg, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	if e.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	bc := rest.CopyConfig(cfg)
	bc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { e.reqs.next = rt; return e.reqs }
	if e.b, err = katib.New(katib.Options{Config: bc, Namespace: e.ns, Image: "python:3.12", Poll: 50 * time.Millisecond,
		Suggesters: algorithms.New, Stoppers: algorithms.NewEarlyStopper}); err != nil {
		t.Fatal(err)
	}
	return e
}

func ptr[T any](v T) *T { return &v }

const trainScript = "import sys\nprint('loss=0.5')\n"

// studySpec is a study of every parameter type, with files, a goal,
// additional metrics and early stopping.
func studySpec(name string) tuning.Spec {
	return tuning.Spec{
		Name: name,
		Objective: tuning.Objective{Metric: "loss", Direction: tuning.Minimize, Goal: ptr(0.01),
			Strategy: tuning.Min, AdditionalMetrics: []string{"accuracy"}},
		Space: tuning.Space{
			tuning.Float("lr", 1e-4, 0.1).Log(),
			tuning.IntRange("layers", 2, 8).By(2),
			tuning.Choice("optimizer", "sgd", "adam"),
			tuning.Numbers("batch", 16, 32, 64),
		},
		Algorithm:      tuning.Algorithm{Name: "tpe", Settings: tuning.Settings{"n_startup_trials": "5"}},
		Early:          &tuning.EarlyStopping{Name: "medianstop", Settings: tuning.Settings{"min_trials_required": "3"}},
		ParallelTrials: 2, MaxTrials: 8, MaxFailedTrials: 2,
		Seed: 42,
		Template: tuning.Template{Job: &jobs.Spec{
			Kind:     jobs.PyTorch,
			Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 1}},
			Command:  []string{"python3", "train.py", "--lr=${trialParameters.lr}", "--layers=${trialParameters.layers}", "--batch=${trialParameters.batch}"},
			Env:      map[string]string{"OPTIMIZER": "${trialParameters.optimizer}"},
			Files:    map[string]string{"train.py": trainScript},
		}},
		Labels: map[string]string{"team": "vision"},
	}
}

// The Experiment Create makes is accepted by the API server and reads back
// equal to the golden file; Get returns the spec as created; the trial
// template, substituted as Katib does, is a PyTorchJob the CRD's schema
// accepts with strict field validation.
func TestCreateExperiment(t *testing.T) {
	e := newEnv(t)
	sp := studySpec("golden")
	st, err := e.b.Create(t.Context(), sp)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != tuning.StudyRunning || st.Spec.Name != "golden" {
		t.Errorf("Create: %s %q, want Running golden", st.State, st.Spec.Name)
	}
	u, err := e.dyn.Resource(experiments).Namespace(e.ns).Get(t.Context(), "golden", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(),
		"metadata": map[string]any{"name": u.GetName(), "labels": u.GetLabels(), "annotations": u.GetAnnotations()},
		"spec":     u.Object["spec"],
	}
	gotJSON, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	gotJSON = append(gotJSON, '\n')
	if *update {
		if err := os.WriteFile("testdata/experiment.json", gotJSON, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/experiment.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(gotJSON) != string(want) {
		t.Errorf("Experiment read back:\n%s\nwant (testdata/experiment.json; -update rewrites it):\n%s", gotJSON, want)
	}

	// The files are in a ConfigMap owned by the Experiment.
	cm, err := e.dyn.Resource(configMaps).Namespace(e.ns).Get(t.Context(), "golden-files", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	if len(data) != 1 || data["file-0"] != trainScript || len(cm.GetOwnerReferences()) != 1 || cm.GetOwnerReferences()[0].UID != u.GetUID() {
		t.Errorf("files ConfigMap: data %v owners %v; want the script, owned by the Experiment %s", data, cm.GetOwnerReferences(), u.GetUID())
	}

	// Get returns the spec as created, with its defaults.
	st, err = e.b.Get(t.Context(), "golden")
	if err != nil {
		t.Fatal(err)
	}
	wantSpec := sp.WithDefaults()
	wantSpec.Template.Job.Files = map[string]string{"train.py": ""} // the contents are in the ConfigMap
	if !reflect.DeepEqual(st.Spec, wantSpec) {
		a, _ := json.Marshal(st.Spec)
		b, _ := json.Marshal(wantSpec)
		t.Errorf("Get: spec\n%s\nwant\n%s", a, b)
	}

	// What Katib's trial controller would create is a valid PyTorchJob.
	tmpl, _, _ := unstructured.NestedMap(u.Object, "spec", "trialTemplate", "trialSpec")
	text, _ := json.Marshal(tmpl)
	s := string(text)
	for name, v := range map[string]string{"lr": "0.001", "layers": "4", "optimizer": "adam", "batch": "32"} {
		s = strings.ReplaceAll(s, "${trialParameters."+name+"}", v)
	}
	var job unstructured.Unstructured
	if err := json.Unmarshal([]byte(s), &job.Object); err != nil {
		t.Fatal(err)
	}
	job.SetName("golden-abcd1234")
	job.SetNamespace(e.ns)
	if _, err := e.dyn.Resource(pytorchJobs).Namespace(e.ns).Create(t.Context(), &job, metav1.CreateOptions{
		DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}); err != nil {
		t.Errorf("the trial's PyTorchJob is refused: %v", err)
	}

	// A second study of the name is refused.
	if _, err := e.b.Create(t.Context(), sp); ferry.ErrorCode(err) != ferry.AlreadyExists {
		t.Errorf("second Create: %v, want AlreadyExists", err)
	}
}

// trial creates a Trial of the Experiment as Katib's controller would,
// with the status Katib would give it.
func (e *env) trial(t *testing.T, exp *unstructured.Unstructured, name string, created time.Time, assignments map[string]string, conds [][2]string, metrics []map[string]any) {
	t.Helper()
	var as []any
	for _, n := range []string{"lr", "layers", "optimizer", "batch"} {
		as = append(as, map[string]any{"name": n, "value": assignments[n]})
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubeflow.org/v1beta1",
		"kind":       "Trial",
		"metadata": map[string]any{
			"name":   name,
			"labels": map[string]any{katib.LabelExperiment: exp.GetName()},
			"ownerReferences": []any{map[string]any{"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment",
				"name": exp.GetName(), "uid": string(exp.GetUID()), "controller": true}},
		},
		"spec": map[string]any{
			"parameterAssignments": as,
			"labels":               map[string]any{"rung": "0"},
			"primaryContainerName": "pytorch",
		},
	}}
	u, err := e.dyn.Resource(trials).Namespace(e.ns).Create(t.Context(), u, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cs []any
	for _, c := range conds {
		cs = append(cs, map[string]any{"type": c[0], "status": c[1], "reason": "Trial" + c[0], "message": "Trial is " + strings.ToLower(c[0])})
	}
	status := map[string]any{"startTime": created.Format(time.RFC3339), "conditions": cs}
	if metrics != nil {
		var ms []any
		for _, m := range metrics {
			ms = append(ms, m)
		}
		status["observation"] = map[string]any{"metrics": ms}
	}
	u.Object["status"] = status
	if _, err := e.dyn.Resource(trials).Namespace(e.ns).UpdateStatus(t.Context(), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) setExperimentStatus(t *testing.T, name string, conds [][3]string) {
	t.Helper()
	u, err := e.dyn.Resource(experiments).Namespace(e.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cs []any
	for _, c := range conds {
		cs = append(cs, map[string]any{"type": c[0], "status": c[1], "reason": c[2], "message": "Experiment " + c[2]})
	}
	u.Object["status"] = map[string]any{"conditions": cs, "completionTime": "2026-11-27T10:00:00Z"}
	if _, err := e.dyn.Resource(experiments).Namespace(e.ns).UpdateStatus(t.Context(), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func metric(name, min, max, latest string) map[string]any {
	return map[string]any{"name": name, "min": min, "max": max, "latest": latest}
}

// Trials that Katib's controller (here the test) creates are read back
// with their states, values by the strategy, assignments and labels; the
// study's state follows the Experiment's conditions; Watch sees a trial
// end; Delete removes the Experiment, its Trials and its files.
func TestTrialsReadBack(t *testing.T) {
	e := newEnv(t)
	if _, err := e.b.Create(t.Context(), studySpec("study")); err != nil {
		t.Fatal(err)
	}
	exp, err := e.dyn.Resource(experiments).Namespace(e.ns).Get(t.Context(), "study", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.setExperimentStatus(t, "study", [][3]string{{"Created", "True", "ExperimentCreated"}, {"Running", "True", "ExperimentRunning"}})
	base := time.Now()
	a := func(lr, layers, opt, batch string) map[string]string {
		return map[string]string{"lr": lr, "layers": layers, "optimizer": opt, "batch": batch}
	}
	e.trial(t, exp, "study-aaaaaaaa", base, a("0.001", "2", "sgd", "16"),
		[][2]string{{"Created", "True"}, {"Running", "False"}, {"Succeeded", "True"}},
		[]map[string]any{metric("loss", "0.25", "0.9", "0.3"), metric("accuracy", "0.5", "0.8", "0.75")})
	e.trial(t, exp, "study-bbbbbbbb", base, a("0.01", "4", "adam", "32"),
		[][2]string{{"Created", "True"}, {"Running", "False"}, {"EarlyStopped", "True"}},
		[]map[string]any{metric("loss", "0.6", "0.9", "0.7")})
	e.trial(t, exp, "study-cccccccc", base, a("0.05", "6", "sgd", "64"),
		[][2]string{{"Created", "True"}, {"Running", "False"}, {"Failed", "True"}}, nil)
	e.trial(t, exp, "study-dddddddd", base, a("0.0001", "8", "adam", "16"),
		[][2]string{{"Created", "True"}, {"Running", "False"}, {"MetricsUnavailable", "True"}},
		[]map[string]any{metric("loss", "unavailable", "unavailable", "unavailable")})
	e.trial(t, exp, "study-eeeeeeee", base, a("0.002", "2", "adam", "64"),
		[][2]string{{"Created", "True"}, {"Running", "True"}}, []map[string]any{metric("loss", "0.4", "0.4", "0.4")})
	e.trial(t, exp, "study-ffffffff", base, a("0.003", "2", "sgd", "32"), [][2]string{{"Created", "True"}}, nil)

	st, err := e.b.Get(t.Context(), "study")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != tuning.StudyRunning {
		t.Errorf("study %s, want Running", st.State)
	}
	type row struct {
		name  string
		state tuning.TrialState
		value string
	}
	val := func(v *float64) string {
		if v == nil {
			return "-"
		}
		b, _ := json.Marshal(*v)
		return string(b)
	}
	want := []row{
		{"study-aaaaaaaa", tuning.Succeeded, "0.25"}, // the min: the study's strategy
		{"study-bbbbbbbb", tuning.EarlyStopped, "0.6"},
		{"study-cccccccc", tuning.Failed, "-"},
		{"study-dddddddd", tuning.MetricsUnavailable, "-"},
		{"study-eeeeeeee", tuning.Running, "-"},
		{"study-ffffffff", tuning.Created, "-"},
	}
	var got []row
	for _, tr := range st.Trials {
		got = append(got, row{tr.Name, tr.State, val(tr.Value)})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("trials %v, want %v", got, want)
	}
	first := st.Trials[0]
	if wantA := []tuning.Assignment{{Name: "lr", Value: "0.001"}, {Name: "layers", Value: "2"}, {Name: "optimizer", Value: "sgd"}, {Name: "batch", Value: "16"}}; !reflect.DeepEqual(first.Assignments, wantA) {
		t.Errorf("assignments %v, want %v", first.Assignments, wantA)
	}
	if wantP := (tuning.Point{0.001, 2, 0, 16}); !reflect.DeepEqual(first.Point, wantP) {
		t.Errorf("point %v, want %v", first.Point, wantP)
	}
	if first.Metrics["accuracy"] != 0.75 || first.Labels["rung"] != "0" || first.Index != 1 || first.Job != first.Name {
		t.Errorf("first trial: metrics %v labels %v index %d job %q; want accuracy 0.75, rung 0, index 1, job its name", first.Metrics, first.Labels, first.Index, first.Job)
	}
	if best, ok := st.Best(); !ok || best.Name != "study-aaaaaaaa" {
		t.Errorf("best %s %v, want study-aaaaaaaa", best.Name, ok)
	}

	// Watch: the running trial succeeds, then the Experiment.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ch, err := e.b.Watch(ctx, "study")
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Type != jobs.Added || len(ev.Study.Trials) != 6 {
		t.Fatalf("first event %s with %d trials, want Added with 6", ev.Type, len(ev.Study.Trials))
	}
	u, err := e.dyn.Resource(trials).Namespace(e.ns).Get(t.Context(), "study-eeeeeeee", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedSlice(u.Object, []any{
		map[string]any{"type": "Created", "status": "True"}, map[string]any{"type": "Running", "status": "False"},
		map[string]any{"type": "Succeeded", "status": "True", "message": "Trial has succeeded"},
	}, "status", "conditions")
	if _, err := e.dyn.Resource(trials).Namespace(e.ns).UpdateStatus(t.Context(), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.setExperimentStatus(t, "study", [][3]string{{"Created", "True", "ExperimentCreated"}, {"Running", "False", "ExperimentRunning"},
		{"Succeeded", "True", "ExperimentGoalReached"}})
	for ev := range ch {
		if ev.Study.State == tuning.StudySucceeded {
			if ev.Type != jobs.Modified || ev.Study.Reason != "GoalReached" || ev.Study.Trials[4].State != tuning.Succeeded || val(ev.Study.Trials[4].Value) != "0.4" {
				t.Errorf("final event %s: %s %s, trial 5 %s %s; want Modified Succeeded GoalReached, trial 5 Succeeded 0.4",
					ev.Type, ev.Study.State, ev.Study.Reason, ev.Study.Trials[4].State, val(ev.Study.Trials[4].Value))
			}
			if ev.Study.Finished.IsZero() {
				t.Error("no finish time")
			}
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatal("Watch: no Succeeded study within 30s")
	}

	list, err := e.b.List(t.Context())
	if err != nil || len(list) != 1 || len(list[0].Trials) != 6 {
		t.Fatalf("List: %d studies, err %v; want one with 6 trials", len(list), err)
	}

	if err := e.b.Delete(t.Context(), "study"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		gvr  schema.GroupVersionResource
		name string
	}{{experiments, "study"}, {trials, "study-aaaaaaaa"}, {configMaps, "study-files"}} {
		if _, err := e.dyn.Resource(c.gvr).Namespace(e.ns).Get(t.Context(), c.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("after Delete, %s %s: %v, want NotFound", c.gvr.Resource, c.name, err)
		}
	}
	if _, err := e.b.Get(t.Context(), "study"); !ferry.IsNotFound(err) {
		t.Errorf("Get after Delete: %v, want NotFound", err)
	}
	if err := e.b.Delete(t.Context(), "study"); !ferry.IsNotFound(err) {
		t.Errorf("second Delete: %v, want NotFound", err)
	}
}

// Specs Katib's webhook (or tuning's rules) would refuse are refused
// before any request reaches the API server.
func TestInvalidSpecsRefusedClientSide(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		edit func(*tuning.Spec)
		code ferry.Code
		want string
	}{
		{"unknown trial kind", func(s *tuning.Spec) { s.Template.Job.Kind = jobs.JAX }, ferry.Invalid, "trialResources"},
		{"placeholder in files", func(s *tuning.Spec) {
			s.Template.Job.Files["train.py"] = "print(${trialParameters.lr})"
		}, ferry.Invalid, "not in files"},
		{"inverted range", func(s *tuning.Spec) { s.Space[0] = tuning.Float("lr", 0.1, 0.001) }, ferry.Invalid, "inverted"},
		{"parallel over max", func(s *tuning.Spec) { s.ParallelTrials, s.MaxTrials = 5, 4 }, ferry.Invalid, "lower parallelTrials"},
		{"max failed over max", func(s *tuning.Spec) { s.MaxFailedTrials, s.MaxTrials = 5, 4 }, ferry.Invalid, "maxFailedTrials (5)"},
		{"unknown algorithm", func(s *tuning.Spec) { s.Algorithm.Name = "annealing" }, ferry.Invalid, "not one of Katib's"},
		{"unknown early stopping", func(s *tuning.Spec) { s.Early.Name = "patience" }, ferry.Invalid, "medianstop"},
		{"unused parameter", func(s *tuning.Spec) { s.Template.Job.Env = nil }, ferry.Invalid, "optimizer"},
		{"quote in a value", func(s *tuning.Spec) { s.Space[2] = tuning.Choice("optimizer", "sgd", `a"b`) }, ferry.Invalid, "quote"},
		{"no image", func(s *tuning.Spec) {}, ferry.Invalid, "image"},
		{"no template", func(s *tuning.Spec) { s.Template.Job = nil }, ferry.NotSupported, "job template"},
		{"long name", func(s *tuning.Spec) { s.Name = strings.Repeat("a", 41) }, ferry.Invalid, "at most 40"},
		{"bad algorithm setting", func(s *tuning.Spec) { s.Algorithm.Settings = tuning.Settings{"n_initial_points": "x"} }, ferry.Invalid, "n_initial_points"},
		{"bad early-stopping setting", func(s *tuning.Spec) { s.Early.Settings = tuning.Settings{"start_stpe": "2"} }, ferry.Invalid, "start_stpe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := studySpec("bad")
			job := *sp.Template.Job
			job.Files = map[string]string{"train.py": trainScript}
			job.Env = map[string]string{"OPTIMIZER": "${trialParameters.optimizer}"}
			sp.Template.Job = &job
			b := e.b
			if tc.name == "no image" {
				nb, err := katib.New(katib.Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}, Namespace: e.ns})
				if err != nil {
					t.Fatal(err)
				}
				b = nb
			}
			tc.edit(&sp)
			before := e.reqs.n.Load()
			_, err := b.Create(t.Context(), sp)
			if ferry.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Create: %v; want %s mentioning %q", err, tc.code, tc.want)
			}
			if n := e.reqs.n.Load() - before; n != 0 {
				t.Errorf("%d requests reached the API server, want none", n)
			}
		})
	}
	l, err := e.dyn.Resource(experiments).Namespace(e.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(l.Items) != 0 {
		t.Errorf("%d Experiments in the namespace (err %v), want none", len(l.Items), err)
	}
}

func TestNotSupported(t *testing.T) {
	b, err := katib.New(katib.Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}, Namespace: "ml"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	_, _, askErr := b.Ask(ctx, "s")
	_, tellErr := b.Tell(ctx, "s", "s-1", tuning.Report{})
	_, resumeErr := b.Resume(ctx, "s")
	for name, c := range map[string]struct {
		err  error
		want string
	}{
		"Stop":   {b.Stop(ctx, "s"), "kubectl -n ml edit experiment s"},
		"Resume": {resumeErr, "resumePolicy"},
		"Ask":    {askErr, "Ferry's own runner"},
		"Tell":   {tellErr, "metrics collector"},
	} {
		if ferry.ErrorCode(c.err) != ferry.NotSupported || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: %v; want NotSupported mentioning %q", name, c.err, c.want)
		}
	}
}
