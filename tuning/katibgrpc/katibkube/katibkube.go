// Package katibkube marks Katib Trial resources EarlyStopped, as Katib
// v0.19's medianstop service does in SetTrialStatus
// (pkg/earlystopping/v1beta1/medianstop/service.py): it appends the
// condition {type: EarlyStopped, status: "True", reason:
// TrialEarlyStopped, message: "Trial is early stopped"} to the Trial's
// status. MarkEarlyStopped is a katibgrpc.Server.OnEarlyStopped hook.
//
// It needs get on trials and update on trials/status (kubeflow.org) in
// the experiment's namespace: the Role Katib's controller gives a
// Suggestion's service account (every verb on both) when the experiment
// has early stopping.
package katibkube

import (
	"context"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/ferryml/ferry"
)

// Trials is the resource of Katib's Trials.
var Trials = schema.GroupVersionResource{Group: "kubeflow.org", Version: "v1beta1", Resource: "trials"}

// The condition Katib's medianstop appends.
const (
	ConditionEarlyStopped = "EarlyStopped"
	ReasonEarlyStopped    = "TrialEarlyStopped"
	MessageEarlyStopped   = "Trial is early stopped"
)

// Namespace returns the namespace of the pod the process runs in (Katib
// runs a Suggestion's services in the experiment's namespace), or
// "default" outside a pod, as Katib's medianstop.
func Namespace() string {
	b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if ns := strings.TrimSpace(string(b)); err == nil && ns != "" {
		return ns
	}
	return "default"
}

// MarkEarlyStopped returns a hook that appends the EarlyStopped condition
// to the status of the named Trial in namespace (once: a Trial already
// EarlyStopped is left alone). now stamps the condition; nil is
// time.Now.
func MarkEarlyStopped(client dynamic.Interface, namespace string, now func() time.Time) func(ctx context.Context, trial string) error {
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context, trial string) error {
		trials := client.Resource(Trials).Namespace(namespace)
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			obj, err := trials.Get(ctx, trial, metav1.GetOptions{})
			if err != nil {
				return err
			}
			conds, _, err := unstructured.NestedSlice(obj.Object, "status", "conditions")
			if err != nil {
				return err
			}
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok && m["type"] == ConditionEarlyStopped && m["status"] == "True" {
					return nil
				}
			}
			ts := now().UTC().Format(time.RFC3339)
			conds = append(conds, map[string]any{
				"type":               ConditionEarlyStopped,
				"status":             "True",
				"reason":             ReasonEarlyStopped,
				"message":            MessageEarlyStopped,
				"lastUpdateTime":     ts,
				"lastTransitionTime": ts,
			})
			if err := unstructured.SetNestedSlice(obj.Object, conds, "status", "conditions"); err != nil {
				return err
			}
			_, err = trials.UpdateStatus(ctx, obj, metav1.UpdateOptions{})
			return err
		})
		switch {
		case err == nil:
			return nil
		case apierrors.IsNotFound(err):
			return ferry.Errorf(ferry.NotFound, "tuning: katib: trial %q not found in namespace %q: %w", trial, namespace, err)
		case apierrors.IsForbidden(err):
			return ferry.Errorf(ferry.Invalid, "tuning: katib: marking trial %q early stopped: %w: grant the service account get and update on trials/status (kubeflow.org)", trial, err)
		}
		return ferry.Errorf(ferry.Unavailable, "tuning: katib: marking trial %q early stopped: %w", trial, err)
	}
}
