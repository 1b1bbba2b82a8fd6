package katibkube

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/fake"

	"github.com/ferryml/ferry"
)

func TestMarkEarlyStopped(t *testing.T) {
	trial := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubeflow.org/v1beta1",
		"kind":       "Trial",
		"metadata":   map[string]any{"name": "t1", "namespace": "ns"},
		"status": map[string]any{"conditions": []any{
			map[string]any{"type": "Created", "status": "True"},
			map[string]any{"type": "Running", "status": "True"},
		}},
	}}
	client := fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{Trials: "TrialList"}, trial)
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	mark := MarkEarlyStopped(client, "ns", func() time.Time { return at })
	for range 2 { // the second call changes nothing
		if err := mark(t.Context(), "t1"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := client.Resource(Trials).Namespace("ns").Get(t.Context(), "t1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
	want := []any{
		map[string]any{"type": "Created", "status": "True"},
		map[string]any{"type": "Running", "status": "True"},
		map[string]any{"type": "EarlyStopped", "status": "True", "reason": "TrialEarlyStopped", "message": "Trial is early stopped",
			"lastUpdateTime": "2025-03-01T12:00:00Z", "lastTransitionTime": "2025-03-01T12:00:00Z"},
	}
	if !reflect.DeepEqual(conds, want) {
		t.Errorf("conditions = %v, want %v", conds, want)
	}
	if err := mark(t.Context(), "t9"); ferry.ErrorCode(err) != ferry.NotFound {
		t.Errorf("mark of a missing trial = %v, want NotFound", err)
	}
}
