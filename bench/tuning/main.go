// Command tuning runs one of Ferry's search algorithms (by its Katib name,
// from tuning/algorithms) over a test function and prints JSON: the best
// loss after 50 and 100 evaluations for each seed, and the time a
// suggestion takes. bench/tuning/run.py runs it with the Python anchors.
//
//	go run ./bench/tuning -algo bayesianoptimization -func branin -seeds 20
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/algorithms"
)

// problem is a test function over a space.
type problem struct {
	space tuning.Space
	f     func(x []float64) float64
}

var problems = map[string]problem{
	"branin": {
		space: tuning.Space{tuning.Float("x1", -5, 10), tuning.Float("x2", 0, 15)},
		f:     branin,
	},
	"hartmann6": {
		space: tuning.Space{
			tuning.Float("x1", 0, 1), tuning.Float("x2", 0, 1), tuning.Float("x3", 0, 1),
			tuning.Float("x4", 0, 1), tuning.Float("x5", 0, 1), tuning.Float("x6", 0, 1),
		},
		f: hartmann6,
	},
}

// branin: minimum 0.397887 at (-π, 12.275), (π, 2.275), (9.42478, 2.475).
func branin(x []float64) float64 {
	const a, b, c, r, s, t = 1, 5.1 / (4 * math.Pi * math.Pi), 5 / math.Pi, 6, 10, 1 / (8 * math.Pi)
	u := x[1] - b*x[0]*x[0] + c*x[0] - r
	return a*u*u + s*(1-t)*math.Cos(x[0]) + s
}

// hartmann6: minimum -3.32237 at (0.20169, 0.150011, 0.476874, 0.275332,
// 0.311652, 0.6573).
func hartmann6(x []float64) float64 {
	alpha := [4]float64{1.0, 1.2, 3.0, 3.2}
	A := [4][6]float64{
		{10, 3, 17, 3.5, 1.7, 8},
		{0.05, 10, 17, 0.1, 8, 14},
		{3, 3.5, 1.7, 10, 17, 8},
		{17, 8, 0.05, 10, 0.1, 14},
	}
	P := [4][6]float64{
		{1312, 1696, 5569, 124, 8283, 5886},
		{2329, 4135, 8307, 3736, 1004, 9991},
		{2348, 1451, 3522, 2883, 3047, 6650},
		{4047, 8828, 8732, 5743, 1091, 381},
	}
	var sum float64
	for i := range 4 {
		var e float64
		for j := range 6 {
			d := x[j] - P[i][j]*1e-4
			e += A[i][j] * d * d
		}
		sum += alpha[i] * math.Exp(-e)
	}
	return -sum
}

type result struct {
	Algo  string    `json:"algo"`
	Func  string    `json:"func"`
	Evals int       `json:"evals"`
	Best  []float64 `json:"best_at_50"`
	Best2 []float64 `json:"best_at_100"`
	// MsPerSuggestion is the median time of one suggestion from a history
	// of 100 observations (a study's state after 100 evaluations).
	MsPerSuggestion float64 `json:"ms_per_suggestion"`
	// MsMeanRun is the mean time of a suggestion over the runs.
	MsMeanRun float64 `json:"ms_mean_run"`
}

func main() {
	algo := flag.String("algo", "bayesianoptimization", "algorithm (Katib name): "+strings.Join(algorithms.Names(), ", "))
	fn := flag.String("func", "branin", "test function: branin, hartmann6")
	seeds := flag.Int("seeds", 20, "number of seeds (runs)")
	first := flag.Int("seed0", 0, "first seed")
	evals := flag.Int("evals", 100, "evaluations per run")
	settings := flag.String("settings", "", "algorithm settings, name=value,...")
	timed := flag.Int("timed", 3, "runs whose suggestion at 100 observations is timed")
	flag.Parse()
	pr, ok := problems[*fn]
	if !ok {
		fail(fmt.Errorf("unknown function %q: use branin or hartmann6", *fn))
	}
	s := tuning.Settings{}
	for kv := range strings.SplitSeq(*settings, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			s[k] = v
		}
	}
	alg, err := algorithms.New(*algo, pr.space, s)
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	res := result{Algo: *algo, Func: *fn, Evals: *evals}
	var times []float64
	var total time.Duration
	var calls int
	for seed := *first; seed < *first+*seeds; seed++ {
		var h []tuning.Observation
		best := math.Inf(1)
		for len(h) < *evals {
			t0 := time.Now()
			out, err := alg.Suggest(ctx, tuning.Request{Space: pr.space, History: h, N: 1, Seed: int64(seed)})
			total += time.Since(t0)
			calls++
			if err != nil {
				fail(err)
			}
			if len(out) == 0 {
				break
			}
			y := pr.f(out[0].Point)
			best = min(best, y)
			h = append(h, tuning.Observation{Point: out[0].Point, State: tuning.Succeeded, Loss: y, Labels: out[0].Labels})
			switch len(h) {
			case 50:
				res.Best = append(res.Best, best)
			case 100:
				res.Best2 = append(res.Best2, best)
			}
		}
		if seed-*first < *timed && len(h) >= 100 {
			var ts []float64
			for range 5 {
				t0 := time.Now()
				if _, err := alg.Suggest(ctx, tuning.Request{Space: pr.space, History: h[:100], N: 1, Seed: int64(seed)}); err != nil {
					fail(err)
				}
				ts = append(ts, float64(time.Since(t0).Microseconds())/1000)
			}
			slices.Sort(ts)
			times = append(times, ts[len(ts)/2])
		}
	}
	if len(times) > 0 {
		slices.Sort(times)
		res.MsPerSuggestion = times[len(times)/2]
	}
	if calls > 0 {
		res.MsMeanRun = float64(total.Microseconds()) / 1000 / float64(calls)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tuning bench:", err)
	os.Exit(1)
}
