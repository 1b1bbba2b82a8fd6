package katib

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/kube"
	"github.com/ferryml/ferry/tuning"
)

// Group and Version of Katib's custom resources.
const (
	Group   = "kubeflow.org"
	Version = "v1beta1"
)

// Labels and annotations.
const (
	// LabelExperiment is the label Katib puts on an Experiment's Trials.
	LabelExperiment = "katib.kubeflow.org/experiment"
	// AnnotationSpec holds the study's tuning.Spec as JSON (without the
	// contents of the template's files, which are in the ConfigMap), so
	// that Get returns the spec as created.
	AnnotationSpec = "ferryml.github.io/study-spec"
	// LabelJobRole is the Training Operator's label of a job's master
	// pod (Master, Chief, Launcher): Katib's metrics collector goes there.
	LabelJobRole = "training.kubeflow.org/job-role"
)

// Katib's trial conditions in GJSON, for jobs whose operator sets
// Succeeded and Failed conditions (the Training Operator's kinds).
const (
	SuccessCondition = `status.conditions.#(type=="Succeeded")#|#(status=="True")#`
	FailureCondition = `status.conditions.#(type=="Failed")#|#(status=="True")#`
)

var (
	experimentsGVR = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "experiments"}
	trialsGVR      = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "trials"}
	configMapsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
)

// DefaultTrialKinds are the job kinds of Katib v0.19's default
// katib-config trialResources (besides batch/v1 Job, which Ferry does not
// submit).
var DefaultTrialKinds = []jobs.Kind{jobs.TensorFlow, jobs.PyTorch, jobs.MPI, jobs.XGBoost}

// Algorithms are the algorithm names of Katib's suggestion services that
// take a search space of parameters (enas and darts search
// architectures; pbt is not one of Ferry's).
var Algorithms = []string{"random", "grid", "sobol", "bayesianoptimization", "tpe", "multivariate-tpe", "cmaes", "hyperband"}

// seeded are the algorithms whose suggestion service takes the setting
// random_state: Spec.Seed becomes it, unless the settings set it.
var seeded = []string{"random", "tpe", "multivariate-tpe", "bayesianoptimization", "cmaes"}

// trialSuffix stands for the "-" and eight characters Katib appends to
// an Experiment's name to name a Trial (and its job), for the checks of
// the names the operator derives from the job's.
const trialSuffix = "-xxxxxxxx"

var placeholder = regexp.MustCompile(`\$\{trialParameters\.([^}]*)\}`)

func (b *Backend) filesName(study string) string { return study + "-files" }

// experiment validates spec by tuning's and Katib's rules and returns its
// Experiment, and the data of the ConfigMap of its template's files (nil
// without files). Nothing here talks to the API server.
func (b *Backend) experiment(spec tuning.Spec) (*unstructured.Unstructured, map[string]string, error) {
	bad := func(format string, args ...any) error {
		return ferry.Errorf(ferry.Invalid, "tuning: katib: study %q: %s", spec.Name, fmt.Sprintf(format, args...))
	}
	if err := spec.Validate(); err != nil {
		return nil, nil, err
	}
	spec = spec.WithDefaults()
	if spec.Template.Job == nil {
		return nil, nil, ferry.Errorf(ferry.NotSupported, "tuning: katib: study %q has no job template: Katib runs every trial as a job; give the study a job template, or run an in-kernel objective on Ferry's own runner", spec.Name)
	}
	if spec.MaxFailedTrials > spec.MaxTrials {
		return nil, nil, bad("maxFailedTrials (%d) is more than maxTrials (%d): Katib refuses it; lower maxFailedTrials", spec.MaxFailedTrials, spec.MaxTrials)
	}
	if !slices.Contains(Algorithms, spec.Algorithm.Name) {
		return nil, nil, bad("algorithm %q is not one of Katib's: use one of %s", spec.Algorithm.Name, strings.Join(Algorithms, ", "))
	}
	if spec.Early != nil && spec.Early.Name != "medianstop" {
		return nil, nil, bad("early stopping %q is not Katib's: use medianstop, or leave it out", spec.Early.Name)
	}
	job := *spec.Template.Job
	if !slices.Contains(b.kinds, job.Kind) {
		names := make([]string, len(b.kinds))
		for i, k := range b.kinds {
			names[i] = string(k)
		}
		return nil, nil, bad("the trial template is a %s job, which Katib does not run here (katib-config's trialResources allow %s): use one of those kinds, or add the kind to katib-config and to katib.Options.TrialKinds",
			job.Kind, strings.Join(names, ", "))
	}
	for _, p := range slices.Sorted(maps.Keys(job.Files)) {
		if m := placeholder.FindStringSubmatch(job.Files[p]); m != nil {
			return nil, nil, bad("file %s of the trial template uses ${trialParameters.%s}: Katib substitutes parameters in the trial's job only, not in files; pass the value in the command, args or env (e.g. --%s=${trialParameters.%s}) and read it in the script",
				p, m[1], m[1], m[1])
		}
	}
	for _, p := range spec.Space {
		for _, v := range p.Values {
			if strings.ContainsAny(v, "\"\\") {
				return nil, nil, bad("parameter %q: value %q has a quote or a backslash: Katib puts values into the job's JSON as they are, which such a value breaks; use another value", p.Name, v)
			}
		}
	}
	// The job as Katib will name it: the study's name and a suffix.
	job.Name = spec.Name + trialSuffix
	job.Image = cmp.Or(job.Image, b.opts.Image)
	labels := map[string]string{tuning.LabelStudy: spec.Name}
	maps.Copy(labels, job.Labels)
	job.Labels = labels
	if job.Experiment == "" {
		job.Experiment = spec.Experiment
	}
	var filesData map[string]string
	opts := kube.ObjectOptions{Image: b.opts.Image}
	if len(job.Files) > 0 {
		opts.FilesConfigMap = b.filesName(spec.Name)
		filesData = kube.FilesData(job)
	}
	trialSpec, err := kube.Object(job, opts)
	if err != nil {
		return nil, nil, bad("the trial template is not a valid job: %v", err)
	}
	unstructured.RemoveNestedField(trialSpec.Object, "metadata", "name")
	unstructured.RemoveNestedField(trialSpec.Object, "metadata", "namespace")
	container, _ := kube.PrimaryContainer(job.Kind)

	// Katib's check: every trialParameter is used in the trial template,
	// and every placeholder there is a trialParameter.
	text, err := json.Marshal(trialSpec.Object)
	if err != nil {
		return nil, nil, err
	}
	var trialParams []any
	rest := string(text)
	for _, p := range spec.Space {
		ph := "${trialParameters." + p.Name + "}"
		if !strings.Contains(rest, ph) {
			return nil, nil, bad("parameter %q is not used in the trial's job (only in its files?): pass %s in the job's command, args or env", p.Name, ph)
		}
		rest = strings.ReplaceAll(rest, ph, "")
		if strings.ContainsAny(p.Name, "{}") {
			return nil, nil, bad("parameter %q: Katib refuses '{' and '}' in parameter names", p.Name)
		}
		trialParams = append(trialParams, map[string]any{"name": p.Name, "reference": p.Name})
	}
	if m := placeholder.FindStringSubmatch(rest); m != nil {
		return nil, nil, bad("the trial's job uses ${trialParameters.%s}, which is not a parameter of the search space", m[1])
	}

	objective := map[string]any{
		"type":                string(spec.Objective.Direction),
		"objectiveMetricName": spec.Objective.Metric,
	}
	if g := spec.Objective.Goal; g != nil {
		objective["goal"] = *g
	}
	strategies := []any{map[string]any{"name": spec.Objective.Metric, "value": string(spec.Objective.Strategy)}}
	if len(spec.Objective.AdditionalMetrics) > 0 {
		objective["additionalMetricNames"] = toAny(spec.Objective.AdditionalMetrics)
		for _, m := range spec.Objective.AdditionalMetrics {
			strategies = append(strategies, map[string]any{"name": m, "value": string(tuning.Latest)})
		}
	}
	objective["metricStrategies"] = strategies

	algoSettings := maps.Clone(spec.Algorithm.Settings)
	if spec.Seed != 0 && slices.Contains(seeded, spec.Algorithm.Name) {
		if _, ok := algoSettings["random_state"]; !ok {
			if algoSettings == nil {
				algoSettings = tuning.Settings{}
			}
			algoSettings["random_state"] = strconv.FormatInt(spec.Seed, 10)
		}
	}
	algorithm := map[string]any{"algorithmName": spec.Algorithm.Name}
	if len(algoSettings) > 0 {
		algorithm["algorithmSettings"] = settingsList(algoSettings)
	}

	var params []any
	for _, p := range spec.Space {
		params = append(params, map[string]any{
			"name":          p.Name,
			"parameterType": string(p.Type),
			"feasibleSpace": feasibleSpace(p),
		})
	}

	collector := map[string]any{"collector": map[string]any{"kind": "StdOut"}}
	if fs := spec.Template.Job.Metrics.Filters; len(fs) > 0 {
		collector["source"] = map[string]any{"filter": map[string]any{"metricsFormat": toAny(fs)}}
	}

	expSpec := map[string]any{
		"objective":           objective,
		"algorithm":           algorithm,
		"parallelTrialCount":  int64(spec.ParallelTrials),
		"maxTrialCount":       int64(spec.MaxTrials),
		"maxFailedTrialCount": int64(spec.MaxFailedTrials),
		"parameters":          params,
		"trialTemplate": map[string]any{
			"primaryContainerName": container,
			"primaryPodLabels":     map[string]any{LabelJobRole: "master"},
			"successCondition":     SuccessCondition,
			"failureCondition":     FailureCondition,
			"trialParameters":      trialParams,
			"trialSpec":            trialSpec.Object,
		},
		"metricsCollectorSpec": collector,
	}
	if spec.Early != nil {
		es := map[string]any{"algorithmName": spec.Early.Name}
		if len(spec.Early.Settings) > 0 {
			es["algorithmSettings"] = settingsList(spec.Early.Settings)
		}
		expSpec["earlyStopping"] = es
	}

	saved := spec
	if spec.Template.Job != nil && len(spec.Template.Job.Files) > 0 {
		j := *spec.Template.Job
		j.Files = map[string]string{}
		for p := range spec.Template.Job.Files {
			j.Files[p] = ""
		}
		saved.Template.Job = &j
	}
	specJSON, err := json.Marshal(saved)
	if err != nil {
		return nil, nil, err
	}
	objLabels := map[string]any{kube.LabelManagedBy: kube.ManagedBy}
	for k, v := range spec.Labels {
		if len(validation.IsQualifiedName(k)) == 0 && len(validation.IsValidLabelValue(v)) == 0 && k != kube.LabelManagedBy {
			objLabels[k] = v
		}
	}
	exp := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": Group + "/" + Version,
		"kind":       "Experiment",
		"metadata": map[string]any{
			"name":        spec.Name,
			"namespace":   b.namespace,
			"labels":      objLabels,
			"annotations": map[string]any{AnnotationSpec: string(specJSON)},
		},
		"spec": expSpec,
	}}
	return exp, filesData, nil
}

// feasibleSpace returns Katib's feasibleSpace of p: numbers as strings.
func feasibleSpace(p tuning.Param) map[string]any {
	fs := map[string]any{}
	switch p.Type {
	case tuning.Double, tuning.Int:
		fs["min"], fs["max"] = formatNumber(p.Min), formatNumber(p.Max)
		if p.Step > 0 {
			fs["step"] = formatNumber(p.Step)
		}
		if p.Distribution != "" {
			fs["distribution"] = string(p.Distribution)
		}
	default:
		fs["list"] = toAny(p.Values)
	}
	return fs
}

func formatNumber(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// settingsList returns settings as Katib's [{name, value}], by name.
func settingsList(s tuning.Settings) []any {
	var out []any
	for _, k := range slices.Sorted(maps.Keys(s)) {
		out = append(out, map[string]any{"name": k, "value": s[k]})
	}
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
