package katibgrpc

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ferryml/ferry/tuning/algorithms"
	pb "github.com/ferryml/ferry/tuning/katibgrpc/internal/katibpb"
)

// registeredCase is the experiment each registered algorithm is driven
// with over Katib's API: the mixed space of experiment(), the finite one
// for grid, and a resource parameter for hyperband.
func registeredCase(name string) algorithmCase {
	switch name {
	case "grid":
		return algorithmCase{name: name, experiment: finiteExperiment(name), finite: true}
	case "hyperband":
		e := experiment("hb", name, "resource_name", "epochs", "eta", "3")
		e.Spec.ParameterSpecs.Parameters = append(e.Spec.ParameterSpecs.Parameters,
			spec("epochs", pb.ParameterType_INT, &pb.FeasibleSpace{Min: "1", Max: "27"}))
		return algorithmCase{name: name, experiment: e}
	case "bayesianoptimization":
		// Few initial points, so the later rounds fit the GP.
		return algorithmCase{name: name, experiment: experiment("exp-bo", name, "n_initial_points", "3")}
	case "tpe", "multivariate-tpe":
		return algorithmCase{name: name, experiment: experiment("exp-"+name, name, "n_startup_trials", "3")}
	}
	return algorithmCase{name: name, experiment: experiment("exp-"+name, name)}
}

// Every algorithm of the registry answers Katib's own request messages:
// its settings validate, suggestions are valid and reproducible, and
// invalid settings get InvalidArgument naming the setting.
func TestRegisteredAlgorithms(t *testing.T) {
	c := pb.NewSuggestionClient(serve(t, NewServer(algorithms.New, algorithms.NewEarlyStopper)))
	names := algorithms.Names()
	for _, want := range []string{"random", "grid", "sobol", "bayesianoptimization", "tpe", "multivariate-tpe", "cmaes", "hyperband"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("the registry lacks Katib's %q", want)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			tc := registeredCase(name)
			checkAlgorithm(t, c, tc)
			bad := registeredCase(name).experiment
			bad.Spec.Algorithm.AlgorithmSettings = append(bad.Spec.Algorithm.AlgorithmSettings, &pb.AlgorithmSetting{Name: "no_such_setting", Value: "1"})
			_, err := c.ValidateAlgorithmSettings(t.Context(), &pb.ValidateAlgorithmSettingsRequest{Experiment: bad})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "no_such_setting") {
				t.Errorf("an unknown setting: %v, want InvalidArgument naming it", err)
			}
		})
	}
	_, err := c.ValidateAlgorithmSettings(t.Context(), &pb.ValidateAlgorithmSettingsRequest{Experiment: experiment("x", "annealing")})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "annealing") {
		t.Errorf("an unknown algorithm: %v, want InvalidArgument naming it", err)
	}
}

// The medianstop service of the registry validates its settings as
// Katib's does.
func TestRegisteredEarlyStopping(t *testing.T) {
	c := pb.NewEarlyStoppingClient(serve(t, NewServer(algorithms.New, algorithms.NewEarlyStopper)))
	for _, tc := range []struct {
		settings []*pb.EarlyStoppingSetting
		ok       bool
	}{
		{[]*pb.EarlyStoppingSetting{{Name: "min_trials_required", Value: "2"}, {Name: "start_step", Value: "3"}}, true},
		{[]*pb.EarlyStoppingSetting{{Name: "min_trials_required", Value: "-1"}}, false},
		{[]*pb.EarlyStoppingSetting{{Name: "start_stpe", Value: "3"}}, false},
	} {
		_, err := c.ValidateEarlyStoppingSettings(t.Context(), &pb.ValidateEarlyStoppingSettingsRequest{
			EarlyStopping: &pb.EarlyStoppingSpec{AlgorithmName: "medianstop", AlgorithmSettings: tc.settings}})
		if tc.ok != (err == nil) {
			t.Errorf("settings %v: %v, want ok %v", tc.settings, err, tc.ok)
		}
		if err != nil && status.Code(err) != codes.InvalidArgument {
			t.Errorf("settings %v: code %v, want InvalidArgument", tc.settings, status.Code(err))
		}
	}
}
