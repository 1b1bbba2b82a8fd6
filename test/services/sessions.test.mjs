// Kernelspecs and sessions through @jupyterlab/services against a running
// notebookd, with the Ferry kernel and Debian's ipykernel (python3).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { KernelManager, KernelSpecManager, SessionManager } from '@jupyterlab/services';

import { HOOK, Server, execute } from './server.mjs';

let server;
let specs;
let kernels;
let sessions;

before(async () => {
  server = await Server.start();
  const serverSettings = server.settings();
  specs = new KernelSpecManager({ serverSettings });
  kernels = new KernelManager({ serverSettings });
  sessions = new SessionManager({ serverSettings, kernelManager: kernels });
  await Promise.all([specs.ready, kernels.ready, sessions.ready]);
}, HOOK);

after(async () => {
  sessions?.dispose();
  kernels?.dispose();
  specs?.dispose();
  await server?.stop();
}, HOOK);

async function runningKernelIds() {
  const r = await server.api('GET', 'api/kernels');
  assert.equal(r.status, 200);
  return (await r.json()).map(k => k.id);
}

describe('kernelspecs', () => {
  test('ferry and python3 are listed with their resources; ferry is the default', async () => {
    await specs.refreshSpecs();
    const all = specs.specs;
    assert.ok(all, 'no specs');
    assert.equal(all.default, 'ferry');
    const cases = [
      { name: 'ferry', language: 'go', display: 'Go (Ferry)' },
      { name: 'python3', language: 'python', display: 'Python 3 (ipykernel)' }
    ];
    for (const want of cases) {
      const got = all.kernelspecs[want.name];
      assert.ok(got, `${want.name} missing from ${Object.keys(all.kernelspecs)}`);
      assert.equal(got.name, want.name);
      assert.equal(got.language, want.language);
      assert.equal(got.display_name, want.display);
      assert.ok(got.argv.length > 0);
      for (const key of ['logo-32x32', 'logo-64x64']) {
        const url = got.resources[key];
        assert.ok(url, `${want.name} has no ${key} resource: ${JSON.stringify(got.resources)}`);
        // The resource URL is served, and is a PNG.
        const r = await fetch(new URL(url, server.baseUrl), { headers: { Authorization: `token ${server.token}` } });
        assert.equal(r.status, 200, `GET ${url}`);
        const b = Buffer.from(await r.arrayBuffer());
        assert.deepEqual([...b.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], `${url} is not a PNG`);
      }
    }
    assert.equal(all.kernelspecs.ferry.metadata?.debugger, false);
  });

  test('an unknown kernelspec is a 404', async () => {
    const r = await server.api('GET', 'api/kernelspecs/no-such-kernel');
    assert.equal(r.status, 404);
    await assert.rejects(kernels.startNew({ name: 'no-such-kernel' }), err => err.response?.status === 404);
  });
});

describe('sessions', () => {
  test('start, list, get, rename, change kernel and shut down', async () => {
    const s = await sessions.startNew({ path: 'work/nb.ipynb', name: 'nb.ipynb', type: 'notebook', kernel: { name: 'ferry' } });
    try {
      assert.ok(s.id);
      assert.equal(s.path, 'work/nb.ipynb');
      assert.equal(s.type, 'notebook');
      assert.equal(s.kernel.name, 'ferry');
      assert.equal((await s.kernel.info).language_info.name, 'go');
      const firstKernel = s.kernel.id;

      // The same path gets the same session.
      const again = await server.api('POST', 'api/sessions', { path: 'work/nb.ipynb', type: 'notebook', name: 'nb.ipynb', kernel: { name: 'ferry' } });
      assert.ok(again.status === 200 || again.status === 201, `POST again: ${again.status}`);
      assert.equal((await again.json()).id, s.id);

      await sessions.refreshRunning();
      const listed = [...sessions.running()];
      assert.deepEqual(listed.map(m => m.id), [s.id]);
      assert.equal(listed[0].kernel.id, firstKernel);

      const got = await sessions.findById(s.id);
      assert.equal(got.path, 'work/nb.ipynb');
      assert.equal(got.kernel.name, 'ferry');
      assert.equal((await sessions.findByPath('work/nb.ipynb')).id, s.id);

      await s.setPath('work/renamed.ipynb');
      assert.equal(s.path, 'work/renamed.ipynb');
      const r = await server.api('GET', `api/sessions/${s.id}`);
      assert.equal(r.status, 200);
      const model = await r.json();
      assert.equal(model.path, 'work/renamed.ipynb');
      assert.equal(model.kernel.id, firstKernel, 'a rename changed the kernel');
      await sessions.refreshRunning();
      assert.equal(await sessions.findByPath('work/nb.ipynb'), undefined);
      assert.equal((await sessions.findByPath('work/renamed.ipynb'))?.id, s.id);

      const kc = await s.changeKernel({ name: 'python3' });
      assert.equal(kc.name, 'python3');
      assert.notEqual(kc.id, firstKernel);
      assert.equal(s.kernel.id, kc.id);
      assert.equal((await kc.info).language_info.name, 'python');
      const out = await execute(kc, '6*7');
      assert.deepEqual(out.results, ['42']);
      const after = await (await server.api('GET', `api/sessions/${s.id}`)).json();
      assert.equal(after.kernel.id, kc.id);
      assert.equal(after.kernel.name, 'python3');
      // The old kernel, used by no other session, is shut down.
      assert.ok(!(await runningKernelIds()).includes(firstKernel), 'the replaced kernel still runs');
      assert.deepEqual(server.kernelPids(firstKernel), [], 'the replaced kernel process still runs');

      const newKernel = kc.id;
      await s.shutdown();
      assert.equal((await server.api('GET', `api/sessions/${s.id}`)).status, 404);
      assert.ok(!(await runningKernelIds()).includes(newKernel), 'the session kernel still runs');
      assert.deepEqual(server.kernelPids(newKernel), [], 'the session kernel process still runs');
      await sessions.refreshRunning();
      assert.deepEqual([...sessions.running()], []);
    } finally {
      if (!s.isDisposed) {
        await s.shutdown().catch(() => {});
      }
    }
  });

  test('a session with an unknown kernel is refused and leaves no session', async () => {
    await assert.rejects(
      sessions.startNew({ path: 'x.ipynb', name: 'x.ipynb', type: 'notebook', kernel: { name: 'no-such-kernel' } }),
      err => err.response?.status >= 400
    );
    await sessions.refreshRunning();
    assert.deepEqual([...sessions.running()].map(m => m.path), []);
  });
});
