// Ferry's control plane (/api/ferry/v1/) on a running notebookd: a Go
// kernel started by the server tracks a run through it (the server gives
// kernels the API's URL and token), and the API serves the run to clients
// with the server's token and refuses them without it.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { KernelManager } from '@jupyterlab/services';

import { HOOK, Server, execute } from './server.mjs';

let server;
let kernels;

before(async () => {
  server = await Server.start();
  kernels = new KernelManager({ serverSettings: server.settings() });
  await kernels.ready;
}, HOOK);

after(async () => {
  kernels?.dispose();
  await server?.stop();
}, HOOK);

describe('control plane', () => {
  test('a kernel logs a run through the server; clients read it back', async () => {
    const kernel = await kernels.startNew({ name: 'ferry' });
    try {
      let out = await execute(kernel, '%experiment from-kernel');
      assert.deepEqual(out.errors, []);
      out = await execute(kernel, [
        'run, err := tracking.StartRun("via-api")',
        'if err != nil { panic(err) }',
        'run.LogParam("lr", 0.1)',
        'for i := 0; i < 5; i++ { run.LogMetric("loss", 1/float64(i+1), i) }',
        'run.End()',
        'fmt.Println(run.ID)'
      ].join('\n'));
      assert.deepEqual(out.errors, []);
      const runId = out.streams.stdout.trim();
      assert.match(runId, /^[0-9a-f]{32}$/);

      // The kernel went through the server: the run is in its store.
      const r = await server.api('GET', `api/ferry/v1/runs/${runId}`);
      assert.equal(r.status, 200);
      const run = await r.json();
      assert.equal(run.name, 'via-api');
      assert.equal(run.status, 'FINISHED');
      assert.equal(run.params.lr, '0.1');
      assert.equal(run.metrics.loss.step, 4);

      const exp = await (await server.api('GET', 'api/ferry/v1/experiments/by-name/from-kernel')).json();
      assert.equal(exp.id, run.experiment_id);
      const h = await server.api('POST', 'api/ferry/v1/metrics/history', { run_ids: [runId], keys: ['loss'] });
      const { series } = await h.json();
      assert.deepEqual(series[0].steps, [0, 1, 2, 3, 4]);

      out = await execute(kernel, '%runs --filter "metrics.loss < 0.3"');
      assert.deepEqual(out.errors, []);
      assert.match(out.results[0], /via-api/);
    } finally {
      await kernel.shutdown();
    }
  });

  test('without the token the API is refused; bad input gets a coded error', async () => {
    const r = await fetch(new URL('api/ferry/v1/experiments', server.baseUrl));
    assert.equal(r.status, 403);
    const bad = await server.api('POST', 'api/ferry/v1/runs/search', { experiment_ids: ['0'], filter: 'metrics.x >' });
    assert.equal(bad.status, 400);
    const e = await bad.json();
    assert.equal(e.code, 'invalid');
    assert.match(e.message, /filter/);
    const missing = await server.api('GET', 'api/ferry/v1/experiments/by-name/nope');
    assert.equal(missing.status, 404);
  });
});
