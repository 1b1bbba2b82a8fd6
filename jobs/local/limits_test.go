package local_test

import (
	"github.com/ferryml/ferry"

	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ferryml/ferry/jobs"
	"github.com/ferryml/ferry/jobs/local"
)

// TestSubmitReplicaBound: a job asking for more replicas than the bound is
// refused with an error naming the bound and the fix; one within it runs.
func TestSubmitReplicaBound(t *testing.T) {
	t.Parallel()
	b, err := local.New(t.Context(), local.Options{Dir: t.TempDir(), GPUs: []string{}, Logger: testLogger(t),
		MaxReplicas: 4, PollInterval: 20 * time.Millisecond, GracePeriod: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, b) })
	spec := func(name string, counts map[jobs.ReplicaType]int) jobs.Spec {
		s := jobs.Spec{Name: name, Kind: jobs.PyTorch, Command: []string{"true"}, Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{}}
		for t, n := range counts {
			s.Replicas[t] = jobs.ReplicaSpec{Replicas: n}
		}
		return s
	}
	tests := []struct {
		name   string
		counts map[jobs.ReplicaType]int
		refuse bool
	}{
		{"over", map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 4}, true},
		{"wraps", map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: math.MaxInt}, true},
		{"at", map[jobs.ReplicaType]int{jobs.Master: 1, jobs.Worker: 3}, false},
	}
	for _, tt := range tests {
		_, err := b.Submit(t.Context(), spec(tt.name, tt.counts))
		if !tt.refuse {
			if err != nil {
				t.Errorf("%s: Submit: %v", tt.name, err)
			} else {
				waitEnded(t, b, tt.name)
			}
			continue
		}
		if ferry.ErrorCode(err) != ferry.Invalid {
			t.Errorf("%s: Submit: %v, want an Invalid error", tt.name, err)
			continue
		}
		for _, want := range []string{"at most 4", "--jobs-max-replicas"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q: want %q", tt.name, err, want)
			}
		}
	}
}

// TestDefaultReplicaBound: without Options.MaxReplicas the bound is
// DefaultMaxReplicas.
func TestDefaultReplicaBound(t *testing.T) {
	t.Parallel()
	b := newBackend(t, t.TempDir(), nil)
	_, err := b.Submit(t.Context(), jobs.Spec{Name: "many", Kind: jobs.JAX, Command: []string{"true"},
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: local.DefaultMaxReplicas + 1}}})
	if ferry.ErrorCode(err) != ferry.Invalid || !strings.Contains(err.Error(), fmt.Sprintf("at most %d", local.DefaultMaxReplicas)) {
		t.Errorf("Submit of %d replicas: %v, want Invalid naming the bound", local.DefaultMaxReplicas+1, err)
	}
}
