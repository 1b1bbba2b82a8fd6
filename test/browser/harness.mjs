// Shared setup of the browser tests: notebookd (`ferry lab`) on a temporary
// root with the ferry kernelspec, Debian's Chromium through playwright-core,
// sequential steps that save a screenshot and the main area's HTML when they
// fail, and the locators and helpers the tests use.
//
// A test file calls setup() once at its top level, then declares its steps
// with step(). Each test file runs in its own node process (run.sh), so the
// state s belongs to one test file.
//
// Environment: FERRY_BIN (the ferry binary), FERRY_LAB_ASSETS (the built
// JupyterLab app, from labextension/build.sh), FERRY_CHROMIUM (default
// /usr/bin/chromium), FERRY_TEST_ARTIFACTS, FERRY_BROWSER_CPU_THROTTLE (slow
// the page's CPU N times), FERRY_BROWSER_KEEP_ARTIFACTS (set by run.sh, which
// empties the artifacts folder once for all test files).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const artifacts = path.join(
  process.env.FERRY_TEST_ARTIFACTS || path.join(repo, 'test-artifacts'),
  'browser'
);
const chromiumPath = process.env.FERRY_CHROMIUM || '/usr/bin/chromium';

// Generous: the first JupyterLab load on a busy 2-core machine is slow.
export const LOAD_TIMEOUT = 90_000;
export const STEP_TIMEOUT = 60_000;
export const TEST_TIMEOUT = 240_000;

// Shared state of the sequential steps of one test file.
export const s = {
  prefix: '', // of this test file's artifact names
  tmp: '',
  server: null, // ChildProcess of ferry lab
  serverExit: null, // Promise<{code, signal}>
  serverLog: '',
  base: '', // http://127.0.0.1:PORT
  token: '',
  kernelDisplayName: '',
  context: null,
  page: null,
  console: [], // every console message, as text lines
  consoleErrors: [],
  pageErrors: [],
  termFrames: [], // text of frames received on terminal websockets
  failed: new Set(), // names of failed steps
};

function requireEnv(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: run this test with \`make browser-test\` or test/browser/run.sh`
    );
  }
  return v;
}

// freePort asks the kernel for a free loopback port.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// waitFor polls cond until it returns a truthy value and returns that value;
// it fails after timeout with a message naming what was awaited.
export async function waitFor(what, cond, { timeout = STEP_TIMEOUT, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let lastErr;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeout / 1000} s waiting for ${what}` +
          (lastErr ? `: last error: ${lastErr.message}` : '')
      );
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

// api calls notebookd's REST API with the token.
export async function api(method, p, body) {
  const res = await fetch(s.base + p, {
    method,
    headers: {
      Authorization: `token ${s.token}`,
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
  }
  return text ? JSON.parse(text) : null;
}

// processesUnder lists this user's processes whose command line or working
// directory names dir.
function processesUnder(dir) {
  const found = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent) || Number(ent) === process.pid) continue;
    let cmd = '';
    let cwd = '';
    try {
      cmd = fs.readFileSync(`/proc/${ent}/cmdline`, 'utf8').split('\0').join(' ').trim();
      cwd = fs.readlinkSync(`/proc/${ent}/cwd`);
    } catch {
      continue; // exited, or not ours
    }
    if (cmd === '') continue; // a zombie
    if (cmd.includes(dir) || cwd.startsWith(dir)) found.push({ pid: Number(ent), cmd, cwd });
  }
  return found;
}

// screenshot saves the page as <artifacts>/<prefix><name>.png.
export async function screenshot(name) {
  if (!s.page || s.page.isClosed()) return;
  const file = path.join(artifacts, `${s.prefix}${name}.png`);
  try {
    await s.page.screenshot({ path: file });
  } catch (err) {
    console.error(`screenshot ${file}: ${err.message}`);
  }
}

// saveDOM writes the main area's HTML, for diagnosing a failed step.
async function saveDOM(name) {
  if (!s.page || s.page.isClosed()) return;
  try {
    const html = await s.page.evaluate(
      () => document.getElementById('jp-main-dock-panel')?.outerHTML ?? document.documentElement.outerHTML
    );
    fs.writeFileSync(path.join(artifacts, `${s.prefix}${name}.html`), html);
  } catch (err) {
    console.error(`save DOM ${name}: ${err.message}`);
  }
}

// step runs one sequential step as a node:test test; it is skipped when a
// step it depends on failed, and on failure it saves a screenshot and the
// main area's HTML.
export function step(name, deps, fn) {
  test(name, { timeout: TEST_TIMEOUT }, async (t) => {
    const broken = deps.filter((d) => s.failed.has(d));
    if (broken.length) {
      s.failed.add(name);
      t.skip(`depends on failed step(s): ${broken.join(', ')}`);
      return;
    }
    try {
      await fn(t);
    } catch (err) {
      s.failed.add(name);
      const slug = `failure-${name.replace(/[^a-z0-9]+/gi, '-')}`;
      await screenshot(slug);
      await saveDOM(slug);
      throw err;
    }
  });
}

// notebookPanel locates the notebook panel shown in the main area.
export function notebookPanel() {
  return s.page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)').first();
}

// tab locates the main-area tab whose label contains label.
export function tab(label) {
  return s.page
    .locator('#jp-main-dock-panel .lm-TabBar-tab')
    .filter({ has: s.page.locator('.lm-TabBar-tabLabel', { hasText: label }) });
}

// cells locates the visible cells of the current notebook. JupyterLab's
// default 'contentVisibility' windowing can leave a zero-height, transparent
// cell node behind after a layout restore; it is not part of the notebook.
export function cells() {
  return notebookPanel().locator('.jp-Cell').filter({ visible: true });
}

export async function waitKernelIdle() {
  const panel = notebookPanel();
  await panel
    .locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
    .waitFor({ timeout: STEP_TIMEOUT });
}

// setup registers the hooks that start notebookd and Chromium before the
// steps and stop them (and whatever they left behind) after them. Artifact
// names of this test file start with prefix; viewport is the page's size;
// onPage, if given, is called with the page before it opens anything (to
// add listeners).
export function setup({ prefix = '', viewport = { width: 1440, height: 900 }, onPage } = {}) {
  s.prefix = prefix;
  s.viewport = viewport;
  before(async () => {
    await start();
    if (onPage) await onPage(s.page);
  });
  after(stop);
}

// cleanArtifacts removes what an earlier run of this test file left: with
// an empty prefix, the whole folder, as a test run alone always did; else
// the files whose names start with prefix.
function cleanArtifacts() {
  if (process.env.FERRY_BROWSER_KEEP_ARTIFACTS) {
    fs.mkdirSync(artifacts, { recursive: true });
    return;
  }
  if (!s.prefix) {
    fs.rmSync(artifacts, { recursive: true, force: true });
  } else if (fs.existsSync(artifacts)) {
    for (const f of fs.readdirSync(artifacts)) {
      if (f.startsWith(s.prefix)) fs.rmSync(path.join(artifacts, f), { recursive: true, force: true });
    }
  }
  fs.mkdirSync(artifacts, { recursive: true });
}

async function start() {
  const ferry = requireEnv('FERRY_BIN');
  const assets = requireEnv('FERRY_LAB_ASSETS');
  assert.ok(fs.existsSync(path.join(assets, 'static', 'index.html')),
    `FERRY_LAB_ASSETS=${assets} has no static/index.html: build it with bash labextension/build.sh`);
  assert.ok(fs.existsSync(chromiumPath),
    `${chromiumPath} not found: install Debian's chromium (apt-get install chromium) or set FERRY_CHROMIUM`);

  cleanArtifacts();

  s.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-browser-'));
  const d = (...p) => path.join(s.tmp, ...p);
  for (const dir of ['root', 'data', 'home', 'config', 'cache', 'xdgdata', 'profile']) {
    fs.mkdirSync(d(dir), { recursive: true });
  }
  fs.mkdirSync(d('runtime'), { mode: 0o700 });

  // No "Would you like to get notified about Jupyter news?" toast: it
  // covers the screenshots (and would fetch from the internet). notebookd
  // serves user settings from <data-dir>/lab/user-settings/.
  const notif = d('data', 'lab', 'user-settings', '@jupyterlab', 'apputils-extension');
  fs.mkdirSync(notif, { recursive: true });
  fs.writeFileSync(path.join(notif, 'notification.jupyterlab-settings'),
    JSON.stringify({ fetchNews: 'false', checkForUpdates: false }, null, 2));

  execFileSync(ferry, ['kernelspec', 'install', '--prefix', d('prefix')], { stdio: 'pipe' });
  const spec = JSON.parse(fs.readFileSync(d('prefix', 'share', 'jupyter', 'kernels', 'ferry', 'kernel.json'), 'utf8'));
  s.kernelDisplayName = spec.display_name;
  assert.match(s.kernelDisplayName, /\bGo\b/, 'the ferry kernelspec display name names Go');

  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith('FERRY_') || k.startsWith('JUPYTER') || k.startsWith('XDG_')) delete env[k];
  }
  Object.assign(env, {
    HOME: d('home'),
    XDG_CONFIG_HOME: d('config'),
    XDG_CACHE_HOME: d('cache'),
    XDG_DATA_HOME: d('xdgdata'),
    XDG_RUNTIME_DIR: d('runtime'),
    JUPYTER_PATH: d('prefix', 'share', 'jupyter'),
    SHELL: '/bin/bash',
    TERM: 'xterm-256color',
  });
  if (process.env.GOCACHE) env.GOCACHE = process.env.GOCACHE;

  s.token = randomBytes(24).toString('hex');
  const port = await freePort();
  s.server = spawn(ferry, [
    'lab', '--ip', '127.0.0.1', '--port', String(port), '--token', s.token,
    '--root', d('root'), '--data-dir', d('data'), '--lab-assets', assets, '--no-browser',
  ], { env, cwd: d('root'), stdio: ['ignore', 'pipe', 'pipe'] });
  s.serverExit = new Promise((resolve) =>
    s.server.on('exit', (code, signal) => resolve({ code, signal }))
  );
  const onOut = (b) => { s.serverLog += b.toString(); };
  s.server.stdout.on('data', onOut);
  s.server.stderr.on('data', onOut);

  // The server tries the next ports when one is taken: read the one it took.
  let exited = null;
  s.serverExit.then((e) => { exited = e; });
  const url = await waitFor('ferry lab to print its URL', () => {
    if (exited) throw new Error(`ferry lab exited (${JSON.stringify(exited)}):\n${s.serverLog}`);
    return s.serverLog.match(/http:\/\/127\.0\.0\.1:(\d+)\/lab\?token=/);
  }, { timeout: LOAD_TIMEOUT });
  s.base = `http://127.0.0.1:${url[1]}`;
  await waitFor('GET /api/status', async () => {
    if (exited) throw new Error(`ferry lab exited: ${s.serverLog}`);
    return (await api('GET', '/api/status')) !== null;
  }, { timeout: LOAD_TIMEOUT });

  s.context = await chromium.launchPersistentContext(d('profile'), {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
    ],
    viewport: s.viewport,
  });
  s.context.setDefaultTimeout(STEP_TIMEOUT);
  s.page = s.context.pages()[0] || (await s.context.newPage());
  // FERRY_BROWSER_CPU_THROTTLE=N slows the page's CPU N times, to reproduce
  // a loaded CI machine.
  const throttle = Number(process.env.FERRY_BROWSER_CPU_THROTTLE || 0);
  if (throttle > 1) {
    const cdp = await s.context.newCDPSession(s.page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
  }
  s.page.on('console', (m) => {
    const loc = m.location();
    const line = `[${m.type()}] ${m.text()}${loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`;
    s.console.push(line);
    if (m.type() === 'error') s.consoleErrors.push(line);
  });
  s.page.on('pageerror', (err) => {
    s.pageErrors.push(err.stack || String(err));
    s.console.push(`[pageerror] ${err.stack || err}`);
  });
  s.page.on('websocket', (ws) => {
    if (!ws.url().includes('/terminals/websocket/')) return;
    ws.on('framereceived', (f) => {
      s.termFrames.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8'));
    });
  });
}

async function stop() {
  const failed = s.failed.size > 0;
  if (failed) await screenshot('failure-final');
  try { await s.context?.close(); } catch { /* already closed */ }
  // Only reached with the server up when an earlier failure skipped the
  // SIGTERM step: stop it, then anything it left behind.
  if (s.server && s.server.exitCode === null && s.server.signalCode === null) {
    s.server.kill('SIGTERM');
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 30_000).unref());
    if (!(await Promise.race([s.serverExit, timeout]))) {
      s.server.kill('SIGKILL');
      await s.serverExit;
    }
  }
  if (s.tmp) {
    for (const p of processesUnder(s.tmp)) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  if (fs.existsSync(artifacts)) {
    fs.writeFileSync(path.join(artifacts, `${s.prefix}console.log`), s.console.join('\n') + '\n');
    fs.writeFileSync(path.join(artifacts, `${s.prefix}server.log`), s.serverLog);
    if (s.termFrames.length) {
      fs.writeFileSync(path.join(artifacts, `${s.prefix}terminal-frames.json`), JSON.stringify(s.termFrames, null, 1));
    }
  }
  if (s.tmp) fs.rmSync(s.tmp, { recursive: true, force: true });
}

// openLab opens /lab with the token and waits for the launcher.
export async function openLab() {
  await s.page.goto(`${s.base}/lab?token=${s.token}`, { timeout: LOAD_TIMEOUT });
  await s.page.locator('.jp-Launcher').waitFor({ timeout: LOAD_TIMEOUT });
  // The page authenticates with the token notebookd put in page_config.
  const cfg = await s.page.evaluate(() =>
    JSON.parse(document.getElementById('jupyter-config-data').textContent)
  );
  assert.equal(cfg.token, s.token, 'page_config carries the token');
}

// createGoNotebook clicks the launcher's Go notebook card, waits for the
// kernel to be idle and records the untitled notebook's path in s.untitled.
export async function createGoNotebook() {
  const card = s.page.locator(
    `.jp-Launcher .jp-LauncherCard[data-category="Notebook"][title="${s.kernelDisplayName}"]`
  );
  await card.click();
  const panel = notebookPanel();
  await panel.waitFor();
  await panel
    .locator('.jp-Toolbar .jp-KernelName, .jp-Toolbar-kernelName')
    .filter({ hasText: s.kernelDisplayName })
    .first()
    .waitFor();
  await waitKernelIdle();
  const sessions = await api('GET', '/api/sessions');
  const nb = sessions.filter((x) => x.type === 'notebook' && x.kernel?.name === 'ferry');
  assert.equal(nb.length, 1, `one notebook session with the ferry kernel: ${JSON.stringify(sessions)}`);
  assert.match(nb[0].path, /^Untitled.*\.ipynb$/);
  s.untitled = nb[0].path;
}

// saveAs saves the current, untitled notebook with Ctrl+S, names it name in
// the rename dialog JupyterLab shows on the first save, and waits until its
// tab is clean.
export async function saveAs(name) {
  // Clicking a cell's prompt makes the notebook the current widget (the one
  // docmanager:save saves) in command mode; then Ctrl+S.
  await cells().first().locator('.jp-InputPrompt').click();
  await notebookPanel().locator('.jp-Notebook.jp-mod-commandMode').waitFor();
  await s.page.keyboard.press('Control+s');
  // JupyterLab asks to rename an untitled notebook on its first save.
  const dialog = s.page.locator('.jp-Dialog');
  const header = dialog.locator('.jp-Dialog-header');
  await header.waitFor();
  const title = (await header.innerText()).trim();
  if (title !== 'Rename file') {
    const body = await dialog.locator('.jp-Dialog-body').innerText().catch(() => '');
    assert.fail(`Ctrl+S showed the dialog "${title}" (${body.trim()}), not "Rename file"`);
  }
  const input = dialog.locator('input.jp-mod-styled[type="text"], .jp-Dialog-body input:not([type="checkbox"])').first();
  await input.fill(name);
  await dialog.locator('button.jp-mod-accept').click();
  await dialog.waitFor({ state: 'detached' });

  await tab(name).waitFor();
  await waitFor(`the ${name} tab to be clean (saved)`, async () =>
    !(await tab(name).first().evaluate((el) => el.classList.contains('jp-mod-dirty')))
  );
}

// reloadAndOpen reloads the page and shows the notebook name: restored
// from the workspace when JupyterLab saved its layout there in time, else
// opened from the file browser.
export async function reloadAndOpen(t, name) {
  // JupyterLab saves its layout to the workspace (persisted by notebookd
  // under --data-dir); wait until it names the notebook, so the reload
  // restores it.
  let restored = true;
  try {
    await waitFor(`workspace "default" to hold notebook:${name}`, async () => {
      const ws = await api('GET', '/lab/api/workspaces/default');
      return Object.keys(ws.data ?? {}).includes(`notebook:${name}`);
    }, { timeout: 30_000 });
  } catch (err) {
    restored = false;
    t.diagnostic(`${err.message}; opening the notebook from the file browser instead`);
  }
  await s.page.reload({ timeout: LOAD_TIMEOUT });
  if (restored) {
    await tab(name).waitFor({ timeout: LOAD_TIMEOUT });
    await tab(name).first().click();
  } else {
    await s.page.locator('#jp-main-dock-panel').waitFor({ timeout: LOAD_TIMEOUT });
    const item = s.page.locator(`.jp-DirListing-item[title^="Name: ${name}"]`);
    await item.dblclick({ timeout: LOAD_TIMEOUT });
    await tab(name).waitFor();
  }
}

// Uncaught errors of JupyterLab 4.6 itself, seen with any server, that the
// tests tolerate. Keep each match narrow and say why it is not ours.
const UPSTREAM_PAGE_ERRORS = [
  {
    // @jupyterlab/debugger-extension connects Debugger.Handler.executionDone
    // (every execute_reply) to service.displayModules, which rejects when
    // the kernel has no debug session: every kernel whose kernel_info_reply
    // says debugger: false, like Ferry's, gets one per execution.
    why: 'JupyterLab debugger: displayModules without a debug session',
    test: (e) => /^Error: No active debugger session/.test(e) && /displayModules/.test(e),
  },
  {
    // @jupyterlab/notebook StaticNotebook._setupContentVisibilityObserver:
    // a cells.changed handler (requestAnimationFrame) calls
    // _contentVisibilityObserver.observe after onBeforeDetach set the
    // observer to null (the layout restore detaches and re-attaches).
    why: 'JupyterLab notebook: content-visibility observer used after detach',
    test: (e) => /^TypeError: Cannot read properties of null \(reading 'observe'\)/.test(e),
  },
];

// noPageErrors fails on uncaught page errors other than the tolerated
// upstream ones.
export async function noPageErrors(t) {
  const ours = [];
  for (const e of s.pageErrors) {
    const known = UPSTREAM_PAGE_ERRORS.find((k) => k.test(e));
    if (known) t.diagnostic(`tolerated upstream JupyterLab error (${known.why}): ${e.split('\n')[0]}`);
    else ours.push(e);
  }
  assert.deepEqual(ours, [], `uncaught page errors:\n${ours.join('\n---\n')}`);
}

// serverExitsOnSIGTERM closes the browser, sends ferry lab SIGTERM and
// checks that it exits and that no kernel or terminal outlives it.
export async function serverExitsOnSIGTERM() {
  try { await s.context?.close(); } catch { /* already closed */ }
  s.context = null;
  s.page = null;
  assert.ok(s.server.exitCode === null && s.server.signalCode === null, 'ferry lab is still running before SIGTERM');
  s.server.kill('SIGTERM');
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 30_000).unref());
  const exit = await Promise.race([s.serverExit, timeout]);
  assert.ok(exit, `ferry lab did not exit within 30 s of SIGTERM:\n${s.serverLog.slice(-2000)}`);
  assert.ok(exit.code === 0 || exit.signal === 'SIGTERM',
    `ferry lab exit after SIGTERM: ${JSON.stringify(exit)}`);
  // Kernels (their connection files are under tmp) and terminal shells
  // (their working directory is under tmp) went down with the server.
  const leaked = processesUnder(s.tmp);
  for (const p of leaked) {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  assert.deepEqual(leaked, [], 'processes of kernels or terminals outlived ferry lab');
  if (s.consoleErrors.length) {
    console.log(`browser console errors (not failures; see ${path.join(artifacts, `${s.prefix}console.log`)}):\n  ${s.consoleErrors.join('\n  ')}`);
  }
}

export function outputArea(i) {
  return cells().nth(i).locator('.jp-Cell-outputArea');
}

export function prompt(i) {
  return cells().nth(i).locator('.jp-InputPrompt');
}

// editorText returns the text of cell i's editor, a line per .cm-line.
export async function editorText(i) {
  return cells().nth(i).locator('.cm-content').evaluate((el) =>
    Array.from(el.querySelectorAll('.cm-line'), (l) => l.textContent).join('\n')
  );
}

// typeCell enters src into cell i (the last, empty cell) and checks that
// the editor holds exactly src. insertText inserts the text as one input, so
// the editor neither auto-indents nor closes brackets.
export async function typeCell(i, src) {
  await waitFor(`cell ${i + 1} to exist`, async () => (await cells().count()) > i);
  await cells().nth(i).locator('.cm-content').click();
  await s.page.keyboard.insertText(src);
  await waitFor(`cell ${i + 1} to hold its source`, async () => (await editorText(i)) === src)
    .catch(async (err) => {
      throw new Error(`${err.message}\ngot:\n${await editorText(i)}\nwant:\n${src}`);
    });
}

// runCell types src into cell i, runs it with Shift+Enter and, unless
// wait is false, waits until it has finished (its prompt shows a count).
export async function runCell(i, src, { wait = true } = {}) {
  await typeCell(i, src);
  await s.page.keyboard.press('Shift+Enter');
  if (wait) await waitCellDone(i);
}

export async function waitCellDone(i) {
  await waitFor(`cell ${i + 1} to finish (its prompt shows an execution count)`, async () =>
    /^\[\d+\]:?$/.test((await prompt(i).innerText()).trim())
  );
}

// noWidgetErrors fails when a widget view could not be shown.
export async function noWidgetErrors() {
  const text = await notebookPanel().innerText();
  for (const bad of ['Error displaying widget', 'model not found', 'Could not create a model', 'Could not create a view']) {
    assert.ok(!text.includes(bad), `the notebook shows "${bad}":\n${text}`);
  }
}
