package kube

import (
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
)

// ObjectOptions are what Object needs besides the spec.
type ObjectOptions struct {
	// Namespace of the object; empty leaves metadata.namespace out.
	Namespace string
	// Image is the container image of a spec that names none.
	Image string
	// FilesConfigMap names the ConfigMap that holds the spec's Files (its
	// data is FilesData's); required when the spec has files.
	FilesConfigMap string
}

// Object returns the Training Operator custom resource (kubeflow.org/v1)
// that Submit would create for spec, after the same client-side
// validation, without a tracking run: a job to embed in another resource,
// such as the trial template of a Katib Experiment. Its files are mounted
// from opts.FilesConfigMap, which the caller creates with FilesData.
func Object(spec jobs.Spec, opts ObjectOptions) (*unstructured.Unstructured, error) {
	if err := validate(&spec, opts.Image); err != nil {
		return nil, err
	}
	if _, ok := infoFor(spec.Kind); !ok {
		return nil, ferry.Errorf(ferry.NotSupported, "kube: %s jobs have no Training Operator v1 custom resource", spec.Kind)
	}
	if len(spec.Files) > 0 && opts.FilesConfigMap == "" {
		return nil, ferry.Errorf(ferry.Invalid, "kube: job %s has files: name the ConfigMap that holds them (ObjectOptions.FilesConfigMap)", spec.Name)
	}
	o := objectOptions{namespace: opts.Namespace, image: opts.Image}
	if len(spec.Files) > 0 {
		o.filesCM = opts.FilesConfigMap
	}
	u, err := toObject(&spec, o)
	if err != nil {
		return nil, err
	}
	if opts.Namespace == "" {
		unstructured.RemoveNestedField(u.Object, "metadata", "namespace")
	}
	return u, nil
}

// FilesData returns the data of the ConfigMap of spec's files, as Object
// mounts them.
func FilesData(spec jobs.Spec) map[string]string {
	data := map[string]string{}
	for i, p := range slices.Sorted(maps.Keys(spec.Files)) {
		data[fileKey(i)] = spec.Files[p]
	}
	return data
}

// PrimaryContainer returns the name of the container of kind's replicas
// that the Training Operator treats as the main one ("pytorch" for
// PyTorchJobs, ...).
func PrimaryContainer(kind jobs.Kind) (string, bool) {
	ki, ok := infoFor(kind)
	return ki.container, ok
}
