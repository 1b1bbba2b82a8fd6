package kube

import (
	"context"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
)

// Logs streams the log of one replica's pod, found by the labels the
// training operator puts on it (training.kubeflow.org/job-name,
// replica-type, replica-index), from its main container. With Follow it
// waits (watching pods, not polling) for the pod to exist and start, then
// follows the log until the container ends or ctx is done.
func (b *Backend) Logs(ctx context.Context, name string, opts jobs.LogOptions) (io.ReadCloser, error) {
	return b.logs(ctx, name, opts, false)
}

// logs is Logs, with each line prefixed by its RFC 3339 time and a space
// when timestamps is set.
func (b *Backend) logs(ctx context.Context, name string, opts jobs.LogOptions, timestamps bool) (io.ReadCloser, error) {
	u, ki, err := b.find(ctx, name)
	if err != nil {
		return nil, err
	}
	j, err := jobFromObject(u)
	if err != nil {
		return nil, err
	}
	t, idx := opts.Replica, opts.Index
	if t == "" {
		t, idx = j.Spec.PrimaryReplica()
	}
	if canon, ok := jobs.ParseReplicaType(ki.kind, string(t)); ok {
		t = canon
	} else {
		return nil, ferry.Errorf(ferry.Invalid, "kube: logs of job %s: a %s job has no replica type %s", name, ki.kind, t)
	}
	pod, err := b.replicaPod(ctx, &j.Spec, t, idx, opts.Follow)
	if err != nil {
		return nil, err
	}
	lo := &corev1.PodLogOptions{Container: containerOf(pod, ki.container), Follow: opts.Follow, Timestamps: timestamps}
	if opts.TailLines > 0 {
		n := int64(opts.TailLines)
		lo.TailLines = &n
	}
	rc, err := b.core.CoreV1().Pods(b.namespace).GetLogs(pod.Name, lo).Stream(ctx)
	if err != nil {
		return nil, apiError(err, "logs of %s (pod %s/%s, container %s)", jobs.ReplicaID(t, idx), b.namespace, pod.Name, lo.Container)
	}
	return rc, nil
}

// containerOf returns the main container of pod: the one named as the
// operator's default, else the first.
func containerOf(pod *corev1.Pod, want string) string {
	for _, c := range pod.Spec.Containers {
		if c.Name == want {
			return want
		}
	}
	if len(pod.Spec.Containers) > 0 {
		return pod.Spec.Containers[0].Name
	}
	return want
}

// replicaPod returns the pod of replica t-idx of job. With wait it watches
// the job's pods until that pod exists and has left Pending.
func (b *Backend) replicaPod(ctx context.Context, spec *jobs.Spec, t jobs.ReplicaType, idx int, wait bool) (*corev1.Pod, error) {
	job := spec.Name
	sel := labels.Set{b.podJobLabel(): job}.String()
	pods := b.core.CoreV1().Pods(b.namespace)
	match := func(p *corev1.Pod) bool {
		pt, pi, ok := podReplica(spec, p)
		return ok && pt == t && pi == idx && p.DeletionTimestamp == nil
	}
	for {
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, apiError(err, "list pods %s in %s", sel, b.namespace)
		}
		for i := range list.Items {
			p := &list.Items[i]
			if match(p) && (!wait || p.Status.Phase != corev1.PodPending) {
				return p, nil
			}
		}
		if !wait {
			return nil, ferry.Errorf(ferry.NotFound, "kube: job %s has no pod for %s in %s (yet): the operator creates it once the job is admitted; follow the log to wait for it",
				job, jobs.ReplicaID(t, idx), b.namespace)
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: list.ResourceVersion})
		if err != nil {
			return nil, apiError(err, "watch pods %s in %s", sel, b.namespace)
		}
		p, err := waitPod(ctx, w, match)
		w.Stop()
		if p != nil || err != nil {
			return p, err
		}
		// The watch ended (a server timeout): list and watch again.
	}
}

func waitPod(ctx context.Context, w watch.Interface, match func(*corev1.Pod) bool) (*corev1.Pod, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ferry.Errorf(ferry.Unavailable, "kube: waiting for the replica's pod: %w", context.Cause(ctx))
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, nil
			}
			if ev.Type == watch.Error {
				return nil, nil // e.g. resource version too old: list again
			}
			p, ok := ev.Object.(*corev1.Pod)
			if ok && (ev.Type == watch.Added || ev.Type == watch.Modified) && match(p) && p.Status.Phase != corev1.PodPending {
				return p, nil
			}
		}
	}
}
