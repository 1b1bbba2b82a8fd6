// Browser test of Ferry's widgets: JupyterLab's widget manager
// (@jupyter-widgets/jupyterlab-manager, bundled in the app build) renders the
// comm widgets of the Go kernel's widgets package, in Debian's Chromium
// through playwright-core, against notebookd (`ferry lab`).
//
// In a new Go notebook: an IntSlider renders, and moving it with the
// keyboard changes the Go value the next cell reads; a Button's OnClick
// callback in Go updates an HTML widget; a Progress bar advances while its
// cell still runs; after saving and reloading the page the widgets render
// again with their state, which the frontend asks the kernel for
// (jupyter.widget.control request_states), and still talk to the kernel.
// Screenshots (widgets-*.png), the browser console log and the server log
// go to ${FERRY_TEST_ARTIFACTS:-<repo>/test-artifacts}/browser/.
//
// The server, browser and step machinery are in harness.mjs, which lists
// the environment variables. Run it with test/browser/run.sh.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  s, step, setup, waitFor, api, screenshot, notebookPanel, cells, waitKernelIdle,
  openLab, createGoNotebook, saveAs, reloadAndOpen, noPageErrors, serverExitsOnSIGTERM,
  outputArea, prompt, typeCell, runCell, waitCellDone, noWidgetErrors,
  LOAD_TIMEOUT,
} from './harness.mjs';

const NOTEBOOK = 'widgets.ipynb';

// The slider starts at START and is moved MOVES steps right.
const START = 3;
const MOVES = 4;
const MOVED = START + MOVES;

// The progress cell counts STEPS steps; step k waits until the test has
// created the file gate-k, so the test sees each step while the cell runs,
// however slow the machine.
const STEPS = 5;

// gates is the folder of the gate files, outside the notebook root.
const gates = () => path.join(s.tmp, 'gates');

// The cells, in order; each is typed into a new cell of the notebook.
const SLIDER = 0;
const READ = 1;
const BUTTON = 2;
const PROGRESS = 3;
const source = () => [
  `s := widgets.NewIntSlider(${START}, widgets.Min(0), widgets.Max(10), widgets.Description("n"))
s.OnChange(func(v int) { fmt.Println("kernel: n =", v) })
widgets.Display(s)`,

  `fmt.Println("value:", s.Value())`,

  `h := widgets.NewHTML("<b>not clicked</b>")
clicks := 0
btn := widgets.NewButton("Greet", widgets.ButtonStyle("primary"))
btn.OnClick(func(*widgets.Button) { // unnamed: goeval names it _ for yaegi
	clicks++
	h.SetValue(fmt.Sprintf("<b>clicked %d</b>", clicks))
})
widgets.Display(btn, h)`,

  `import (
	"os"
	"path/filepath"
	"time"
)

// gateOpen reports whether the test has created gate-i: it does when it
// has seen step i-1 in the browser.
func gateOpen(i int) bool {
	_, err := os.Stat(filepath.Join(${JSON.stringify(gates())}, fmt.Sprint("gate-", i)))
	return err == nil
}

p := widgets.NewProgress(${STEPS}, "work")
for i := 1; i <= ${STEPS}; i++ {
	for !gateOpen(i) {
		time.Sleep(20 * time.Millisecond)
	}
	p.Add(1)
}
p.Done()`,
];

// Frames on the kernel websocket (the v1 binary protocol or JSON), as text:
// enough to find a message type or a comm method in them.
const kernelFrames = { sent: [], received: [] };

setup({
  prefix: 'widgets-',
  // Tall enough to show all four cells in the screenshots.
  viewport: { width: 1440, height: 1400 },
  onPage: (page) => {
    const text = (f) => (typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8'));
    page.on('websocket', (ws) => {
      if (!/\/api\/kernels\/[^/]+\/channels/.test(ws.url())) return;
      ws.on('framesent', (f) => kernelFrames.sent.push(text(f)));
      ws.on('framereceived', (f) => kernelFrames.received.push(text(f)));
    });
  },
});

// progressState reads the progress bar of cell i: the bar's width in
// percent, its label, whether it is styled success, and the cell's prompt.
async function progressState(i) {
  const area = outputArea(i);
  const bar = area.locator('.widget-hprogress .progress-bar').first();
  if ((await bar.count()) === 0) return null;
  const width = await bar.evaluate((el) => el.style.width);
  const success = await bar.evaluate((el) => el.classList.contains('progress-bar-success'));
  // The Label widget next to the bar (the bar's description is a
  // .widget-label inside the bar's view).
  const label = (await area.locator('.widget-hbox > .widget-label').first().innerText().catch(() => '')).trim();
  return { width: parseFloat(width), label, success, prompt: (await prompt(i).innerText()).trim() };
}

function slider(i) {
  return outputArea(i).locator('.widget-slider').first();
}

async function readout(i) {
  return (await slider(i).locator('.widget-readout').innerText()).trim();
}

function htmlWidget(i) {
  return outputArea(i).locator('.widget-html .widget-html-content').first();
}

step('open /lab with the token and see the launcher', [], openLab);

step('create a Go notebook from the launcher', ['open /lab with the token and see the launcher'], createGoNotebook);

step('a slider renders', ['create a Go notebook from the launcher'], async () => {
  await runCell(SLIDER, source()[SLIDER]);
  await slider(SLIDER).waitFor();
  await slider(SLIDER).locator('.widget-label', { hasText: /^n$/ }).waitFor();
  await waitFor(`the slider's readout to show ${START}`, async () => (await readout(SLIDER)) === String(START));
  await noWidgetErrors();
  await screenshot('01-slider');
});

step('moving the slider changes the Go value', ['a slider renders'], async () => {
  const handle = slider(SLIDER).locator('.noUi-handle').first();
  await handle.focus();
  for (let k = 0; k < MOVES; k++) await s.page.keyboard.press('ArrowRight');
  await waitFor(`the slider's readout to show ${MOVED}`, async () => (await readout(SLIDER)) === String(MOVED));
  // The OnChange callback prints in the Output widget under the slider once
  // the kernel has the new value.
  await outputArea(SLIDER).locator('.widget-output', { hasText: `kernel: n = ${MOVED}` }).waitFor();
  await waitKernelIdle();

  await runCell(READ, source()[READ]);
  const out = outputArea(READ).locator('.jp-OutputArea-output');
  await out.filter({ hasText: /value:/ }).waitFor();
  assert.equal((await out.innerText()).trim(), `value: ${MOVED}`);
  await screenshot('02-slider-moved');
});

// Each step types into the next cell, so each needs the one before it.
step('a button click runs a Go callback that updates an HTML widget', ['moving the slider changes the Go value'], async () => {
  const i = BUTTON;
  await runCell(i, source()[i]);
  const button = outputArea(i).locator('button.jupyter-button', { hasText: 'Greet' });
  await button.waitFor();
  await htmlWidget(i).filter({ hasText: /^not clicked$/ }).waitFor();
  await waitKernelIdle();
  await button.click();
  await htmlWidget(i).filter({ hasText: /^clicked 1$/ }).waitFor();
  assert.equal(await htmlWidget(i).locator('b').innerText(), 'clicked 1', 'the HTML value is rendered as HTML');
  await waitKernelIdle();
  await noWidgetErrors();
  await screenshot('03-button-clicked');
});

step('a progress bar advances while its cell runs', ['a button click runs a Go callback that updates an HTML widget'], async () => {
  const i = PROGRESS;
  fs.mkdirSync(gates(), { recursive: true });
  await runCell(i, source()[i], { wait: false });
  const seen = [];
  const want = async (k) => {
    const st = await waitFor(`the progress bar to show step ${k}/${STEPS}`, async () => {
      const st = await progressState(i);
      return st && Math.abs(st.width - (100 * k) / STEPS) < 0.01 && new RegExp(`^${k}/${STEPS}(\\s|$)`).test(st.label) ? st : null;
    });
    seen.push(st);
    return st;
  };
  await want(0);
  for (let k = 1; k < STEPS; k++) {
    fs.writeFileSync(path.join(gates(), `gate-${k}`), '');
    const st = await want(k);
    // gate-STEPS does not exist yet: the cell cannot have finished.
    assert.equal(st.prompt, '[*]:', `the cell still runs at step ${k}: ${JSON.stringify(st)}`);
    assert.ok(!st.success, `the bar is not marked done at step ${k}`);
    if (k === 2) await screenshot('04-progress-running');
  }
  fs.writeFileSync(path.join(gates(), `gate-${STEPS}`), '');
  await waitCellDone(i);
  const done = await waitFor('the progress bar to be full and marked done', async () => {
    const st = await progressState(i);
    return st && st.width === 100 && st.success && new RegExp(`^${STEPS}/${STEPS}\\s`).test(st.label) ? st : null;
  });
  seen.push(done);
  for (let k = 1; k < seen.length; k++) {
    assert.ok(seen[k].width > seen[k - 1].width, `the bar advanced: ${JSON.stringify(seen)}`);
  }
  await waitKernelIdle();
  await screenshot('05-progress-done');
});

step('save the notebook with its widget outputs', ['a progress bar advances while its cell runs'], async () => {
  await saveAs(NOTEBOOK);
  const model = await waitFor(`GET /api/contents/${NOTEBOOK} with the widget outputs`, async () => {
    const m = await api('GET', `/api/contents/${NOTEBOOK}?content=1`);
    const views = (m.content?.cells ?? []).map((c) =>
      (c.outputs ?? []).filter((o) => o.data?.['application/vnd.jupyter.widget-view+json']).length
    );
    return views[SLIDER] > 0 && views[BUTTON] > 0 && views[PROGRESS] > 0 ? m : null;
  });
  assert.equal(model.content.metadata?.kernelspec?.name, 'ferry');
});

step('after a page reload the widgets render again with their state', ['save the notebook with its widget outputs'], async (t) => {
  const sentBefore = kernelFrames.sent.length;
  const receivedBefore = kernelFrames.received.length;
  await reloadAndOpen(t, NOTEBOOK);
  await slider(SLIDER).waitFor({ timeout: LOAD_TIMEOUT });
  await waitFor(`the reloaded slider's readout to show ${MOVED}`, async () => (await readout(SLIDER)) === String(MOVED));
  await htmlWidget(BUTTON).filter({ hasText: /^clicked 1$/ }).waitFor();
  const st = await waitFor('the reloaded progress bar to be full and marked done', async () => {
    const st = await progressState(PROGRESS);
    return st && st.width === 100 && st.success ? st : null;
  });
  assert.match(st.label, new RegExp(`^${STEPS}/${STEPS} `));
  // The state came from the kernel: the frontend asked for it on the
  // jupyter.widget.control comm and got update_states back.
  assert.ok(kernelFrames.sent.slice(sentBefore).some((f) => f.includes('request_states')),
    'the reloaded page sent request_states to the kernel');
  assert.ok(kernelFrames.received.slice(receivedBefore).some((f) => f.includes('update_states')),
    'the kernel answered with update_states');
  await noWidgetErrors();
  await waitKernelIdle();
  await screenshot('06-after-reload');
});

step('after the reload the widgets still talk to the kernel', ['after a page reload the widgets render again with their state'], async () => {
  const button = outputArea(BUTTON).locator('button.jupyter-button', { hasText: 'Greet' });
  await button.click();
  await htmlWidget(BUTTON).filter({ hasText: /^clicked 2$/ }).waitFor();

  await slider(SLIDER).locator('.noUi-handle').first().focus();
  await s.page.keyboard.press('ArrowRight');
  await waitFor(`the slider's readout to show ${MOVED + 1}`, async () => (await readout(SLIDER)) === String(MOVED + 1));
  await outputArea(SLIDER).locator('.widget-output', { hasText: `kernel: n = ${MOVED + 1}` }).waitFor();
  await noWidgetErrors();
  await waitKernelIdle();
  await screenshot('07-after-reload-clicked');
});

step('no uncaught page errors', [], noPageErrors);

step('notebookd exits on SIGTERM', [], serverExitsOnSIGTERM);
