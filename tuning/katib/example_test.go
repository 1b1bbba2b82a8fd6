package katib_test

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/katib"
)

// A study as a Katib Experiment: Experiment shows what Create would
// create (New and Experiment talk to no cluster).
func ExampleBackend_Experiment() {
	b, err := katib.New(katib.Options{Config: &rest.Config{Host: "https://cluster.example:6443"}, Namespace: "ml", Image: "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"})
	if err != nil {
		panic(err)
	}
	exp, err := b.Experiment(tuning.Spec{
		Name:      "mnist",
		Objective: tuning.Objective{Metric: "loss", Direction: tuning.Minimize},
		Space:     tuning.Space{tuning.Float("lr", 1e-4, 0.1).Log(), tuning.IntRange("epochs", 1, 5)},
		Algorithm: tuning.Algorithm{Name: "tpe"},
		MaxTrials: 12, ParallelTrials: 3,
		Template: tuning.Template{Job: &jobs.Spec{
			Kind:     jobs.PyTorch,
			Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}},
			Command:  []string{"python3", "mnist.py", "--lr=${trialParameters.lr}", "--epochs=${trialParameters.epochs}"},
		}},
	})
	if err != nil {
		panic(err)
	}
	str := func(path ...string) string { s, _, _ := unstructured.NestedString(exp.Object, path...); return s }
	cmd, _, _ := unstructured.NestedSlice(exp.Object, "spec", "trialTemplate", "trialSpec", "spec", "pytorchReplicaSpecs", "Master", "template", "spec", "containers")
	fmt.Println(exp.GetKind(), exp.GetNamespace()+"/"+exp.GetName())
	fmt.Println("algorithm:", str("spec", "algorithm", "algorithmName"))
	fmt.Println("trial job:", str("spec", "trialTemplate", "trialSpec", "kind"), "container", str("spec", "trialTemplate", "primaryContainerName"))
	fmt.Println("command:", cmd[0].(map[string]any)["command"])
	// Output:
	// Experiment ml/mnist
	// algorithm: tpe
	// trial job: PyTorchJob container pytorch
	// command: [python3 mnist.py --lr=${trialParameters.lr} --epochs=${trialParameters.epochs}]
}
