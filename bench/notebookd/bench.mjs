// notebookd vs jupyter-server, measured with the same Node client
// (@jupyterlab/services with WebSocket from ws, as JupyterLab talks to a
// server). bench/notebookd/run.sh starts the servers and runs this with
// --config; see that script for the usage.
//
// Measures, per server and per kernel, in rounds that alternate the
// servers so machine noise hits both:
//   GET /api/contents/small.ipynb   keep-alive http.Agent, p50 / p99
//   kernel start                    POST /api/kernels -> kernel_info_reply
//                                   over the websocket (KernelConnection.info)
//   `1+1` execute round trip        requestExecute -> execute_reply, and ->
//                                   status idle, p50 / p99
//   direct ZeroMQ round trip        the same kernelspec with no server
//                                   (zmqrtt, a Go client: ./zmqrtt)
//   Go websocket round trip         zmqrtt -ws on each server's kernel: the
//                                   server's own cost without the Node
//                                   client's
//   server RSS                      VmRSS of the server process (kernels
//                                   not counted) after start, after the run
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

// @jupyterlab/services logs connection events with console.log; stdout is
// the table.
const print = s => process.stdout.write(s + '\n');
console.log = console.debug = console.info = () => {};

const require = createRequire(import.meta.url);
const { ServerConnection, KernelAPI, KernelConnection } = require('@jupyterlab/services');
const { WebSocket } = require('ws');

const GOALS = { getP50: 1.0, overhead: 0.3, rssMB: 50 };

const { values: args } = parseArgs({
  options: {
    config: { type: 'string' },
    write: { type: 'string' },
    rounds: { type: 'string', default: '20' },
    executes: { type: 'string', default: '50' }, // per round, per server and kernel
    gets: { type: 'string', default: '50' }, // per round, per server
    starts: { type: 'string', default: '5' }, // per server and kernel
    warmup: { type: 'string', default: '20' },
    only: { type: 'string' } // a kernel name: measure that kernel only
  }
});
const N = {
  rounds: +args.rounds,
  executes: +args.executes,
  gets: +args.gets,
  starts: +args.starts,
  warmup: +args.warmup
};
for (const [k, v] of Object.entries(N)) {
  if (!(Number.isInteger(v) && v >= (k === 'warmup' ? 0 : 1))) {
    throw new Error(`--${k} ${args[k]}: want a positive whole number`);
  }
}
if (!args.config) throw new Error('--config is required (bench/notebookd/run.sh writes it)');
const cfg = JSON.parse(fs.readFileSync(args.config, 'utf8'));
if (args.only) {
  if (args.write) throw new Error('--only and --write: the document needs every kernel; drop one of them');
  cfg.kernels = cfg.kernels.filter(k => k.name === args.only);
  if (!cfg.kernels.length) throw new Error(`--only ${args.only}: no such kernel; use ferry or python3`);
}

const log = (...a) => console.error('  ', ...a);

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what}: no answer in ${ms / 1000} s`)), ms);
    })
  ]).finally(() => clearTimeout(t));
}

function proc(pid) {
  const out = {};
  try {
    for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
      const m = /^(VmRSS|VmHWM|RssAnon):\s+(\d+) kB/.exec(line);
      if (m) out[m[1]] = +m[2] / 1024;
    }
  } catch {
    // gone
  }
  return out;
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  const k = ((s.length - 1) * p) / 100;
  const lo = Math.floor(k);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (k - lo);
}
const median = xs => pct(xs, 50);

// --- servers -------------------------------------------------------------

class Server {
  constructor(c) {
    Object.assign(this, c); // name, label, url, token, pid
    this.settings = ServerConnection.makeSettings({
      baseUrl: c.url,
      wsUrl: c.url.replace(/^http/, 'ws'),
      token: c.token,
      appendToken: true,
      WebSocket,
      fetch: globalThis.fetch
    });
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.getMs = [];
    this.rss = {};
  }

  // GET path over the keep-alive connection; [ms, status, body].
  get(p) {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = http.get(
        this.url + p,
        { agent: this.agent, headers: { Authorization: `token ${this.token}` } },
        res => {
          const chunks = [];
          res.on('data', c => chunks.push(c));
          res.on('end', () => resolve([performance.now() - t0, res.statusCode, chunks]));
          res.on('error', reject);
        }
      );
      req.on('error', reject);
    });
  }

  async checkGet(p) {
    const [, status, chunks] = await this.get(p);
    const body = Buffer.concat(chunks).toString();
    if (status !== 200) {
      throw new Error(`${this.label}: GET ${p}: HTTP ${status}: ${body.slice(0, 300)}`);
    }
    const nb = JSON.parse(body);
    if (nb.type !== 'notebook' || !nb.content || !(nb.content.cells.length > 0)) {
      throw new Error(`${this.label}: GET ${p}: not a notebook model: ${body.slice(0, 300)}`);
    }
  }

  async gets(p, n, keep) {
    for (let i = 0; i < n; i++) {
      const [ms, status] = await this.get(p);
      if (status !== 200) throw new Error(`${this.label}: GET ${p}: HTTP ${status}`);
      if (keep) this.getMs.push(ms);
    }
  }
}

// --- kernels through a server ---------------------------------------------

const INFO_TIMEOUT_MS = 30000;

// Starts a kernel and waits for its kernel_info_reply over the websocket.
// A start whose reply does not come in INFO_TIMEOUT_MS is counted in
// c.startFails, its kernel shut down, and the start tried again (3 tries).
async function startKernel(server, name, c) {
  for (let attempt = 1; ; attempt++) {
    const t0 = performance.now();
    const model = await withTimeout(KernelAPI.startNew({ name }, server.settings), 60000, `${server.label}: start ${name}`);
    const kernel = new KernelConnection({ model, serverSettings: server.settings, handleComms: false });
    try {
      await withTimeout(kernel.info, INFO_TIMEOUT_MS, `${server.label}: ${name} kernel_info_reply`);
      return { kernel, ms: performance.now() - t0 };
    } catch (e) {
      c.startFails = (c.startFails ?? 0) + 1;
      log(`warning: ${e.message} (kernel ${model.id}, status ${kernel.status}, connection ${kernel.connectionStatus})`);
      await stopKernel(server, kernel);
      if (attempt === 3) throw e;
    }
  }
}

async function stopKernel(server, kernel) {
  try {
    await withTimeout(kernel.shutdown(), 30000, `${server.label}: shut down ${kernel.name}`);
  } catch (e) {
    log(`warning: ${e.message}`);
  }
  kernel.dispose();
}

// One `1+1`: [ms to execute_reply, ms to status idle].
async function execOnce(kernel, code) {
  let tReply;
  let tIdle;
  const t0 = performance.now();
  const future = kernel.requestExecute({ code, stop_on_error: true });
  future.onReply = () => {
    tReply = performance.now();
  };
  future.onIOPub = msg => {
    if (msg.header.msg_type === 'status' && msg.content.execution_state === 'idle') {
      tIdle = performance.now();
    }
  };
  const reply = await withTimeout(future.done, 30000, `execute ${code}`);
  const tDone = performance.now();
  if (reply.content.status !== 'ok') {
    throw new Error(`execute ${code}: ${JSON.stringify(reply.content)}`);
  }
  return [(tReply ?? tDone) - t0, (tIdle ?? tDone) - t0];
}

async function execs(cell, n, keep) {
  for (let i = 0; i < n; i++) {
    const [r, idle] = await execOnce(cell.kernel, '1+1');
    if (keep) {
      cell.reply.push(r);
      cell.idle.push(idle);
    }
  }
}

// --- the direct ZeroMQ client (zmqrtt) ---------------------------------------

// A Go client (zmqrtt): with -spec the kernel started by zmqrtt over ZeroMQ
// (no server), with -ws a server's kernel over its websocket.
class GoClient {
  constructor(argv) {
    this.child = spawn(cfg.zmqrtt, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = readline.createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
    this.reply = [];
    this.idle = [];
  }

  async next(what) {
    const { value, done } = await withTimeout(this.lines.next(), 90000, `zmqrtt ${what}`);
    if (done) throw new Error(`zmqrtt ${what}: it exited (see its error above)`);
    return JSON.parse(value);
  }

  async start() {
    const r = await this.next('start');
    this.startMs = r.start_ns / 1e6;
    this.protocol = r.protocol;
    return this;
  }

  async execs(n, keep) {
    this.child.stdin.write(`exec ${n}\n`);
    const r = await this.next('exec');
    if (keep) {
      this.reply.push(...r.reply_ns.map(x => x / 1e6));
      this.idle.push(...r.idle_ns.map(x => x / 1e6));
    }
  }

  async quit() {
    const exited = new Promise(res => this.child.once('exit', res));
    this.child.stdin.end('quit\n');
    await withTimeout(exited, 10000, 'zmqrtt quit').catch(() => this.child.kill('SIGKILL'));
  }
}

// --- the run -----------------------------------------------------------------

const loadAtStart = os.loadavg()[0];

async function main() {
  const servers = cfg.servers.map(c => new Server(c));
  const kernels = cfg.kernels; // {name, spec}
  const nbPath = '/api/contents/' + encodeURIComponent(cfg.notebook);
  const cells = {}; // `${server}/${kernel}` -> {kernel, start: [], reply: [], idle: []}
  const cell = (s, k) => (cells[`${s.name}/${k.name}`] ??= { start: [], reply: [], idle: [] });
  const alt = (xs, i) => (i % 2 ? [...xs].reverse() : xs);

  for (const s of servers) {
    s.rss.start = proc(s.pid);
    await s.checkGet(nbPath);
  }

  // Kernel starts: fresh kernels, alternating servers; the last one of
  // each server and kernel stays for the execute rounds.
  for (let i = 0; i < N.starts; i++) {
    for (const k of alt(kernels, i)) {
      for (const s of alt(servers, i)) {
        const c = cell(s, k);
        const { kernel, ms } = await startKernel(s, k.name, c);
        c.start.push(ms);
        log(`start ${i + 1}/${N.starts} ${s.label} ${k.name}: ${ms.toFixed(1)} ms`);
        if (i === N.starts - 1) {
          c.kernel = kernel;
        } else {
          await stopKernel(s, kernel);
        }
      }
    }
  }
  const direct = {};
  for (const k of kernels) {
    direct[k.name] = await new GoClient(['-spec', k.spec, '-dir', cfg.runtimeDir]).start();
    log(`start direct ${k.name}: ${direct[k.name].startMs.toFixed(1)} ms`);
    for (const s of servers) {
      const c = cell(s, k);
      const u = `${s.url.replace(/^http/, 'ws')}/api/kernels/${c.kernel.id}/channels`;
      c.go = await new GoClient(['-ws', u, '-token', s.token]).start();
      log(`Go websocket client on ${s.label} ${k.name}: ${c.go.protocol} protocol`);
    }
  }

  // Warm-up.
  for (const s of servers) await s.gets(nbPath, N.warmup, false);
  for (const k of kernels) {
    for (const s of servers) {
      await execs(cell(s, k), N.warmup, false);
      await cell(s, k).go.execs(N.warmup, false);
    }
    await direct[k.name].execs(N.warmup, false);
  }

  for (let r = 0; r < N.rounds; r++) {
    for (const s of alt(servers, r)) await s.gets(nbPath, N.gets, true);
    for (const k of alt(kernels, r)) {
      const d = direct[k.name];
      if (r % 2) await d.execs(N.executes, true);
      for (const s of alt(servers, r)) {
        await execs(cell(s, k), N.executes, true);
        await cell(s, k).go.execs(N.executes, true);
      }
      if (!(r % 2)) await d.execs(N.executes, true);
    }
    log(`round ${r + 1}/${N.rounds}`);
  }

  for (const k of kernels) {
    for (const s of servers) {
      await cell(s, k).go.quit();
      await stopKernel(s, cell(s, k).kernel);
    }
    await direct[k.name].quit();
  }
  await new Promise(res => setTimeout(res, 500));
  for (const s of servers) {
    s.rss.end = proc(s.pid);
    s.agent.destroy();
  }

  const table = render(servers, kernels, cells, direct);
  print(table);
  if (args.write) {
    writeDoc(args.write, table);
    console.error(`wrote ${args.write}`);
  }
}

// --- the report --------------------------------------------------------------

const fmtMs = x => (x >= 10 ? `${x.toFixed(1)} ms` : `${x.toFixed(2)} ms`);
const fmtMB = x => `${x.toFixed(1)} MB`;
const ok = b => (b ? '✅' : '❌');

function render(servers, kernels, cells, direct) {
  const [nd, js] = servers; // notebookd first
  const rows = [];
  const row = (measure, kernel, a, b, fmt, goal = '', ratio = true) =>
    rows.push(
      `| ${measure} | ${kernel} | ${fmt(a)} | ${fmt(b)} | ${ratio && a > 0 && b > 0 ? (b / a).toFixed(1) + '×' : '—'} | ${goal} |`
    );
  const gp50 = s => pct(s.getMs, 50);
  row(`GET \`${cfg.notebook}\`, p50`, '—', gp50(nd), gp50(js), fmtMs, `≤ ${GOALS.getP50} ms ${ok(gp50(nd) <= GOALS.getP50)}`);
  row(`GET \`${cfg.notebook}\`, p99`, '—', pct(nd.getMs, 99), pct(js.getMs, 99), fmtMs);
  for (const k of kernels) {
    const c = s => cells[`${s.name}/${k.name}`];
    const fails = x => (x.startFails ? ` (and ${x.startFails} start${x.startFails > 1 ? 's' : ''} with no reply in ${INFO_TIMEOUT_MS / 1000} s)` : '');
    row(
      `start → kernel_info_reply (median of ${N.starts})`,
      k.name,
      c(nd),
      c(js),
      x => fmtMs(median(x.start)) + fails(x),
      '',
      false
    );
    rows.push(rows.pop().replace('| — |', `| ${(median(c(js).start) / median(c(nd).start)).toFixed(1)}× |`));
  }
  for (const k of kernels) {
    const c = s => cells[`${s.name}/${k.name}`];
    const d = direct[k.name];
    const dp50 = pct(d.reply, 50);
    row('`1+1` → execute_reply, p50', k.name, pct(c(nd).reply, 50), pct(c(js).reply, 50), fmtMs);
    row('`1+1` → execute_reply, p99', k.name, pct(c(nd).reply, 99), pct(c(js).reply, 99), fmtMs);
    row('`1+1` → status idle, p50', k.name, pct(c(nd).idle, 50), pct(c(js).idle, 50), fmtMs);
    row('`1+1` → status idle, p99', k.name, pct(c(nd).idle, 99), pct(c(js).idle, 99), fmtMs);
    row(
      `direct ZeroMQ \`1+1\` → execute_reply, p50 / p99 (no server; start ${fmtMs(d.startMs)})`,
      k.name,
      [dp50, pct(d.reply, 99)],
      [dp50, pct(d.reply, 99)],
      ([a, b]) => `${fmtMs(a)} / ${fmtMs(b)}`,
      '',
      false
    );
    const ov = s => pct(c(s).reply, 50) - dp50;
    row(
      'server overhead: Node execute_reply p50 − direct p50',
      k.name,
      ov(nd),
      ov(js),
      fmtMs,
      `≤ ${GOALS.overhead} ms ${ok(ov(nd) <= GOALS.overhead)}`
    );
    row('Go client over the websocket, `1+1` → execute_reply, p50', k.name, pct(c(nd).go.reply, 50), pct(c(js).go.reply, 50), fmtMs);
    const gov = s => pct(c(s).go.reply, 50) - dp50;
    row(
      'server overhead, same Go client: websocket p50 − direct p50',
      k.name,
      gov(nd),
      gov(js),
      fmtMs,
      `≤ ${GOALS.overhead} ms ${ok(gov(nd) <= GOALS.overhead)}`
    );
  }
  const rss = p => `${fmtMB(p.VmRSS)} (anon ${fmtMB(p.RssAnon)})`;
  rows.push(
    `| server RSS after start (anonymous part) | — | ${rss(nd.rss.start)} | ${rss(js.rss.start)} | ` +
      `${(js.rss.start.VmRSS / nd.rss.start.VmRSS).toFixed(1)}× |  |`
  );
  rows.push(
    `| server RSS after the run (anonymous part), peak | — | ${rss(nd.rss.end)}, ${fmtMB(nd.rss.end.VmHWM)} | ` +
      `${rss(js.rss.end)}, ${fmtMB(js.rss.end.VmHWM)} | ${(js.rss.end.VmRSS / nd.rss.end.VmRSS).toFixed(1)}× | ` +
      `≤ ${GOALS.rssMB} MB ${ok(Math.max(nd.rss.end.VmRSS, nd.rss.end.VmHWM) <= GOALS.rssMB)} |`
  );
  const head = `| measure | kernel | ${nd.label} | ${js.label} | ratio (${js.name} / ${nd.name}) | ${nd.name} goal |`;
  return [head, '|---|---|---|---|---|---|', ...rows].join('\n');
}

function machine() {
  const cpus = os.cpus();
  const mem = `${Math.round(os.totalmem() / 2 ** 30)} GiB`;
  return `${cpus.length} CPUs (nproc ${os.availableParallelism()}), ${cpus[0]?.model ?? '?'}, ${mem} RAM, Linux ${os.release()}`;
}

function goVersion() {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'go ?';
  }
}

const BEGIN = '<!-- bench:notebookd -->';
const END = '<!-- /bench:notebookd -->';

function writeDoc(file, table) {
  const date = new Date().toISOString().replace(/T(\d\d:\d\d).*/, ' $1 UTC');
  const v = cfg.versions;
  const defaults = { rounds: '20', executes: '50', gets: '50', starts: '5', warmup: '20' };
  const extra = Object.entries(defaults)
    .filter(([k, d]) => args[k] !== d)
    .map(([k]) => ` --${k} ${args[k]}`)
    .join('');
  const section = `${BEGIN}
## Notebook server: notebookd vs jupyter-server

Measured ${date} on ${machine()}; ${goVersion()}, Node ${process.version} with
@jupyterlab/services ${v.services} and ws ${v.ws} as the client of both servers;
jupyter_server ${v.jupyter_server} and ipykernel ${v.ipykernel} (Debian, Python ${v.python}).
1-minute load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end (other work on the
machine). Both servers run at the same time, see the same kernelspecs (\`ferry\`, and
Debian's \`python3\`) and serve the same root directory.

${table}

Rerun (or \`make bench-notebookd BENCH_ARGS="--write docs/benchmarks.md"\`):

\`\`\`
go build -tags duckdb_arrow -o bin/ ./cmd/ferry ./cmd/ferry-kernel
FERRY_BIN=bin/ferry bash bench/notebookd/run.sh${extra} --write docs/benchmarks.md
\`\`\`

How it is measured (\`bench/notebookd/run.sh\`, \`bench/notebookd/bench.mjs\`):

- **GET**: \`GET /api/contents/${cfg.notebook}\` (${cfg.notebookDesc}), with the
  token in the Authorization header, over one keep-alive connection
  (\`http.Agent\`), until the whole body has arrived; ${N.rounds} rounds of
  ${N.gets} per server after ${N.warmup} warm-up requests.
- **start**: \`KernelAPI.startNew\` (POST /api/kernels), then a
  \`KernelConnection\` opens the websocket and sends kernel_info_request; the
  time until \`kernel.info\` resolves (its kernel_info_reply). ${N.starts} fresh
  kernels per server and kernel, servers alternating. A start with no reply
  in ${INFO_TIMEOUT_MS / 1000} s is counted in its cell, shut down and tried again: jupyter-server
  1.23 skips its IOPub "nudge" when the kernel looks busy as the websocket
  opens (it often is, with the server's own kernel_info_request), so the new
  IOPub subscription can miss the status idle that \`kernel.info\` waits for; a
  kernel as fast as Ferry's lands in that window now and then.
- **execute**: \`kernel.requestExecute({code: '1+1'})\` on one kernel per server
  and kernel; the time until \`onReply\` sees the execute_reply and until the
  status idle on IOPub (\`future.done\`). ${N.rounds} rounds of ${N.executes} per
  server and kernel, the servers' order alternating each round, after
  ${N.warmup} warm-up executes. Both servers speak the
  \`v1.kernel.websocket.jupyter.org\` binary protocol that the client offers.
- **direct ZeroMQ**: the same kernelspec started by \`bench/notebookd/zmqrtt\`
  (Go: zmq4 DEALER/SUB over plain tcp:// as notebookd connects, HMAC-SHA256 from
  package \`kernel\`), \`1+1\` interleaved with the websocket rounds.
- **server overhead** = execute_reply p50 through the server − direct p50.
  With the Node client it includes the client's own cost (JSON, message
  validation and promise chains of @jupyterlab/services), which the Go direct
  client does not pay; so the same Go program also runs \`1+1\` over each
  server's websocket (\`zmqrtt -ws\`, v1 protocol, its own session on the same
  kernel, interleaved with the Node executes): that overhead compares like
  with like and is the server's own cost. (A ratio is left out where the
  notebookd overhead is not positive: the difference of two p50s is within
  the noise of the kernel's own round trip there, as for ipykernel's ~5 ms.)
- jupyter-server 1.23 does not set TCP_NODELAY on its websockets, so each
  small message it sends waits for the client's delayed ACK (~40 ms on
  Linux); that, not Python, is most of its execute round trip (the Go
  client sees the same). notebookd keeps Go's default, TCP_NODELAY on.
- **RSS**: \`VmRSS\` of the server process (\`ferry lab\`; the python process of
  jupyter-server) from \`/proc/<pid>/status\` once it answers, and after the run
  with its kernels shut down; peak is \`VmHWM\`; the anonymous part is
  \`RssAnon\` (the rest is file pages of the executable and its libraries,
  shared with every other process that maps them, e.g. \`ferry kernel\`).
  Kernels are not counted. The goal is checked on \`VmRSS\`.

This machine is shared and noisy: compare numbers of the same run only.
${END}
`;
  let doc = '';
  try {
    doc = fs.readFileSync(file, 'utf8');
  } catch {
    doc = '# Benchmarks\n';
  }
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a >= 0 && b > a) {
    doc = doc.slice(0, a) + section.trimEnd() + doc.slice(b + END.length);
  } else {
    doc = doc.trimEnd() + '\n\n' + section;
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, doc.endsWith('\n') ? doc : doc + '\n');
}

main().then(
  () => process.exit(0),
  e => {
    console.error('bench: ' + (e && e.stack ? e.stack : e));
    process.exit(1);
  }
);
