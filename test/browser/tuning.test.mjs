// Browser test of the tuning dashboard: a Go cell tunes a function with
// tuningclient.Optimize in `ferry lab` (the study runs in the lab's control
// plane), and the cell shows the study's dashboard while it runs: the
// status badge and progress bar, the Stop button, the trials table and the
// two Vega-Lite charts (best value so far, parallel coordinates), rendered
// by JupyterLab inside the widget. Screenshots (tuning-*.png) go to
// ${FERRY_TEST_ARTIFACTS:-<repo>/test-artifacts}/browser/.

import assert from 'node:assert/strict';
import {
  s, step, setup, waitFor, screenshot, api, openLab, createGoNotebook, noPageErrors,
  outputArea, runCell, waitCellDone, noWidgetErrors, serverExitsOnSIGTERM,
} from './harness.mjs';

const TRIALS = 8;

const IMPORTS = `import (
	"fmt"
	"time"

	"github.com/ferryml/ferry/tuning"
	"github.com/ferryml/ferry/tuning/tuningclient"
)`;

// A grid over x in 1..TRIALS, two at once; each trial takes a moment so
// the dashboard is seen while the study runs.
const OPTIMIZE = `study, err := tuningclient.Open(tuning.Spec{
	Name:      "browser-grid",
	Objective: tuning.Objective{Metric: "loss"},
	Space:     tuning.Space{tuning.IntRange("x", 1, ${TRIALS}), tuning.Choice("opt", "adam")},
	Algorithm: tuning.Algorithm{Name: "grid"},
	MaxTrials: ${TRIALS}, ParallelTrials: 2,
})
if err != nil {
	panic(err)
}
best, err := study.Optimize(func(t *tuningclient.Trial) float64 {
	x := float64(t.Int("x"))
	for step := 1; step <= 3; step++ {
		time.Sleep(150 * time.Millisecond)
		t.Report(step, (x-3)*(x-3)+1/float64(step))
	}
	return (x - 3) * (x - 3)
})
fmt.Println("best", best.Name, *best.Value, err)`;

setup({ prefix: 'tuning-', viewport: { width: 1440, height: 1500 } });

const OPT = 1;

function dashboard() {
  return outputArea(OPT);
}

step('open /lab with the token and see the launcher', [], openLab);

step('create a Go notebook from the launcher', ['open /lab with the token and see the launcher'], createGoNotebook);

step('a Go objective shows the live dashboard', ['create a Go notebook from the launcher'], async () => {
  await runCell(0, IMPORTS);
  await runCell(OPT, OPTIMIZE, { wait: false });
  // While it runs: the badge says Running, with a Stop button.
  await dashboard().locator('.widget-html', { hasText: 'Running' }).first().waitFor();
  await dashboard().locator('button', { hasText: 'Stop' }).waitFor();
  await screenshot('01-running');
  await waitCellDone(OPT);
  await noWidgetErrors();
});

step('the finished dashboard has every trial and both charts', ['a Go objective shows the live dashboard'], async () => {
  const area = dashboard();
  await area.locator('.widget-html', { hasText: 'Succeeded' }).first().waitFor();
  // The trials table: a row per trial, the best (x=3) marked.
  await waitFor(`the table to list ${TRIALS} trials`, async () => (await area.locator('table tbody tr').count()) === TRIALS);
  const text = await area.locator('table').first().innerText();
  for (let i = 1; i <= TRIALS; i++) assert.ok(text.includes(`browser-grid-${i}`), text);
  // Two Vega-Lite charts, drawn (vega-embed renders an svg or a canvas).
  await waitFor('two rendered Vega-Lite charts', async () =>
    (await area.locator('.vega-embed').count()) === 2 &&
    (await area.locator('.vega-embed svg, .vega-embed canvas').count()) >= 2
  );
  const out = await area.locator('.jp-OutputArea-output').last().innerText();
  assert.match(out, /best browser-grid-3 0 <nil>/);
  await screenshot('02-finished');
  // The study is in the lab's control plane.
  const st = await api('GET', '/api/ferry/v1/studies/browser-grid');
  assert.equal(st.state, 'Succeeded');
  assert.equal(st.trials.length, TRIALS);
});

step('no page errors', ['the finished dashboard has every trial and both charts'], noPageErrors);

step('the server exits on SIGTERM', [], serverExitsOnSIGTERM);
