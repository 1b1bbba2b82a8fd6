// Package katib is a tuning.Backend over Katib v1beta1 (kubeflow.org/v1beta1
// Experiment and Trial, Katib v0.19): a study is an Experiment in one
// namespace of a cluster that runs Katib's controller, and Katib's own
// suggestion services, metrics collector and early stopping run it.
//
// Create turns a tuning.Spec into an Experiment: the objective (type, goal,
// objectiveMetricName, additionalMetricNames and metricStrategies, the
// objective's by the spec's strategy and the additional metrics' latest,
// as tuning.Trial reports them), the algorithm and early stopping with
// their settings as Katib's [{name, value}] lists, the counts, the
// parameters with their feasible spaces as strings, and a trial template
// whose trialSpec is the Training Operator custom resource of the template
// job (jobs/kube.Object) with ${trialParameters.NAME} kept for Katib to
// substitute, one trialParameter per parameter, the operator's main
// container as primaryContainerName, the master pod's label
// training.kubeflow.org/job-role=master as primaryPodLabels, success and
// failure conditions on the job's Succeeded and Failed conditions, and
// Katib's StdOut metrics collector (the job's metric filters as its
// metricsFormat). The template's files go in a ConfigMap the backend
// creates next to the Experiment, owned by it; Katib substitutes
// parameters in the trialSpec only, so a file that uses one is refused.
//
// The Experiment CRD has no schema: Katib validates Experiments in its
// admission webhook (pkg/webhook/v1beta1/experiment/validator). Create
// applies tuning.Spec.Validate and the webhook's rules (objective, counts,
// algorithm and early-stopping names, trial kinds katib-config's
// trialResources lists, every trialParameter used in the trialSpec and
// every placeholder a trialParameter) before anything reaches the API
// server, and refuses with ferry.Invalid.
//
// Get, List and Watch read the Experiments and their Trials (label
// katib.kubeflow.org/experiment) back: a study's state from the
// Experiment's conditions, a trial's state from the Trial's conditions,
// its assignments from spec.parameterAssignments and its value from
// status.observation (by the objective's strategy). Watch polls. Katib has
// no stop, resume or ask-and-tell: those methods return
// ferry.NotSupported and say what to do on Katib instead.
package katib
