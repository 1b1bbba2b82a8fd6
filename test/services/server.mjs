// Shared set-up for the @jupyterlab/services tests: a real `ferry lab`
// (notebookd) on a free loopback port, with a temporary notebook root, data
// dir, HOME/XDG dirs, runtime dir (kernel connection files) and a Jupyter
// prefix holding the Ferry kernelspec. JUPYTER_PATH also names
// /usr/share/jupyter, so Debian's ipykernel spec (python3) is found too.
//
// Environment:
//   FERRY_BIN  the ferry binary (default <repo>/bin/ferry, built with
//              `go build -tags duckdb_arrow -o bin/ ./cmd/ferry ./cmd/ferry-kernel` when missing)
//   FERRY_TEST_SERVER_LOG=1  copy the server's log to stderr

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { ServerConnection } from '@jupyterlab/services';
import WebSocket from 'ws';

// @jupyterlab/services logs every websocket it opens with console.debug.
console.debug = () => {};

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The kernelspecs every kernel test runs with, and what they report. */
export const KERNELS = [
  {
    name: 'ferry',
    language: 'go',
    // Ferry cells need their imports; the prelude runs after each start.
    prelude: 'import (\n\t"fmt"\n\t"time"\n)',
    define: 'probe := 40',
    probe: 'probe + 2',
    print: 'fmt.Println("hello from go")',
    printed: 'hello from go\n',
    bad: 'undefinedThing + 1',
    loops: ['for {\n}', 'time.Sleep(time.Hour)'],
    // Prints tick 0..n-1, one every 150 ms.
    ticker: n => `for i := 0; i < ${n}; i++ {\n\tfmt.Println("tick", i)\n\ttime.Sleep(150 * time.Millisecond)\n}`
  },
  {
    name: 'python3',
    language: 'python',
    prelude: 'import time',
    define: 'probe = 40',
    probe: 'probe + 2',
    print: 'print("hello from python")',
    printed: 'hello from python\n',
    bad: '1/0',
    loops: ['while True:\n    pass', 'time.sleep(3600)'],
    ticker: n => `for i in range(${n}):\n    print("tick", i, flush=True)\n    time.sleep(0.15)`
  }
];

export const PROTOCOLS = [
  { name: 'v1', subprotocol: 'v1.kernel.websocket.jupyter.org' },
  { name: 'legacy', subprotocol: '' }
];

/** A free TCP port on 127.0.0.1. */
async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function ferryBin() {
  if (process.env.FERRY_BIN) {
    return path.resolve(process.env.FERRY_BIN);
  }
  const bin = path.join(REPO, 'bin', 'ferry');
  if (!fs.existsSync(bin)) {
    const r = spawnSync('go', ['build', '-tags', 'duckdb_arrow', '-o', path.dirname(bin) + '/', './cmd/ferry', './cmd/ferry-kernel'], { cwd: REPO, stdio: 'inherit' });
    if (r.status !== 0) {
      throw new Error('go build -tags duckdb_arrow -o bin/ ./cmd/ferry ./cmd/ferry-kernel failed; fix the build or set FERRY_BIN');
    }
  }
  return bin;
}

/** The pids of live processes whose command line contains needle. */
export function processesWith(needle) {
  const pids = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) {
      continue;
    }
    let cmd;
    try {
      cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (cmd.includes(needle)) {
      pids.push(Number(d));
    }
  }
  return pids;
}

/**
 * Makes a WebSocket class that records every socket it makes in `sockets`;
 * with legacy true it offers no subprotocol, so the server must speak the
 * legacy JSON protocol. Each socket counts the frames it receives by kind.
 */
export function recordingWebSocket(sockets, { legacy = false } = {}) {
  return class RecordingWebSocket extends WebSocket {
    constructor(url, protocols, options) {
      super(url, legacy ? [] : protocols, options);
      // Frames received, by kind: v1 sends only binary frames, legacy JSON
      // sends text frames (binary only for messages with buffers).
      this.frames = { text: 0, binary: 0 };
      this.on('message', (_, isBinary) => { this.frames[isBinary ? 'binary' : 'text']++; });
      sockets.push(this);
    }
  };
}

/**
 * A running notebookd. Call `await Server.start()`, then `await server.stop()`.
 */
export class Server {
  static async start({ args = [] } = {}) {
    const s = new Server();
    await s._start(args);
    return s;
  }

  /** args: more flags for `ferry lab`. */
  async _start(args) {
    this.bin = ferryBin();
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-services-'));
    this.root = path.join(this.tmp, 'root');
    this.runtime = path.join(this.tmp, 'runtime');
    const home = path.join(this.tmp, 'home');
    const prefix = path.join(this.tmp, 'prefix');
    for (const d of [this.root, this.runtime, home]) {
      fs.mkdirSync(d, { recursive: true });
    }
    const env = {
      ...process.env,
      HOME: home,
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      XDG_STATE_HOME: path.join(home, '.local', 'state'),
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_RUNTIME_DIR: this.runtime,
      JUPYTER_PATH: `${path.join(prefix, 'share', 'jupyter')}:/usr/share/jupyter`,
      IPYTHONDIR: path.join(home, '.ipython')
    };
    delete env.JUPYTER_DATA_DIR;
    delete env.FERRY_TOKEN;
    const inst = spawnSync(this.bin, ['kernelspec', 'install', '--prefix', prefix], { env, encoding: 'utf8' });
    if (inst.status !== 0) {
      throw new Error(`ferry kernelspec install: ${inst.stderr}`);
    }
    this.token = randomBytes(24).toString('hex');
    this.logFile = path.join(this.tmp, 'server.log');
    // Another process may take the port between freePort and listen; ferry
    // lab then moves on to the next port, so read the URL it prints instead
    // of trusting the port asked for.
    this.port = await freePort();
    const log = fs.openSync(this.logFile, 'a');
    this.proc = spawn(
      this.bin,
      ['lab', '--ip', '127.0.0.1', '--port', String(this.port), '--token', this.token, '--root', this.root,
        '--data-dir', path.join(this.tmp, 'data'), '--no-browser', '--log-level', 'debug', ...args],
      { env, cwd: this.root, stdio: ['ignore', log, log] }
    );
    fs.closeSync(log);
    this.exited = new Promise(resolve => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    this.baseUrl = await this._waitReady();
    this.wsUrl = 'ws' + this.baseUrl.slice(4);
  }

  async _waitReady() {
    let alive = true;
    void this.exited.then(() => { alive = false; });
    for (let i = 0; i < 600 && alive; i++) {
      // The server logs the URL it listens on; its port may differ from the one asked.
      const m = fs.readFileSync(this.logFile, 'utf8').match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) {
        const url = `http://127.0.0.1:${m[1]}/`;
        try {
          const r = await fetch(url + 'api/status', { headers: { Authorization: `token ${this.token}` } });
          if (r.ok) {
            return url;
          }
        } catch {
          // not listening yet
        }
      }
      await sleep(50);
    }
    throw new Error(`ferry lab did not answer GET /api/status (alive: ${alive}); its log:\n${this.log()}`);
  }

  log() {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** ServerConnection settings for @jupyterlab/services. */
  settings({ WebSocket: WS = WebSocket } = {}) {
    return ServerConnection.makeSettings({
      baseUrl: this.baseUrl,
      wsUrl: this.wsUrl,
      token: this.token,
      appendToken: true,
      WebSocket: WS,
      fetch: globalThis.fetch,
      Request: globalThis.Request,
      Headers: globalThis.Headers
    });
  }

  /** fetch with the token, for what the client library does not expose. */
  async api(method, p, body) {
    const init = { method, headers: { Authorization: `token ${this.token}` } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
    return fetch(this.baseUrl + p, init);
  }

  /** The pids of the processes of kernel id (its connection file names it). */
  kernelPids(id) {
    return processesWith(`kernel-${id}.json`);
  }

  /**
   * SIGTERM the server, wait for it to exit, and check that no kernel
   * process (any process naming the temp dir) is left; throws otherwise.
   */
  async stop() {
    if (!this.proc) {
      return;
    }
    let problem = '';
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
    }
    const res = await Promise.race([this.exited, sleep(20000, null, { ref: false })]);
    if (res === null) {
      problem = 'ferry lab did not exit within 20 s of SIGTERM';
      this.proc.kill('SIGKILL');
      await this.exited;
    }
    const left = processesWith(this.tmp);
    if (left.length) {
      problem += `${problem ? '; ' : ''}processes left after the server exited: ${left.join(', ')}`;
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    if (process.env.FERRY_TEST_SERVER_LOG || problem) {
      process.stderr.write(`--- ferry lab log (${this.tmp}) ---\n${this.log()}\n`);
    }
    this.proc = null;
    fs.rmSync(this.tmp, { recursive: true, force: true });
    if (problem) {
      throw new Error(problem);
    }
  }
}

/** Waits until pred() is true, polling; fails with what after timeoutMs. */
export async function waitFor(pred, what, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) {
      return v;
    }
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(25);
  }
}

/**
 * Executes code on a KernelConnection and collects what came back:
 * { reply, streams (text by name), results (execute_result text/plain),
 *   errors (error content), statuses }.
 */
export async function execute(kernel, code, { onIOPub } = {}) {
  const out = { streams: {}, results: [], errors: [], statuses: [], iopub: [] };
  const future = kernel.requestExecute({ code, stop_on_error: false });
  future.onIOPub = msg => {
    out.iopub.push(msg);
    const c = msg.content;
    switch (msg.header.msg_type) {
      case 'stream':
        out.streams[c.name] = (out.streams[c.name] ?? '') + c.text;
        break;
      case 'execute_result':
        out.results.push(c.data['text/plain']);
        break;
      case 'error':
        out.errors.push(c);
        break;
      case 'status':
        out.statuses.push(c.execution_state);
        break;
    }
    onIOPub?.(msg);
  };
  out.future = future;
  out.reply = await future.done;
  return out;
}

/** Executes code and checks that the reply's status is ok. */
export async function ok(kernel, code) {
  const out = await execute(kernel, code);
  assert.equal(out.reply.content.status, 'ok', `${code}: ${JSON.stringify(out.reply.content)}`);
  return out;
}

/** Options for before/after hooks: a hang fails instead of blocking the run. */
export const HOOK = { timeout: 90000 };
