package jobs_test

import (
	"fmt"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
)

// A spec for a 2-worker PyTorch DDP job whose script is a notebook cell.
func ExampleSpec_Validate() {
	backoff := 2
	spec := jobs.Spec{
		Name:      "mnist-ddp",
		Kind:      jobs.PyTorch,
		Replicas:  map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 1}},
		Command:   []string{"python3", "train.py"},
		Files:     map[string]string{"train.py": "import torch.distributed as dist\n..."},
		Resources: jobs.Resources{CPU: "2", Memory: "4Gi"},
		RunPolicy: jobs.RunPolicy{RestartPolicy: jobs.RestartOnFailure, BackoffLimit: &backoff},
	}
	fmt.Println(spec.Validate())

	spec.Replicas[jobs.PS] = jobs.ReplicaSpec{Replicas: 1}
	spec.Resources.CPU = "2x"
	err := spec.Validate()
	fmt.Println(ferry.ErrorCode(err))
	fmt.Println(err)
	// Output:
	// <nil>
	// invalid
	// job spec: replicas[PS]: a pytorch job has no role PS: use Master or Worker; resources.cpu "2x": give cores as a number or millicores, e.g. "2", "0.5" or "500m"
}

// Katib's StdOut format and JSON lines both become tracking metrics.
func ExampleMetricParser() {
	p, err := jobs.NewMetricParser(jobs.MetricsSpec{})
	if err != nil {
		panic(err)
	}
	for _, line := range []string{
		"epoch=1 loss=0.50 accuracy=0.81",
		`{"epoch": 2, "loss": 0.25}`,
		"loss=0.125",
	} {
		for _, m := range p.Parse(line) {
			fmt.Printf("%s step %d = %g\n", m.Key, m.Step, m.Value)
		}
	}
	// Output:
	// loss step 1 = 0.5
	// accuracy step 1 = 0.81
	// loss step 2 = 0.25
	// loss step 3 = 0.125
}
