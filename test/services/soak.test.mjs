// Soak: a Ferry kernel prints as fast as it can for 60 s while 30 websocket
// clients read slowly or not at all (loopback only). The server's memory
// must stay bounded (VmRSS under 200 MB, sampled from /proc) and every
// well-behaved client — a @jupyterlab/services KernelConnection that runs
// the cell and a raw legacy-protocol observer — must receive all the
// output or a rate-limit notice, with the cell's reply and idle status.
//
// FERRY_SOAK_SECONDS shortens or lengthens the flood (default 60);
// FERRY_SOAK_LAB_ARGS adds flags to `ferry lab` (space-separated), e.g.
// "--iopub-data-rate-limit=0 --iopub-msg-rate-limit=0 --websocket-queue-size=0"
// to see the server without its defences; FERRY_SOAK_REPORT names a file
// for the figures (JSON).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { KernelManager } from '@jupyterlab/services';
import WebSocket from 'ws';

import { HOOK, Server, waitFor } from './server.mjs';

const SECONDS = Number(process.env.FERRY_SOAK_SECONDS ?? 60);
const BAD_CLIENTS = 30;
const RSS_LIMIT_MB = 200;

let server;
let manager;

before(async () => {
  server = await Server.start({ args: (process.env.FERRY_SOAK_LAB_ARGS ?? '').split(' ').filter(Boolean) });
}, HOOK);

after(async () => {
  manager?.dispose();
  await server?.stop();
}, HOOK);

/** The server's resident memory in MB (VmRSS in /proc/<pid>/status). */
function rssMB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** A raw websocket to the kernel's channels. */
function channels(kernelId, { v1 = false, session = randomUUID() } = {}) {
  const url = `${server.wsUrl}api/kernels/${kernelId}/channels?session_id=${session}&token=${server.token}`;
  return new WebSocket(url, v1 ? ['v1.kernel.websocket.jupyter.org'] : []);
}

const opened = ws => new Promise((resolve, reject) => {
  ws.once('open', resolve);
  ws.once('error', reject);
});

/**
 * Collects the output of request msgId seen by one client: the numbered
 * lines the cell prints (in order), the server's notices, the statuses.
 */
class Output {
  constructor(name) {
    this.name = name;
    this.lines = [];
    this.notices = [];
    this.statuses = [];
    this.partial = '';
    this.outOfOrder = 0;
  }

  add(msg, msgId) {
    if (msg.parent_header?.msg_id !== msgId) {
      return;
    }
    const type = msg.header.msg_type;
    if (type === 'status') {
      this.statuses.push(msg.content.execution_state);
    } else if (type === 'stream') {
      const text = msg.content.text;
      if (msg.content.name === 'stderr' && !/^\d+ x/.test(text)) {
        this.notices.push(text);
        return;
      }
      const parts = (this.partial + text).split('\n');
      this.partial = parts.pop();
      for (const l of parts) {
        const n = Number(l.split(' ', 1)[0]);
        if (this.lines.length && n <= this.lines.at(-1)) {
          this.outOfOrder++;
        }
        this.lines.push(n);
      }
    }
  }

  /** Checks: all of the count lines, in order, or a rate-limit notice. */
  check(count) {
    assert.equal(this.outOfOrder, 0, `${this.name}: lines out of order`);
    const all = this.lines.length === count && this.lines.every((n, i) => n === i);
    const limited = this.notices.some(t => /IOPub (data|message) rate exceeded/.test(t));
    assert.ok(all || limited,
      `${this.name}: ${this.lines.length} of ${count} lines and no rate-limit notice (notices: ${JSON.stringify(this.notices)})`);
    assert.equal(this.statuses.at(-1), 'idle', `${this.name}: the cell did not end with idle`);
    return { lines: this.lines.length, notices: this.notices.length, all, limited };
  }
}

test(`${BAD_CLIENTS} slow or stalled clients during a ${SECONDS} s flood`, { timeout: (SECONDS + 180) * 1000 }, async t => {
  const pid = server.proc.pid;
  manager = new KernelManager({ serverSettings: server.settings() });
  const kernel = await manager.startNew({ name: 'ferry' });
  await kernel.info;
  const prelude = await kernel.requestExecute({ code: 'import (\n\t"fmt"\n\t"strings"\n\t"time"\n)' }).done;
  assert.equal(prelude.content.status, 'ok');

  // The bad clients: a third never read (paused from the start), a third
  // read 20 ms in every 500 ms, a third read one message at a time with a
  // pause after each; v1 and legacy protocols alternate.
  const bad = [];
  const timers = [];
  for (let i = 0; i < BAD_CLIENTS; i++) {
    const ws = channels(kernel.id, { v1: i % 2 === 0 });
    ws.on('error', () => {}); // a disconnected slow client is fine
    bad.push(ws);
  }
  await Promise.all(bad.map(opened));
  bad.forEach((ws, i) => {
    switch (i % 3) {
      case 0:
        ws.pause();
        break;
      case 1:
        ws.pause();
        timers.push(setInterval(() => {
          ws.resume();
          setTimeout(() => ws.pause(), 20);
        }, 500));
        break;
      case 2:
        ws.on('message', () => {
          ws.pause();
          setTimeout(() => ws.resume(), 50);
        });
        break;
    }
  });

  // A well-behaved raw client on the legacy protocol.
  const observer = channels(kernel.id);
  const observed = new Output('legacy observer');
  let msgId = '';
  const early = [];
  observer.on('message', (data, isBinary) => {
    if (isBinary) {
      return; // messages with buffers; the cell sends none
    }
    const msg = JSON.parse(data.toString());
    if (msgId) {
      observed.add(msg, msgId);
    } else {
      early.push(msg);
    }
  });
  await opened(observer);

  const samples = [];
  const sample = () => samples.push(rssMB(pid));
  sample();
  const rssBefore = samples[0];
  const sampler = setInterval(sample, 500);

  const code = [
    'soakLine := strings.Repeat("x", 200)',
    'soakN := 0',
    `for end := time.Now().Add(${SECONDS} * time.Second); time.Now().Before(end); soakN++ {`,
    '\tfmt.Println(soakN, soakLine)',
    '}',
    'soakN'
  ].join('\n');
  const runner = new Output('@jupyterlab/services client');
  const future = kernel.requestExecute({ code, stop_on_error: false });
  msgId = future.msg.header.msg_id;
  early.forEach(m => observed.add(m, msgId));
  let result = '';
  future.onIOPub = msg => {
    runner.add(msg, msgId);
    if (msg.header.msg_type === 'execute_result') {
      result = msg.content.data['text/plain'];
    }
  };
  const reply = await future.done;
  await waitFor(() => observed.statuses.at(-1) === 'idle', 'the observer to see the cell end', 60000);
  sample();
  clearInterval(sampler);
  const rssEnd = samples.at(-1);
  const rssMax = Math.max(...samples);

  assert.equal(reply.content.status, 'ok', JSON.stringify(reply.content));
  const count = Number(result);
  assert.ok(count > 0, `execute_result ${JSON.stringify(result)}`);
  const r1 = runner.check(count);
  const r2 = observed.check(count);

  // Replies keep flowing to a new client while the bad ones are still there.
  const again = await kernel.requestExecute({ code: '1+1' }).done;
  assert.equal(again.content.status, 'ok');

  const log = server.log();
  const slowWarnings = (log.match(/reads too slowly/g) ?? []).length;
  const report = {
    seconds: SECONDS, linesPrinted: count, badClients: BAD_CLIENTS,
    rssMB: { before: +rssBefore.toFixed(1), max: +rssMax.toFixed(1), end: +rssEnd.toFixed(1) },
    servicesClient: r1, legacyObserver: r2, slowClientLogLines: slowWarnings
  };
  t.diagnostic(JSON.stringify(report));
  if (process.env.FERRY_SOAK_REPORT) {
    fs.writeFileSync(process.env.FERRY_SOAK_REPORT, JSON.stringify(report, null, 2) + '\n');
  }
  assert.ok(rssMax < RSS_LIMIT_MB, `server RSS reached ${rssMax.toFixed(1)} MB (limit ${RSS_LIMIT_MB} MB): ${JSON.stringify(samples)}`);

  timers.forEach(clearInterval);
  for (const ws of bad) {
    ws.terminate();
  }
  observer.terminate();
  await kernel.shutdown();
  await sleep(100);
});
