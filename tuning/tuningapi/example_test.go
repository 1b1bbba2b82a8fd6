package tuningapi_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/algorithms"
	"github.com/ferryml/ferry/tuning/runner"
	"github.com/ferryml/ferry/tuning/tuningapi"
)

// The API serves a runner; the client is itself a tuning.Backend.
func Example() {
	dir, _ := os.MkdirTemp("", "studies")
	defer os.RemoveAll(dir)
	r, err := runner.Open(context.Background(), runner.Options{Dir: dir, Suggesters: algorithms.New})
	if err != nil {
		panic(err)
	}
	defer r.Close()
	srv := httptest.NewServer(tuningapi.NewHandler(r, nil))
	defer srv.Close()
	c := tuningapi.NewClient(srv.URL+"/", "", nil)
	_, err = c.Create(context.Background(), tuning.Spec{
		Name:      "bad",
		Objective: tuning.Objective{Metric: "loss"},
		Space:     tuning.Space{tuning.Float("lr", 0.1, 0.01)},
		Algorithm: tuning.Algorithm{Name: "random"},
	})
	fmt.Println(err)
	// Output: tuning: parameter "lr": the range is inverted (min 0.1 > max 0.01): swap min and max
}
