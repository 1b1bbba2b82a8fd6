package jobs

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/ferryml/ferry"
)

var nameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// quantityRE matches a Kubernetes quantity: a decimal number and an
// optional binary (Ki..Ei), decimal (m, k, M..E) or exponent suffix.
var quantityRE = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$`)

// Validate checks the spec before submission and returns an Invalid
// *ferry.Error listing every problem, each naming the field and the fix;
// nil when the spec can run.
func (s *Spec) Validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	switch {
	case s.Name == "":
		add("name is empty: give the job a name such as %q", "mnist-ddp")
	case len(s.Name) > 63 || !nameRE.MatchString(s.Name):
		add("name %q: use at most 63 lower-case letters, digits and '-', starting with a letter and ending with a letter or digit", s.Name)
	}

	rules, known := roles[s.Kind]
	if !known {
		add("kind %q is not a training kind: use one of %s", s.Kind, kindList())
	}
	if len(s.Replicas) == 0 && known {
		add("replicas: none given: a %s job needs %s", s.Kind, roleHint(s.Kind))
	}
	// Report roles in a stable order.
	types := make([]ReplicaType, 0, len(s.Replicas))
	for t := range s.Replicas {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		r := s.Replicas[t]
		if known {
			if _, ok := ruleFor(s.Kind, t); !ok {
				if canon, ok := ParseReplicaType(s.Kind, string(t)); ok {
					add("replicas[%s]: role names are case-sensitive: use %s", t, canon)
				} else {
					add("replicas[%s]: a %s job has no role %s: use %s", t, s.Kind, t, joinRoles(Roles(s.Kind)))
				}
				continue
			}
		}
		if r.Replicas < 1 {
			add("replicas[%s] = %d: give at least 1, or leave the role out", t, r.Replicas)
		}
		if rule, ok := ruleFor(s.Kind, t); ok && rule.max > 0 && r.Replicas > rule.max {
			add("replicas[%s] = %d: a %s job has at most %d %s", t, r.Replicas, s.Kind, rule.max, t)
		}
		if r.Resources != nil {
			validateResources(fmt.Sprintf("replicas[%s].resources", t), *r.Resources, add)
		}
		if r.RestartPolicy != "" {
			validateRestartPolicy(fmt.Sprintf("replicas[%s].restartPolicy", t), r.RestartPolicy, add)
		}
		if len(s.Command) == 0 && len(r.Command) == 0 {
			add("command is empty for %s: give the command every replica runs, e.g. [\"python3\", \"train.py\"]", t)
		}
	}
	if len(s.Replicas) == 0 && len(s.Command) == 0 {
		add("command is empty: give the command every replica runs, e.g. [\"python3\", \"train.py\"]")
	}
	for _, rule := range rules {
		if _, ok := s.Replicas[rule.typ]; rule.required && !ok {
			add("replicas[%s] is missing: a %s job needs %s", rule.typ, s.Kind, roleHint(s.Kind))
		}
	}
	if s.Kind == PyTorch || s.Kind == Paddle {
		if s.ReplicaCount(Master) == 0 && s.ReplicaCount(Worker) == 0 && len(s.Replicas) > 0 {
			add("replicas: a %s job needs a Master or at least one Worker", s.Kind)
		}
	}
	if s.Kind == TensorFlow && len(s.Replicas) > 0 && s.ReplicaCount(Chief) == 0 && s.ReplicaCount(Worker) == 0 {
		add("replicas: a tensorflow job needs a Chief or at least one Worker")
	}

	validateResources("resources", s.Resources, add)
	if s.RunPolicy.RestartPolicy != "" {
		validateRestartPolicy("runPolicy.restartPolicy", s.RunPolicy.RestartPolicy, add)
	}
	if b := s.RunPolicy.BackoffLimit; b != nil && *b < 0 {
		add("runPolicy.backoffLimit = %d: give 0 or more restarts", *b)
	}
	if d := s.RunPolicy.ActiveDeadlineSeconds; d != nil && *d <= 0 {
		add("runPolicy.activeDeadlineSeconds = %d: give a positive number of seconds, or leave it out for no deadline", *d)
	}
	if d := s.RunPolicy.TTLSecondsAfterFinished; d != nil && *d < 0 {
		add("runPolicy.ttlSecondsAfterFinished = %d: give 0 or more seconds, or leave it out to keep the job", *d)
	}
	switch s.RunPolicy.CleanPodPolicy {
	case "", CleanRunning, CleanAll, CleanNone:
	default:
		add("runPolicy.cleanPodPolicy %q: use Running, All or None", s.RunPolicy.CleanPodPolicy)
	}
	if s.SlotsPerWorker < 0 || (s.SlotsPerWorker > 0 && s.Kind != MPI) {
		add("slotsPerWorker = %d: give 1 or more, for mpi jobs only", s.SlotsPerWorker)
	}
	if s.NprocPerNode < 0 || (s.NprocPerNode > 0 && s.Kind != PyTorch) {
		add("nprocPerNode = %d: give 1 or more, for pytorch jobs only", s.NprocPerNode)
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			add("env %q: a variable name must be non-empty and hold no '=' or NUL", k)
		}
	}
	for p := range s.Files {
		clean := filepath.Clean(filepath.FromSlash(p))
		if p == "" || filepath.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) || clean == "." {
			add("files[%q]: give a relative path inside the working directory, e.g. \"train.py\"", p)
		}
	}
	for _, f := range s.Metrics.Filters {
		re, err := regexp.Compile(f)
		if err != nil {
			add("metrics.filters %q: %v", f, err)
		} else if re.NumSubexp() < 2 {
			add("metrics.filters %q: give a regular expression with two groups, the metric's name and its value", f)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &ferry.Error{Code: ferry.Invalid, Message: "job spec: " + strings.Join(errs, "; "), Err: ErrInvalidSpec}
}

// ErrInvalidSpec is the cause of every error of Validate, for errors.Is.
var ErrInvalidSpec = errors.New("invalid job spec")

func validateResources(field string, r Resources, add func(string, ...any)) {
	if r.CPU != "" && !quantityRE.MatchString(r.CPU) {
		add("%s.cpu %q: give cores as a number or millicores, e.g. \"2\", \"0.5\" or \"500m\"", field, r.CPU)
	}
	if r.Memory != "" && !quantityRE.MatchString(r.Memory) {
		add("%s.memory %q: give bytes with a suffix, e.g. \"512Mi\" or \"4Gi\"", field, r.Memory)
	}
	if r.GPU < 0 {
		add("%s.gpu = %d: give 0 or more GPUs", field, r.GPU)
	}
}

func validateRestartPolicy(field string, p RestartPolicy, add func(string, ...any)) {
	switch p {
	case RestartNever, RestartOnFailure, RestartAlways, RestartExitCode:
	default:
		add("%s %q: use Never, OnFailure, Always or ExitCode", field, p)
	}
}

func ruleFor(kind Kind, t ReplicaType) (roleRule, bool) {
	for _, r := range roles[kind] {
		if r.typ == t {
			return r, true
		}
	}
	return roleRule{}, false
}

func kindList() string {
	var s []string
	for _, k := range Kinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

func joinRoles(ts []ReplicaType) string {
	var s []string
	for _, t := range ts {
		s = append(s, string(t))
	}
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// roleHint describes the roles a kind needs, for error messages.
func roleHint(kind Kind) string {
	switch kind {
	case PyTorch:
		return "a Master (at most 1) and/or Workers"
	case TensorFlow:
		return "a Chief (at most 1) and/or Workers, optionally PS and an Evaluator"
	case XGBoost:
		return "1 Master and optionally Workers"
	case MPI:
		return "1 Launcher and at least 1 Worker"
	case Paddle:
		return "a Master (at most 1) and/or Workers"
	case MXNet:
		return "1 Scheduler, at least 1 Server and at least 1 Worker"
	case JAX:
		return "at least 1 Worker"
	}
	return "replicas"
}
