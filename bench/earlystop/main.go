// Command earlystop measures Katib's median stopping rule
// (tuning/earlystop) on synthetic learning curves: a study of 50 trials
// whose losses decay exponentially, with noise, towards asymptotes of
// their own, run in a random order 3 at a time, once to completion and
// once with the rule. It reports the steps the rule saves and whether the
// best trial stays the same, as a Markdown table; --write FILE replaces the
// file's <!-- bench:earlystop --> section (appending it when missing).
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/earlystop"
)

type trial struct {
	asymptote, amplitude, tau, noise float64
	seed                             uint64
}

// loss is the trial's loss at step s (1-based).
func (t trial) loss(s int) float64 {
	rng := rand.New(rand.NewPCG(t.seed, uint64(s)))
	return t.asymptote + t.amplitude*math.Exp(-float64(s)/t.tau) + t.noise*rng.NormFloat64()
}

type result struct {
	steps     int
	stopped   int
	best      int // index of the best trial that ran to the end
	bestLoss  float64
	bestFinal float64 // its final loss
}

// simulate runs the trials in order, parallel at a time, each for steps
// steps, one report per step, stopping them by the rule of es if not nil.
func simulate(trials []trial, steps, parallel int, es tuning.EarlyStopper) result {
	type running struct {
		idx, step int
		curve     []tuning.Step
	}
	var hist []tuning.Observation
	var slots []*running
	next := 0
	res := result{best: -1, bestLoss: math.Inf(1)}
	for next < len(trials) || len(slots) > 0 {
		for len(slots) < parallel && next < len(trials) {
			slots = append(slots, &running{idx: next})
			next++
		}
		var rules []tuning.StopRule
		if es != nil {
			var err error
			if rules, err = es.Rules(context.Background(), hist); err != nil {
				panic(err)
			}
		}
		// Every running trial reports one step.
		var keep []*running
		for _, r := range slots {
			r.step++
			res.steps++
			l := trials[r.idx].loss(r.step)
			r.curve = append(r.curve, tuning.Step{Step: int64(r.step), Loss: l})
			stop := false
			for _, rule := range rules {
				stop = stop || rule.Stops(r.step, l)
			}
			switch {
			case stop:
				res.stopped++
				hist = append(hist, tuning.Observation{State: tuning.EarlyStopped, Loss: l, Curve: r.curve})
			case r.step == steps:
				hist = append(hist, tuning.Observation{State: tuning.Succeeded, Loss: l, Curve: r.curve})
				if l < res.bestLoss {
					res.best, res.bestLoss, res.bestFinal = r.idx, l, l
				}
			default:
				keep = append(keep, r)
			}
		}
		slots = keep
	}
	return res
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				model = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func main() {
	n := flag.Int("trials", 50, "trials per study")
	steps := flag.Int("steps", 50, "steps (reports) per trial")
	parallel := flag.Int("parallel", 3, "trials run at a time")
	studies := flag.Int("studies", 20, "studies (seeds)")
	write := flag.String("write", "", "Markdown file whose bench:earlystop section to replace")
	flag.Parse()

	es, err := earlystop.NewMedianStop(nil)
	if err != nil {
		panic(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Early stopping: Katib's median stopping rule on synthetic learning curves\n\n")
	fmt.Fprintf(&b, "Measured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine())
	fmt.Fprintf(&b, "Each study: %d trials in a random order, %d at a time, %d reports each; trial i's loss at step s is "+
		"a_i + b_i exp(-s/tau_i) + noise, a_i ~ U[0.1, 1], b_i ~ U[0.5, 1.5], tau_i ~ U[3, 15], noise sd 0.02. "+
		"medianstop with Katib's defaults (min_trials_required 3, start_step 4).\n\n", *n, *parallel, *steps)
	fmt.Fprintf(&b, "| study | steps, no stopping | steps, medianstop | saved | trials stopped | best trial kept | best final loss (no stopping / medianstop) |\n|---|---|---|---|---|---|---|\n")
	var totalFull, totalES, same int
	for s := 0; s < *studies; s++ {
		rng := rand.New(rand.NewPCG(uint64(s), 0x6573))
		trials := make([]trial, *n)
		for i := range trials {
			trials[i] = trial{
				asymptote: 0.1 + 0.9*rng.Float64(),
				amplitude: 0.5 + rng.Float64(),
				tau:       3 + 12*rng.Float64(),
				noise:     0.02,
				seed:      rng.Uint64(),
			}
		}
		full := simulate(trials, *steps, *parallel, nil)
		stop := simulate(trials, *steps, *parallel, es)
		totalFull += full.steps
		totalES += stop.steps
		kept := full.best == stop.best
		if kept {
			same++
		}
		mark := "✅"
		if !kept {
			mark = "❌"
		}
		fmt.Fprintf(&b, "| %d | %d | %d | %.1f%% | %d | %s | %.4f / %.4f |\n", s, full.steps, stop.steps,
			100*(1-float64(stop.steps)/float64(full.steps)), stop.stopped, mark, full.bestFinal, stop.bestFinal)
	}
	saved := 100 * (1 - float64(totalES)/float64(totalFull))
	goal := "✅"
	if saved < 40 || same < *studies {
		goal = "❌"
	}
	fmt.Fprintf(&b, "| **all** | %d | %d | **%.1f%%** | | %d of %d | goal ≥ 40%% saved, same best %s |\n\n", totalFull, totalES, saved, same, *studies, goal)
	fmt.Fprintf(&b, "Rerun: `go run ./bench/earlystop --write docs/benchmarks.md`\n")
	fmt.Print(b.String())
	if *write != "" {
		if err := writeSection(*write, b.String()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

const begin, end = "<!-- bench:earlystop -->", "<!-- /bench:earlystop -->"

func writeSection(path, body string) error {
	doc, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	section := begin + "\n" + body + end
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i >= 0 && j > i {
		s = s[:i] + section + s[j+len(end):]
	} else {
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		if s != "" {
			s += "\n"
		}
		s += section + "\n"
	}
	return os.WriteFile(path, []byte(s), 0o644)
}
