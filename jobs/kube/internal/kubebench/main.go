// Command kubebench measures the Kubernetes jobs backend with many job
// objects: N PyTorchJobs submitted while a Watch runs, then List and a
// fresh Watch of all of them, next to the per-object alternative (one GET
// per job, what polling each job costs per round). It starts its own etcd
// and kube-apiserver with the training operator's CRDs (see
// internal/testsrv) and writes a Markdown section.
//
//	go run ./jobs/kube/internal/kubebench -n 1000 -o /tmp/ferry-bench-kube.md
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/kube"
)

type counter struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func main() {
	n := flag.Int("n", 1000, "job objects")
	reps := flag.Int("reps", 5, "repetitions of List and of a fresh Watch")
	par := flag.Int("p", 16, "concurrent submits")
	out := flag.String("o", "", "write the Markdown section to this file (default: stdout)")
	flag.Parse()
	ctx := context.Background()

	start := time.Now()
	k, err := testsrv.StartKube(ctx, testsrv.KubeOptions{CRDs: []string{"training-operator-v1.9.4"}})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Stop()
	serverStart := time.Since(start)
	cfg, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	if err != nil {
		log.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	ns := "bench"
	if _, err := k.Do(ctx, http.MethodPost, "/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": ns}}); err != nil {
		log.Fatal(err)
	}
	newBackend := func() (*kube.Backend, *counter) {
		c := &counter{}
		bc := rest.CopyConfig(cfg)
		bc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { c.next = rt; return c }
		b, err := kube.New(ctx, kube.Options{Config: bc, Namespace: ns, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			log.Fatal(err)
		}
		return b, c
	}

	// 1. Submit N jobs while a Watch of all jobs runs.
	b, reqs := newBackend()
	wctx, wcancel := context.WithCancel(ctx)
	events, err := b.Watch(wctx, "")
	if err != nil {
		log.Fatal(err)
	}
	seen := make(chan time.Time, 1)
	go func() {
		added := 0
		for ev := range events {
			if ev.Type == jobs.Added {
				if added++; added == *n {
					seen <- time.Now()
				}
			}
		}
	}()
	before := reqs.n.Load()
	t0 := time.Now()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range *par {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= *n {
					return
				}
				_, err := b.Submit(ctx, jobs.Spec{
					Name: fmt.Sprintf("job-%04d", i), Kind: jobs.PyTorch, Image: "python:3.12",
					Replicas:  map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 2}},
					Command:   []string{"python3", "train.py"},
					Resources: jobs.Resources{CPU: "1", Memory: "2Gi", GPU: 1},
				})
				if err != nil {
					log.Fatal(err)
				}
			}
		})
	}
	wg.Wait()
	submitted := time.Now()
	submitDur := submitted.Sub(t0)
	submitReqs := reqs.n.Load() - before
	var watchAll time.Duration
	select {
	case at := <-seen:
		watchAll = at.Sub(t0)
	case <-time.After(2 * time.Minute):
		log.Fatal("the watch did not see every job within 2 minutes")
	}
	wcancel()
	b.Close()

	// 2. List, from a fresh backend.
	b, reqs = newBackend()
	var lists []time.Duration
	var listReqs int64
	for range *reps {
		before := reqs.n.Load()
		t := time.Now()
		l, err := b.List(ctx, jobs.ListOptions{})
		if err != nil {
			log.Fatal(err)
		}
		lists = append(lists, time.Since(t))
		listReqs = reqs.n.Load() - before
		if len(l) != *n {
			log.Fatalf("List: %d jobs, want %d", len(l), *n)
		}
	}
	b.Close()

	// 3. A fresh Watch of all jobs: informers list and sync, then one
	// Added event per job.
	var watches []time.Duration
	var watchReqs int64
	for range *reps {
		b, reqs := newBackend()
		before := reqs.n.Load()
		t := time.Now()
		ctx, cancel := context.WithCancel(ctx)
		ch, err := b.Watch(ctx, "")
		if err != nil {
			log.Fatal(err)
		}
		for range *n {
			<-ch
		}
		watches = append(watches, time.Since(t))
		watchReqs = reqs.n.Load() - before
		cancel()
		b.Close()
	}

	// 4. The per-object alternative: one GET per job (a polling round).
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		log.Fatal(err)
	}
	res := dyn.Resource(schema.GroupVersionResource{Group: kube.Group, Version: kube.Version, Resource: "pytorchjobs"}).Namespace(ns)
	var gets []time.Duration
	for range *reps {
		t := time.Now()
		for i := range *n {
			if _, err := res.Get(ctx, fmt.Sprintf("job-%04d", i), metav1.GetOptions{}); err != nil {
				log.Fatal(err)
			}
		}
		gets = append(gets, time.Since(t))
	}

	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	var md strings.Builder
	fmt.Fprintf(&md, "### Kubernetes backend: %d job objects listed and watched\n\n", *n)
	fmt.Fprintf(&md, "`go run ./jobs/kube/internal/kubebench -n %d` on %s, %d CPUs, %s; etcd + kube-apiserver %s on loopback (started with the training operator v1.9.4 CRDs in %s), no operator. Each job a PyTorchJob with a Master and 2 Workers. Medians of %d runs; requests counted at the backend's HTTP transport.\n\n",
		*n, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), runtime.Version(), testsrv.KubeVersion, serverStart.Round(100*time.Millisecond), *reps)
	fmt.Fprintf(&md, "| what | time | requests |\n|---|---:|---:|\n")
	fmt.Fprintf(&md, "| Submit %d jobs, %d at a time (validate, name check per kind, create) | %s (%.0f jobs/s) | %d |\n", *n, *par, ms(submitDur), float64(*n)/submitDur.Seconds(), submitReqs)
	fmt.Fprintf(&md, "| a Watch running meanwhile has seen all %d: from the first Submit / after the last Submit returned | %s / %s | 0 more |\n", *n, ms(watchAll), ms(max(0, watchAll-submitDur)))
	fmt.Fprintf(&md, "| List all %d (one request per page of 500 per served kind) | %s | %d |\n", *n, ms(med(lists)), listReqs)
	fmt.Fprintf(&md, "| fresh Watch: informers list and sync, %d Added events delivered | %s | %d until the last event |\n", *n, ms(med(watches)), watchReqs)
	fmt.Fprintf(&md, "| per-object alternative: one GET per job, sequential (one polling round) | %s | %d |\n", ms(med(gets)), *n)
	md.WriteString("\nList costs a request per page of 500 jobs per served kind, Watch a list and a long-lived watch per served kind (and one pair for the jobs' pods), whatever the number of jobs; after that a change costs one watch event, not a round of GETs.\n")
	if *out == "" {
		fmt.Print(md.String())
		return
	}
	if err := os.WriteFile(*out, []byte(md.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Print(md.String())
}
