package kube_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/kube"
)

// Submit a 2-worker PyTorchJob with the kubeconfig kubectl would use, watch
// it until it ends, then print its master's log.
func Example() {
	ctx := context.Background()
	b, err := kube.New(ctx, kube.Options{Namespace: "kubeflow-user"})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	spec := jobs.Spec{
		Name:      "mnist-ddp",
		Kind:      jobs.PyTorch,
		Image:     "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime",
		Replicas:  map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 2}},
		Command:   []string{"python3", "train.py"},
		Files:     map[string]string{"train.py": "print('epoch=1 loss=0.5')\n"},
		Resources: jobs.Resources{CPU: "2", Memory: "8Gi", GPU: 1},
		RunPolicy: jobs.RunPolicy{RestartPolicy: jobs.RestartOnFailure, CleanPodPolicy: jobs.CleanAll},
	}
	events, err := b.Watch(ctx, spec.Name)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := b.Submit(ctx, spec); err != nil {
		log.Fatal(err)
	}
	for ev := range events {
		fmt.Println(ev.Type, ev.Job.Status.Phase())
		if ev.Job.Status.Finished() {
			break
		}
	}
	logs, err := b.Logs(ctx, spec.Name, jobs.LogOptions{Replica: jobs.Master})
	if err != nil {
		log.Fatal(err)
	}
	defer logs.Close()
	_, _ = io.Copy(os.Stdout, logs)
}
