package kube_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/kube"
	"github.com/ferryml/ferry/storage/tracking"
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

// Run a PyTorch job as a Kubeflow Trainer v2 TrainJob, with its metrics
// (the "loss=..." lines of node 0) in a tracking run.
func Example_trainerV2() {
	ctx := context.Background()
	tr, err := tracking.Open(ctx, tracking.DefaultURL("/var/lib/ferry"), tracking.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	b, err := kube.New(ctx, kube.Options{API: kube.APITrainerV2, Tracker: tr})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	j, err := b.Submit(ctx, jobs.Spec{
		Name:         "llm-finetune",
		Kind:         jobs.PyTorch,
		Image:        "ghcr.io/example/finetune:1.0",
		Replicas:     map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 3}},
		Command:      []string{"torchrun", "/app/train.py"},
		NprocPerNode: 8,
		Resources:    jobs.Resources{GPU: 8},
		Experiment:   "finetune",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("run", j.RunID)
}
