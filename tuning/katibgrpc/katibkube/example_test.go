package katibkube_test

import (
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/katibgrpc"
	"github.com/ferryml/ferry/tuning/katibgrpc/katibkube"
)

// In a Suggestion's pod, the early-stopping server marks the Trials the
// metrics collector stops, as Katib's medianstop does.
func Example() {
	var stoppers katibgrpc.StopperFunc = func(name string, s tuning.Settings) (tuning.EarlyStopper, error) {
		panic("a registry's lookup")
	}
	srv := katibgrpc.NewServer(nil, stoppers)
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return // not in a pod: SetTrialStatus only records the trial
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		panic(err)
	}
	srv.OnEarlyStopped = katibkube.MarkEarlyStopped(client, katibkube.Namespace(), nil)
	// srv.Serve(ctx, listener on katibgrpc.EarlyStoppingPort)
}
