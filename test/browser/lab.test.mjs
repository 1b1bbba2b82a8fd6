// Browser test: the real JupyterLab app, served by notebookd (`ferry lab`),
// driven in Debian's Chromium through playwright-core.
//
// It opens /lab with the token, creates a Go notebook from the launcher,
// runs 1+1 and sees 2, saves (renaming the untitled notebook), checks the
// saved file through the contents API, reloads the page and sees the output
// again, and runs `echo hi` in a terminal. Screenshots, the browser console
// log and the server log go to ${FERRY_TEST_ARTIFACTS:-<repo>/test-artifacts}/browser/.
//
// The server, browser and step machinery are in harness.mjs, which lists
// the environment variables. Run it with test/browser/run.sh.

import assert from 'node:assert/strict';
import {
  s, step, setup, waitFor, api, screenshot, notebookPanel, cells, waitKernelIdle,
  openLab, createGoNotebook, saveAs, reloadAndOpen, noPageErrors, serverExitsOnSIGTERM,
  LOAD_TIMEOUT,
} from './harness.mjs';

const NOTEBOOK = 'ferry-browser.ipynb';

setup();

// firstCellResult locates the execute_result output of the first cell.
function firstCellResult() {
  return cells().first().locator('.jp-OutputArea-executeResult .jp-OutputArea-output');
}

step('open /lab with the token and see the launcher', [], openLab);

step('create a Go notebook from the launcher', ['open /lab with the token and see the launcher'], createGoNotebook);

step('run 1+1 and see 2', ['create a Go notebook from the launcher'], async () => {
  const editor = cells().first().locator('.cm-content');
  await editor.click();
  await s.page.keyboard.type('1+1');
  await cells().first().locator('.cm-content', { hasText: '1+1' }).waitFor();
  await s.page.keyboard.press('Shift+Enter');
  const out = firstCellResult();
  await out.filter({ hasText: /^\s*2\s*$/ }).waitFor();
  assert.equal((await out.innerText()).trim(), '2');
  const prompt = await cells().first().locator('.jp-InputPrompt').innerText();
  assert.match(prompt, /\[1\]/, 'the execution count is shown');
  await waitKernelIdle();
  await screenshot('01-notebook-1plus1');
});

step('save the notebook and read it back', ['run 1+1 and see 2'], async () => {
  await saveAs(NOTEBOOK);
  const model = await waitFor(`GET /api/contents/${NOTEBOOK} with the output`, async () => {
    const m = await api('GET', `/api/contents/${NOTEBOOK}?content=1`);
    const outs = m.content?.cells?.[0]?.outputs ?? [];
    return outs.some((o) => o.output_type === 'execute_result') ? m : null;
  });
  const cell = model.content.cells[0];
  const src = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
  assert.equal(src, '1+1');
  assert.equal(cell.execution_count, 1);
  const res = cell.outputs.find((o) => o.output_type === 'execute_result');
  const plain = res.data['text/plain'];
  assert.equal(Array.isArray(plain) ? plain.join('') : plain, '2');
  assert.equal(model.content.metadata?.kernelspec?.name, 'ferry');
  s.savedCells = model.content.cells.length;
  // The rename moved the file; the untitled one is gone.
  const listing = await api('GET', '/api/contents/');
  const names = listing.content.map((x) => x.name);
  assert.ok(names.includes(NOTEBOOK), `listing has ${NOTEBOOK}: ${names}`);
  assert.ok(!names.includes(s.untitled), `listing no longer has ${s.untitled}: ${names}`);
});

step('reload the page and see the output again', ['save the notebook and read it back'], async (t) => {
  await reloadAndOpen(t, NOTEBOOK);
  const out = firstCellResult();
  await out.filter({ hasText: /^\s*2\s*$/ }).waitFor({ timeout: LOAD_TIMEOUT });
  assert.equal((await out.innerText()).trim(), '2');
  await waitFor(`the reloaded notebook to show the ${s.savedCells} saved cells`,
    async () => (await cells().count()) === s.savedCells);
  assert.equal((await cells().first().locator('.cm-content').innerText()).trim(), '1+1');
  await waitKernelIdle();
  await screenshot('02-notebook-after-reload');
});

step('a terminal runs echo hi', ['open /lab with the token and see the launcher'], async () => {
  const cfg = await s.page.evaluate(() =>
    JSON.parse(document.getElementById('jupyter-config-data').textContent)
  );
  assert.equal(cfg.terminalsAvailable, true,
    'notebookd does not offer terminals (page_config terminalsAvailable is not true)');

  // File > New > Terminal.
  await s.page.locator('#jp-menu-panel .lm-MenuBar-item', { hasText: /^File$/ }).click();
  await s.page.locator('.lm-Menu-item:visible', { has: s.page.locator('.lm-Menu-itemLabel', { hasText: /^New$/ }) }).hover();
  await s.page.locator('.lm-Menu-item:visible', { has: s.page.locator('.lm-Menu-itemLabel', { hasText: /^Terminal$/ }) }).click();

  const term = s.page.locator('.jp-Terminal:not(.lm-mod-hidden)').first();
  await term.locator('.xterm-screen').waitFor();
  // Wait for the shell's first output (its prompt) before typing.
  await waitFor('the terminal websocket to deliver the shell prompt', () =>
    s.termFrames.some((f) => f.startsWith('["stdout"'))
  );
  const before = s.termFrames.length;
  await term.locator('.xterm-screen').click();
  await s.page.keyboard.type('echo hi');
  await s.page.keyboard.press('Enter');
  await waitFor('"hi" on its own line in the terminal output', () => {
    const text = s.termFrames
      .slice(before)
      .map((f) => { try { return JSON.parse(f); } catch { return null; } })
      .filter((m) => Array.isArray(m) && m[0] === 'stdout')
      .map((m) => m[1])
      .join('')
      // Drop ANSI escape sequences (colours, bracketed paste, titles).
      .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, '')
      .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '');
    // "echo hi\r\n" (the echoed input), then "hi\r\n" at a line start
    // (readline may put a \r before it).
    return /(^|[\r\n])hi\r*\n/.test(text);
  });
  const terms = await api('GET', '/api/terminals');
  assert.ok(terms.length >= 1, `GET /api/terminals lists the terminal: ${JSON.stringify(terms)}`);
  await screenshot('03-terminal-echo-hi');
});

step('final screenshot: notebook and terminal side by side', ['reload the page and see the output again', 'a terminal runs echo hi'], async () => {
  // Drag the terminal tab to the right half of the main area (Lumino docking).
  const termTab = s.page.locator('#jp-main-dock-panel .lm-TabBar-tab', { has: s.page.locator('.lm-TabBar-tabLabel', { hasText: /^Terminal/ }) }).first();
  const dock = await s.page.locator('#jp-main-dock-panel').boundingBox();
  const tb = await termTab.boundingBox();
  await s.page.mouse.move(tb.x + tb.width / 2, tb.y + tb.height / 2);
  await s.page.mouse.down();
  // Lumino starts a drag after a few pixels; move in steps so it sees it.
  await s.page.mouse.move(tb.x + tb.width / 2 + 20, tb.y + tb.height / 2 + 20, { steps: 5 });
  const target = { x: dock.x + dock.width - 40, y: dock.y + dock.height / 2 };
  await s.page.mouse.move(target.x, target.y, { steps: 10 });
  await s.page.locator('.lm-DockPanel-overlay:not(.lm-mod-hidden)').waitFor();
  await s.page.mouse.up();
  // Both are visible now.
  await notebookPanel().waitFor();
  await s.page.locator('.jp-Terminal:not(.lm-mod-hidden)').waitFor();
  await firstCellResult().filter({ hasText: /^\s*2\s*$/ }).waitFor();
  await screenshot('04-notebook-and-terminal');
});

step('no uncaught page errors', [], noPageErrors);

step('notebookd exits on SIGTERM', [], serverExitsOnSIGTERM);
