package kube

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
)

// informers are the shared informers of the backend's namespace: one per
// served kind and one for the pods of training jobs. Each lists once and
// then watches, however many jobs there are; nothing polls.
type informers struct {
	ns      string
	factory dynamicinformer.DynamicSharedInformerFactory
	byKind  []cache.SharedIndexInformer
	pods    cache.SharedIndexInformer // nil without permission to list pods
	// jobLabel is the pod label that names the job.
	jobLabel string
	done     chan struct{}
}

const byJobName = "job-name"

func (i *informers) stop() {
	close(i.done)
	i.factory.Shutdown()
}

// informers starts the informers on first use and waits for their caches.
func (b *Backend) informers(ctx context.Context) (*informers, error) {
	b.infMu.Lock()
	defer b.infMu.Unlock()
	if b.inf == nil {
		inf := &informers{
			ns:      b.namespace,
			factory: dynamicinformer.NewFilteredDynamicSharedInformerFactory(b.dyn, 0, b.namespace, nil),
			done:    make(chan struct{}),
		}
		for _, ki := range b.kinds {
			inf.byKind = append(inf.byKind, inf.factory.ForResource(ki.gvr()).Informer())
		}
		inf.factory.Start(inf.done)
		// Replica states come from the pods; without the right to list
		// them, events carry the replica counts only.
		pods := b.core.CoreV1().Pods(b.namespace)
		jobLabel := b.podJobLabel()
		inf.jobLabel = jobLabel
		sel := jobLabel // exists
		if _, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel, Limit: 1}); err != nil {
			b.log.Warn("kube: watching jobs without replica states", "namespace", b.namespace, "err", err)
		} else {
			inf.pods = cache.NewSharedIndexInformer(&cache.ListWatch{
				ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					o.LabelSelector = sel
					return pods.List(ctx, o)
				},
				WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					o.LabelSelector = sel
					return pods.Watch(ctx, o)
				},
			}, &corev1.Pod{}, 0, cache.Indexers{byJobName: func(obj any) ([]string, error) {
				if p, ok := obj.(*corev1.Pod); ok {
					return []string{p.Labels[jobLabel]}, nil
				}
				return nil, nil
			}})
			go inf.pods.Run(inf.done)
		}
		b.inf = inf
	}
	inf := b.inf
	synced := make([]cache.InformerSynced, 0, len(inf.byKind)+1)
	for _, i := range inf.byKind {
		synced = append(synced, i.HasSynced)
	}
	if inf.pods != nil {
		synced = append(synced, inf.pods.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil, ferry.Errorf(ferry.Unavailable, "kube: watch jobs in %s: %v before the informers listed the jobs", b.namespace, context.Cause(ctx))
	}
	return inf, nil
}

// latest returns the newest state of job name in the caches.
func (i *informers) latest(name string) *unstructured.Unstructured {
	for _, k := range i.byKind {
		if obj, ok, _ := k.GetStore().GetByKey(i.ns + "/" + name); ok {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				return u
			}
		}
	}
	return nil
}

// job converts u, with the replica states of its pods.
func (i *informers) job(u *unstructured.Unstructured) (jobs.Job, error) {
	j, err := jobFromObject(u)
	if err != nil || i.pods == nil {
		return j, err
	}
	objs, _ := i.pods.GetIndexer().ByIndex(byJobName, u.GetName())
	pods := make([]corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			pods = append(pods, *p)
		}
	}
	j.Status.Replicas = replicaStates(&j.Spec, pods)
	return j, nil
}

// Watch sends an Added event for each job (only the job named name unless
// name is ""), then an event for every change of a job or of one of its
// pods, as the backend's informers see them, until ctx is done or Close is
// called.
func (b *Backend) Watch(ctx context.Context, name string) (<-chan jobs.Event, error) {
	inf, err := b.informers(ctx)
	if err != nil {
		return nil, err
	}
	w := newWatcher(name, inf)
	type reg struct {
		i cache.SharedIndexInformer
		r cache.ResourceEventHandlerRegistration
	}
	var regs []reg
	unregister := func() {
		for _, r := range regs {
			_ = r.i.RemoveEventHandler(r.r)
		}
	}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.push(jobs.Added, obj) },
		UpdateFunc: func(_, obj any) { w.push(jobs.Modified, obj) },
		DeleteFunc: func(obj any) { w.push(jobs.Deleted, obj) },
	}
	podChanged := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if p, ok := obj.(*corev1.Pod); ok {
			if u := inf.latest(p.Labels[inf.jobLabel]); u != nil {
				w.push(jobs.Modified, u)
			}
		}
	}
	ph := cache.ResourceEventHandlerFuncs{
		AddFunc:    podChanged,
		UpdateFunc: func(_, obj any) { podChanged(obj) },
		DeleteFunc: podChanged,
	}
	for _, i := range inf.byKind {
		r, err := i.AddEventHandler(h)
		if err != nil {
			unregister()
			return nil, ferry.Errorf(ferry.Unavailable, "kube: watch jobs: %w", err)
		}
		regs = append(regs, reg{i, r})
	}
	if inf.pods != nil {
		// Pods that exist now are part of the jobs' Added state.
		r, err := inf.pods.AddEventHandlerWithOptions(cache.ResourceEventHandlerDetailedFuncs{
			AddFunc: func(obj any, initial bool) {
				if !initial {
					podChanged(obj)
				}
			},
			UpdateFunc: ph.UpdateFunc,
			DeleteFunc: ph.DeleteFunc,
		}, cache.HandlerOptions{})
		if err != nil {
			unregister()
			return nil, ferry.Errorf(ferry.Unavailable, "kube: watch pods: %w", err)
		}
		regs = append(regs, reg{inf.pods, r})
	}
	go w.run(ctx, inf.done, unregister)
	return w.ch, nil
}

// watcher delivers events to one Watch channel. Its queue holds at most one
// Added or Modified event per job: a newer state replaces the queued one,
// so a slow receiver skips intermediate states, never the latest one.
type watcher struct {
	name   string
	inf    *informers
	ch     chan jobs.Event
	mu     sync.Mutex
	queue  []jobs.Event
	signal chan struct{}
}

func newWatcher(name string, inf *informers) *watcher {
	return &watcher{name: name, inf: inf, ch: make(chan jobs.Event), signal: make(chan struct{}, 1)}
}

// push converts obj and queues its event. Handlers of the job and pod
// informers call it from their own goroutines, so an Added or Modified
// event takes the newest state in the cache, never an older one than an
// event sent before.
func (w *watcher) push(typ jobs.EventType, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || (w.name != "" && u.GetName() != w.name) {
		return
	}
	if typ != jobs.Deleted {
		if cur := w.inf.latest(u.GetName()); cur != nil && cur.GetUID() == u.GetUID() {
			u = cur
		}
	}
	j, err := w.inf.job(u)
	if err != nil {
		return
	}
	if typ == jobs.Deleted && !j.Status.Finished() {
		// Deleted while running (by someone else than Cancel, which marks
		// the object first): it ends here, as a cancelled job.
		now := time.Now()
		j.Status.SetCondition(jobs.Failed, jobs.ReasonCancelled, "job deleted "+now.UTC().Format(time.RFC3339), now)
	}
	w.mu.Lock()
	merged := false
	if typ == jobs.Modified {
		for i := range w.queue {
			if q := &w.queue[i]; q.Job.UID == j.UID && q.Type != jobs.Deleted {
				q.Job = j // an Added stays Added, with the newest state
				merged = true
				break
			}
		}
	}
	if !merged {
		w.queue = append(w.queue, jobs.Event{Type: typ, Job: j})
	}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// run sends queued events until ctx is done or the informers stop, then
// unregisters and closes the channel.
func (w *watcher) run(ctx context.Context, stopped <-chan struct{}, unregister func()) {
	defer close(w.ch)
	defer unregister()
	for {
		w.mu.Lock()
		var ev jobs.Event
		have := len(w.queue) > 0
		if have {
			ev = w.queue[0]
			w.queue = w.queue[1:]
		}
		w.mu.Unlock()
		if have {
			select {
			case w.ch <- ev:
				continue
			case <-ctx.Done():
				return
			case <-stopped:
				return
			}
		}
		select {
		case <-w.signal:
		case <-ctx.Done():
			return
		case <-stopped:
			return
		}
	}
}
