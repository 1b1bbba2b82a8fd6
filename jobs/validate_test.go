package jobs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/jobs"
)

func valid() jobs.Spec {
	return jobs.Spec{
		Name: "mnist", Kind: jobs.PyTorch,
		Replicas: map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}, jobs.Worker: {Replicas: 2}},
		Command:  []string{"python3", "train.py"},
	}
}

func TestValidate(t *testing.T) {
	neg := -1
	zero := int64(0)
	tests := []struct {
		name   string
		modify func(*jobs.Spec)
		// want are substrings of the error; none means valid.
		want []string
	}{
		{"valid", func(*jobs.Spec) {}, nil},
		{"every kind's roles", func(s *jobs.Spec) {
			s.Kind = jobs.MXNet
			s.Replicas = map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Scheduler: {Replicas: 1}, jobs.Server: {Replicas: 2}, jobs.Worker: {Replicas: 2}}
		}, nil},
		{"tf", func(s *jobs.Spec) {
			s.Kind = jobs.TensorFlow
			s.Replicas = map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Chief: {Replicas: 1}, jobs.PS: {Replicas: 2}, jobs.Worker: {Replicas: 4}, jobs.Evaluator: {Replicas: 1}}
		}, nil},
		{"resources", func(s *jobs.Spec) {
			s.Resources = jobs.Resources{CPU: "500m", Memory: "1.5Gi", GPU: 2}
			s.Replicas[jobs.Worker] = jobs.ReplicaSpec{Replicas: 1, Resources: &jobs.Resources{CPU: "2", Memory: "4G"}}
		}, nil},
		{"no name", func(s *jobs.Spec) { s.Name = "" }, []string{"name is empty"}},
		{"bad name", func(s *jobs.Spec) { s.Name = "My_Job" }, []string{`name "My_Job"`, "lower-case"}},
		{"unknown kind", func(s *jobs.Spec) { s.Kind = "torch" }, []string{`kind "torch"`, "pytorch, tensorflow, xgboost, mpi, paddle, mxnet, jax"}},
		{"wrong role", func(s *jobs.Spec) { s.Replicas[jobs.PS] = jobs.ReplicaSpec{Replicas: 1} }, []string{"replicas[PS]", "no role PS", "use Master or Worker"}},
		{"role case", func(s *jobs.Spec) { s.Replicas["worker"] = jobs.ReplicaSpec{Replicas: 1} }, []string{"replicas[worker]", "case-sensitive: use Worker"}},
		{"zero replicas", func(s *jobs.Spec) { s.Replicas[jobs.Worker] = jobs.ReplicaSpec{Replicas: 0} }, []string{"replicas[Worker] = 0", "at least 1"}},
		{"two masters", func(s *jobs.Spec) { s.Replicas[jobs.Master] = jobs.ReplicaSpec{Replicas: 2} }, []string{"replicas[Master] = 2", "at most 1 Master"}},
		{"mpi without launcher", func(s *jobs.Spec) {
			s.Kind = jobs.MPI
			s.Replicas = map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 2}}
		}, []string{"replicas[Launcher] is missing", "1 Launcher and at least 1 Worker"}},
		{"xgboost without master", func(s *jobs.Spec) {
			s.Kind = jobs.XGBoost
			s.Replicas = map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 2}}
		}, []string{"replicas[Master] is missing"}},
		{"no replicas", func(s *jobs.Spec) { s.Replicas = nil }, []string{"replicas: none given"}},
		{"tf ps only", func(s *jobs.Spec) {
			s.Kind = jobs.TensorFlow
			s.Replicas = map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.PS: {Replicas: 1}}
		}, []string{"needs a Chief or at least one Worker"}},
		{"cpu 2x", func(s *jobs.Spec) { s.Resources.CPU = "2x" }, []string{`resources.cpu "2x"`, `"500m"`}},
		{"memory", func(s *jobs.Spec) { s.Resources.Memory = "lots" }, []string{`resources.memory "lots"`, "512Mi"}},
		{"negative gpu", func(s *jobs.Spec) { s.Resources.GPU = -1 }, []string{"resources.gpu = -1", "0 or more"}},
		{"role resources", func(s *jobs.Spec) {
			s.Replicas[jobs.Worker] = jobs.ReplicaSpec{Replicas: 1, Resources: &jobs.Resources{GPU: -2}}
		}, []string{"replicas[Worker].resources.gpu = -2"}},
		{"missing command", func(s *jobs.Spec) { s.Command = nil }, []string{"command is empty for Master", "command is empty for Worker", `["python3", "train.py"]`}},
		{"command per role", func(s *jobs.Spec) {
			s.Command = nil
			s.Replicas[jobs.Master] = jobs.ReplicaSpec{Replicas: 1, Command: []string{"a"}}
			s.Replicas[jobs.Worker] = jobs.ReplicaSpec{Replicas: 1, Command: []string{"b"}}
		}, nil},
		{"restart policy", func(s *jobs.Spec) { s.RunPolicy.RestartPolicy = "Sometimes" }, []string{`runPolicy.restartPolicy "Sometimes"`, "Never, OnFailure, Always or ExitCode"}},
		{"backoff", func(s *jobs.Spec) { s.RunPolicy.BackoffLimit = &neg }, []string{"runPolicy.backoffLimit = -1"}},
		{"deadline", func(s *jobs.Spec) { s.RunPolicy.ActiveDeadlineSeconds = &zero }, []string{"activeDeadlineSeconds = 0"}},
		{"clean policy", func(s *jobs.Spec) { s.RunPolicy.CleanPodPolicy = "Some" }, []string{`cleanPodPolicy "Some"`}},
		{"slots on pytorch", func(s *jobs.Spec) { s.SlotsPerWorker = 2 }, []string{"slotsPerWorker = 2", "mpi jobs only"}},
		{"file outside", func(s *jobs.Spec) { s.Files = map[string]string{"../x.py": ""} }, []string{`files["../x.py"]`}},
		{"absolute file", func(s *jobs.Spec) { s.Files = map[string]string{"/etc/x": ""} }, []string{`files["/etc/x"]`}},
		{"filter groups", func(s *jobs.Spec) { s.Metrics.Filters = []string{`loss=\d+`} }, []string{"two groups"}},
		{"env name", func(s *jobs.Spec) { s.Env = map[string]string{"A=B": "x"} }, []string{`env "A=B"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			tt.modify(&s)
			err := s.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want an error with %q", tt.want)
			}
			if ferry.ErrorCode(err) != ferry.Invalid || !errors.Is(err, jobs.ErrInvalidSpec) {
				t.Errorf("code %s (Is ErrInvalidSpec %v), want invalid", ferry.ErrorCode(err), errors.Is(err, jobs.ErrInvalidSpec))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestSpecHelpers(t *testing.T) {
	s := valid()
	s.Replicas[jobs.Worker] = jobs.ReplicaSpec{Replicas: 2, Args: []string{"--role", "worker"}, RestartPolicy: jobs.RestartOnFailure}
	if got := s.TotalReplicas(); got != 3 {
		t.Errorf("TotalReplicas = %d, want 3", got)
	}
	if got := strings.Join(s.CommandFor(jobs.Worker), " "); got != "python3 train.py --role worker" {
		t.Errorf("CommandFor(Worker) = %q", got)
	}
	if got := s.RestartPolicyFor(jobs.Master); got != jobs.RestartNever {
		t.Errorf("RestartPolicyFor(Master) = %s, want Never", got)
	}
	if got := s.RestartPolicyFor(jobs.Worker); got != jobs.RestartOnFailure {
		t.Errorf("RestartPolicyFor(Worker) = %s, want OnFailure", got)
	}
	primaries := []struct {
		kind     jobs.Kind
		replicas map[jobs.ReplicaType]jobs.ReplicaSpec
		want     jobs.ReplicaType
	}{
		{jobs.PyTorch, map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Master: {Replicas: 1}}, jobs.Master},
		{jobs.PyTorch, map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Worker: {Replicas: 2}}, jobs.Worker},
		{jobs.TensorFlow, map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Chief: {Replicas: 1}, jobs.Worker: {Replicas: 1}}, jobs.Chief},
		{jobs.MPI, map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Launcher: {Replicas: 1}, jobs.Worker: {Replicas: 1}}, jobs.Launcher},
		{jobs.MXNet, map[jobs.ReplicaType]jobs.ReplicaSpec{jobs.Scheduler: {Replicas: 1}}, jobs.Worker},
	}
	for _, p := range primaries {
		s := jobs.Spec{Kind: p.kind, Replicas: p.replicas}
		if got, _ := s.PrimaryReplica(); got != p.want {
			t.Errorf("%s %v: primary %s, want %s", p.kind, p.replicas, got, p.want)
		}
	}
	if rt, ok := jobs.ParseReplicaType(jobs.TensorFlow, "ps"); !ok || rt != jobs.PS {
		t.Errorf("ParseReplicaType(tensorflow, ps) = %s %v", rt, ok)
	}
	if _, ok := jobs.ParseReplicaType(jobs.JAX, "Master"); ok {
		t.Error("ParseReplicaType(jax, Master): want no such role")
	}
}

func TestConditions(t *testing.T) {
	var st jobs.Status
	t0 := time.Unix(100, 0)
	st.SetCondition(jobs.Created, "A", "", t0)
	st.SetCondition(jobs.Running, "B", "", t0.Add(time.Second))
	st.SetCondition(jobs.Restarting, "C", "", t0.Add(2*time.Second))
	if got := st.Phase(); got != jobs.Restarting {
		t.Errorf("phase %s, want Restarting", got)
	}
	if c, _ := st.Condition(jobs.Running); c.Status {
		t.Error("Running still true while Restarting")
	}
	st.SetCondition(jobs.Running, "B", "", t0.Add(3*time.Second))
	if c, _ := st.Condition(jobs.Restarting); c.Status || st.Phase() != jobs.Running {
		t.Errorf("after Running again: Restarting %v, phase %s", c.Status, st.Phase())
	}
	if st.Finished() {
		t.Error("Finished while running")
	}
	st.SetCondition(jobs.Failed, "D", "m", t0.Add(4*time.Second))
	if !st.Finished() || st.Phase() != jobs.Failed || len(st.Conditions) != 4 {
		t.Errorf("after Failed: finished %v phase %s, %d conditions, want Failed and 4", st.Finished(), st.Phase(), len(st.Conditions))
	}
	if c, _ := st.Condition(jobs.Running); c.Status {
		t.Error("Running still true after Failed")
	}
}
