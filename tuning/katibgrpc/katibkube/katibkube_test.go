package katibkube

import (
	"os"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/internal/testsrv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testsrv.StopSharedKube()
	os.Exit(code)
}

// MarkEarlyStopped patches a Trial's status on a real API server with
// Katib's CRDs, as Katib's medianstop service does.
func TestMarkEarlyStopped(t *testing.T) {
	k := testsrv.SharedKube(t, testsrv.KubeOptions{CRDs: []string{"katib-v0.19.0"}})
	ns := k.NewNamespace(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	trials := client.Resource(Trials).Namespace(ns)
	created, err := trials.Create(t.Context(), &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubeflow.org/v1beta1",
		"kind":       "Trial",
		"metadata":   map[string]any{"name": "t1"},
		"spec":       map[string]any{"parameterAssignments": []any{map[string]any{"name": "lr", "value": "0.1"}}},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Katib's controller sets the conditions through the status subresource.
	running := []any{
		map[string]any{"type": "Created", "status": "True"},
		map[string]any{"type": "Running", "status": "True"},
	}
	if err := unstructured.SetNestedSlice(created.Object, running, "status", "conditions"); err != nil {
		t.Fatal(err)
	}
	if _, err := trials.UpdateStatus(t.Context(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	mark := MarkEarlyStopped(client, ns, func() time.Time { return at })
	for range 2 { // the second call changes nothing
		if err := mark(t.Context(), "t1"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := trials.Get(t.Context(), "t1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
	want := append(running, map[string]any{"type": "EarlyStopped", "status": "True", "reason": "TrialEarlyStopped", "message": "Trial is early stopped",
		"lastUpdateTime": "2025-03-01T12:00:00Z", "lastTransitionTime": "2025-03-01T12:00:00Z"})
	if !reflect.DeepEqual(conds, want) {
		t.Errorf("conditions = %v, want %v", conds, want)
	}
	if params, _, _ := unstructured.NestedSlice(got.Object, "spec", "parameterAssignments"); len(params) != 1 {
		t.Errorf("the spec changed: %v", params)
	}
	if err := mark(t.Context(), "t9"); ferry.ErrorCode(err) != ferry.NotFound {
		t.Errorf("mark of a missing trial = %v, want NotFound", err)
	}
}
