// Recovery through @jupyterlab/services against a running notebookd, for the
// Ferry kernel and Debian's ipykernel over both websocket protocols:
// iopub missed while the websocket was closed is replayed on reconnect, and
// a kernel process killed behind the server's back is restarted (the client
// sees the restart) or, when it keeps dying, reported dead.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { KernelManager } from '@jupyterlab/services';

import { HOOK, KERNELS, PROTOCOLS, Server, execute, ok, recordingWebSocket, waitFor } from './server.mjs';

const T = { timeout: 60000 };

let server;

before(async () => {
  server = await Server.start();
}, HOOK);

after(async () => {
  await server?.stop();
}, HOOK);

async function kernelModel(id) {
  const r = await server.api('GET', `api/kernels/${id}`);
  assert.equal(r.status, 200, `GET api/kernels/${id}`);
  return r.json();
}

/** SIGKILLs the kernel's processes; returns their pids. */
function killKernel(id) {
  const pids = server.kernelPids(id);
  assert.ok(pids.length > 0, `no process of kernel ${id}`);
  for (const pid of pids) {
    process.kill(pid, 'SIGKILL');
  }
  return pids;
}

for (const spec of KERNELS) {
  for (const proto of PROTOCOLS) {
    describe(`${spec.name} kernel over the ${proto.name} protocol`, () => {
      const sockets = [];
      let manager;
      let kernel;

      before(async () => {
        manager = new KernelManager({
          serverSettings: server.settings({ WebSocket: recordingWebSocket(sockets, { legacy: proto.subprotocol === '' }) })
        });
        kernel = await manager.startNew({ name: spec.name });
        await kernel.info;
        await ok(kernel, spec.prelude);
      }, HOOK);

      after(async () => {
        if (kernel && !kernel.isDisposed) {
          await kernel.shutdown().catch(() => {});
        }
        manager?.dispose();
      }, HOOK);

      test('iopub missed while disconnected is replayed on reconnect', T, async () => {
        const n = 8;
        const want = Array.from({ length: n }, (_, i) => `tick ${i}\n`).join('');
        let text = '';
        let first;
        const firstTick = new Promise(resolve => { first = resolve; });
        const future = kernel.requestExecute({ code: spec.ticker(n) });
        future.onIOPub = msg => {
          if (msg.header.msg_type === 'stream') {
            text += msg.content.text;
            first();
          }
        };
        await firstTick;
        // Close the client's websocket normally (1000): the client stays
        // disconnected until told to reconnect.
        const ws = sockets.at(-1);
        const closed = new Promise(resolve => ws.addEventListener('close', resolve, { once: true }));
        ws.close(1000);
        await closed;
        assert.equal(kernel.connectionStatus, 'disconnected');
        const seenBefore = text;
        // The cell finishes while nobody is connected.
        await waitFor(async () => {
          const m = await kernelModel(kernel.id);
          return m.connections === 0 && m.execution_state === 'idle';
        }, 'the cell to finish with no client connected');
        assert.equal(text, seenBefore, 'output arrived while disconnected');
        assert.ok(seenBefore.length < want.length, 'the cell finished before the disconnect; nothing to replay');

        await kernel.reconnect();
        assert.equal(sockets.at(-1).protocol, proto.subprotocol);
        const reply = await future.done;
        assert.equal(reply.content.status, 'ok');
        assert.equal(text, want, 'the output after reconnecting is not exactly the missed output');
        await waitFor(() => kernel.status === 'idle', 'idle after the replay');
        assert.deepEqual((await ok(kernel, '1+1')).results, ['2']);
      });

      test('a killed kernel process is restarted', T, async () => {
        await ok(kernel, spec.define);
        const statuses = [];
        const onStatus = (_, s) => statuses.push(s);
        kernel.statusChanged.connect(onStatus);
        let killed;
        try {
          killed = killKernel(kernel.id);
          // notebookd sends status "restarting"; the client calls that
          // "autorestarting" and reconnects.
          await waitFor(() => statuses.includes('autorestarting') || statuses.includes('restarting'),
            'a restarting status');
          await waitFor(() => kernel.status === 'idle' && kernel.connectionStatus === 'connected',
            'idle after the automatic restart');
        } finally {
          kernel.statusChanged.disconnect(onStatus);
        }
        assert.ok(!statuses.includes('dead'), `statuses: ${statuses}`);
        const now = server.kernelPids(kernel.id);
        assert.equal(now.length, 1, `kernel processes: ${now}`);
        assert.ok(!killed.includes(now[0]), 'the killed process is still listed');
        // The server's state settles too (the client's own kernel_info
        // request may still keep the kernel busy for a moment).
        await waitFor(async () => (await kernelModel(kernel.id)).execution_state === 'idle', 'the server to report idle');
        assert.equal((await kernel.info).language_info.name, spec.language);
        await ok(kernel, spec.prelude);
        const probe = await execute(kernel, spec.probe);
        assert.equal(probe.reply.content.status, 'error', 'state survived the kill');
        assert.deepEqual((await ok(kernel, '1+1')).results, ['2']);
      });
    });
  }
}

// A kernel that dies again right after each restart is given up on and
// reported dead. Only the Ferry kernel: it starts fast enough to be killed
// six times in a row (the server's limit is five automatic restarts).
for (const proto of PROTOCOLS) {
  test(`a kernel that keeps dying is reported dead (ferry, ${proto.name})`, T, async () => {
    const sockets = [];
    const manager = new KernelManager({
      serverSettings: server.settings({ WebSocket: recordingWebSocket(sockets, { legacy: proto.subprotocol === '' }) })
    });
    const kernel = await manager.startNew({ name: 'ferry' });
    try {
      await kernel.info;
      const statuses = [];
      kernel.statusChanged.connect((_, s) => statuses.push(s));
      for (let restarts = 0; ; restarts++) {
        assert.ok(restarts <= 10, 'the server kept restarting a kernel that always dies');
        const seen = statuses.filter(s => s === 'autorestarting').length;
        const pids = killKernel(kernel.id);
        const next = await waitFor(() => {
          if (kernel.status === 'dead') {
            return 'dead';
          }
          const now = server.kernelPids(kernel.id);
          // The client saw this restart, reconnected, and the new process runs.
          return statuses.filter(s => s === 'autorestarting').length > seen && kernel.status === 'idle' &&
            kernel.connectionStatus === 'connected' && now.length > 0 && !now.some(p => pids.includes(p));
        }, 'a restarted process or a dead status');
        if (next === 'dead') {
          break;
        }
        // Let the client finish its kernel_info exchange with the new process
        // before the next kill (@jupyterlab/services rejects a pending
        // kernel_info future, unhandled, when a restart overtakes it).
        assert.deepEqual((await ok(kernel, '1+1')).results, ['2']);
      }
      assert.equal(kernel.status, 'dead');
      assert.ok(statuses.includes('autorestarting'), `statuses: ${statuses}`);
      const model = await kernelModel(kernel.id);
      assert.equal(model.execution_state, 'dead');
      assert.deepEqual(server.kernelPids(kernel.id), []);
      // A dead kernel can still be shut down through the API.
      assert.equal((await server.api('DELETE', `api/kernels/${kernel.id}`)).status, 204);
    } finally {
      kernel.dispose();
      manager.dispose();
    }
  });
}
