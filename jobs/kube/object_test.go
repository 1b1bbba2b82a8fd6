package kube_test

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/kube"
)

// Object is the object Submit creates: the same spec, labels and
// annotations, the files mounted from the named ConfigMap with the data
// of FilesData.
func TestObjectIsWhatSubmitCreates(t *testing.T) {
	e := newEnv(t, kube.Options{})
	s := spec("embedded", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 2})
	s.Files = map[string]string{"train.py": "print('hi')\n", "pkg/util.py": "X = 1\n"}
	s.Env = map[string]string{"LR": "0.1"}
	if _, err := e.b.Submit(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	created, err := e.dyn.Resource(gvr("pytorchjobs")).Namespace(e.ns).Get(t.Context(), s.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := kube.Object(s, kube.ObjectOptions{Namespace: e.ns, FilesConfigMap: s.Name + "-files"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(obj.Object["spec"], created.Object["spec"]) {
		t.Errorf("Object's spec\n%v\nSubmit's\n%v", obj.Object["spec"], created.Object["spec"])
	}
	if !reflect.DeepEqual(obj.GetLabels(), created.GetLabels()) || !reflect.DeepEqual(obj.GetAnnotations(), created.GetAnnotations()) ||
		obj.GetNamespace() != e.ns || obj.GetKind() != "PyTorchJob" {
		t.Errorf("Object's metadata %v, Submit's %v", obj.Object["metadata"], created.Object["metadata"])
	}
	cm, err := e.core.CoreV1().ConfigMaps(e.ns).Get(t.Context(), s.Name+"-files", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := kube.FilesData(s); !reflect.DeepEqual(got, cm.Data) {
		t.Errorf("FilesData %v, Submit's ConfigMap %v", got, cm.Data)
	}
	if c, ok := kube.PrimaryContainer(jobs.PyTorch); !ok || c != "pytorch" {
		t.Errorf("PrimaryContainer(pytorch) = %q %v", c, ok)
	}
}

func TestObjectRefusesInvalidSpecs(t *testing.T) {
	s := spec("embedded", jobs.PyTorch, map[jobs.ReplicaType]int{jobs.Master: 1})
	noImage := s
	noImage.Image = ""
	if _, err := kube.Object(noImage, kube.ObjectOptions{}); ferry.ErrorCode(err) != ferry.Invalid {
		t.Errorf("no image: %v, want Invalid", err)
	}
	files := s
	files.Files = map[string]string{"train.py": "print('hi')\n"}
	if _, err := kube.Object(files, kube.ObjectOptions{}); ferry.ErrorCode(err) != ferry.Invalid {
		t.Errorf("files without a ConfigMap: %v, want Invalid", err)
	}
	u, err := kube.Object(s, kube.ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := unstructured.NestedString(u.Object, "metadata", "namespace"); ok {
		t.Errorf("no namespace asked, got %q", u.GetNamespace())
	}
}
