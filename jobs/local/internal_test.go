package local

import (
	"slices"
	"strings"
	"testing"

	"github.com/ferryml/ferry/jobs"
)

func TestParseGPUList(t *testing.T) {
	// The format of `nvidia-smi -L`.
	out := "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-3b1c1f0e-0000-0000-0000-000000000000)\n" +
		"GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-4c2d2f1f-0000-0000-0000-000000000000)\n" +
		"  MIG 1g.10gb      Device  0: (UUID: MIG-aaaa)\n" +
		"No devices were found\n"
	if got := parseGPUList(out); !slices.Equal(got, []string{"0", "1"}) {
		t.Errorf("parseGPUList = %q, want [0 1]", got)
	}
}

func TestOMPThreads(t *testing.T) {
	for in, want := range map[string]string{"": "", "2": "2", "2500m": "2", "500m": "1", "0.5": "1", "4.0": "4", "1Ki": ""} {
		if got := ompThreads(in); got != want {
			t.Errorf("ompThreads(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMPICommand(t *testing.T) {
	spec := &jobs.Spec{Kind: jobs.MPI, SlotsPerWorker: 2, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Launcher: {Replicas: 1}, jobs.Worker: {Replicas: 3}}}
	got := strings.Join(mpiCommand(spec, []string{"python3", "train.py"}, "/s/hostfile"), " ")
	if !strings.HasPrefix(got, "mpirun --hostfile /s/hostfile -np 6 --oversubscribe ") || !strings.HasSuffix(got, " python3 train.py") {
		t.Errorf("mpiCommand = %q", got)
	}
	own := []string{"/usr/bin/mpirun", "-np", "2", "a.out"}
	if got := mpiCommand(spec, own, "/s/hostfile"); !slices.Equal(got, own) {
		t.Errorf("mpiCommand of an mpirun command line = %q, want it unchanged", got)
	}
}

func TestRanks(t *testing.T) {
	spec := &jobs.Spec{Kind: jobs.TensorFlow, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{
		jobs.Chief: {Replicas: 1}, jobs.PS: {Replicas: 2}, jobs.Worker: {Replicas: 3}, jobs.Evaluator: {Replicas: 1}}}
	for _, c := range []struct {
		t    jobs.ReplicaType
		i    int
		want int
	}{{jobs.Chief, 0, 0}, {jobs.PS, 1, 2}, {jobs.Worker, 0, 3}, {jobs.Evaluator, 0, 6}} {
		if got := rank(spec, c.t, c.i); got != c.want {
			t.Errorf("rank(%s, %d) = %d, want %d", c.t, c.i, got, c.want)
		}
	}
	if keys := portsFor(spec); len(keys) != 6 || slices.Contains(keys, "Evaluator-0") {
		t.Errorf("portsFor(tf) = %v, want one per replica of the cluster, no evaluator", keys)
	}
}
