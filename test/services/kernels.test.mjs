// Kernels through @jupyterlab/services' KernelManager against a running
// notebookd: each case runs for the Ferry kernel and Debian's ipykernel,
// over the v1.kernel.websocket.jupyter.org protocol and the legacy JSON one.

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

for (const spec of KERNELS) {
  for (const proto of PROTOCOLS) {
    describe(`${spec.name} kernel over the ${proto.name} protocol`, () => {
      const sockets = [];
      let manager;
      let kernel;
      let restartSeen; // what the client saw during 'restart clears state'

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

      test('kernel_info_reply and the negotiated protocol', T, async () => {
        const info = await kernel.info;
        assert.equal(info.status, 'ok');
        assert.equal(info.language_info.name, spec.language);
        assert.match(info.protocol_version, /^5\.[3-9]/);
        assert.ok(sockets.length >= 1);
        const ws = sockets.at(-1);
        assert.equal(ws.protocol, proto.subprotocol, 'the server chose another websocket protocol');
        if (proto.subprotocol) {
          assert.deepEqual(ws.frames, { text: 0, binary: ws.frames.binary }, 'v1 sent text frames');
          assert.ok(ws.frames.binary > 0);
        } else {
          assert.deepEqual(ws.frames, { text: ws.frames.text, binary: 0 }, 'legacy JSON sent binary frames without buffers');
          assert.ok(ws.frames.text > 0);
        }
        const model = await (await server.api('GET', `api/kernels/${kernel.id}`)).json();
        assert.equal(model.name, spec.name);
        assert.equal(model.connections, 1);
      });

      test('execute 1+1', T, async () => {
        const out = await ok(kernel, '1+1');
        assert.deepEqual(out.results, ['2']);
        assert.equal(typeof out.reply.content.execution_count, 'number');
        assert.deepEqual(out.statuses, ['busy', 'idle']);
        // execute_input echoes the code.
        const input = out.iopub.find(m => m.header.msg_type === 'execute_input');
        assert.equal(input?.content.code, '1+1');
        assert.equal(kernel.status, 'idle');
      });

      test('stream output', T, async () => {
        const out = await ok(kernel, spec.print);
        assert.equal(out.streams.stdout, spec.printed);
        assert.deepEqual(out.results, []);
      });

      test('an error reply', T, async () => {
        const out = await execute(kernel, spec.bad);
        assert.equal(out.reply.content.status, 'error');
        assert.ok(out.reply.content.ename, 'no ename');
        assert.equal(out.errors.length, 1, 'one error message on iopub');
        assert.equal(out.errors[0].ename, out.reply.content.ename);
        assert.ok(Array.isArray(out.errors[0].traceback));
        assert.deepEqual((await ok(kernel, '1+1')).results, ['2'], 'the kernel does not run after an error');
      });

      for (const loop of spec.loops) {
        test(`interrupt ${JSON.stringify(loop)}`, T, async () => {
          // Print first: once the text is out, the loop is running (and, for
          // ipykernel, SIGINT raises KeyboardInterrupt).
          const print = spec.print.replace(/hello from \w+/, 'looping');
          let started;
          const running = new Promise(resolve => { started = resolve; });
          const pending = execute(kernel, `${print}\n${loop}`, {
            onIOPub: msg => {
              if (msg.header.msg_type === 'stream' && msg.content.text.includes('looping')) {
                started();
              }
            }
          });
          await running;
          assert.equal(kernel.status, 'busy');
          await kernel.interrupt();
          const out = await pending;
          assert.ok(['error', 'aborted'].includes(out.reply.content.status), JSON.stringify(out.reply.content));
          if (out.reply.content.status === 'error') {
            assert.match(out.reply.content.ename, /Interrupt/);
          }
          assert.deepEqual((await ok(kernel, '1+1')).results, ['2'], 'the kernel does not run after the interrupt');
        });
      }

      test('restart clears state', T, async () => {
        await ok(kernel, spec.define);
        assert.deepEqual((await ok(kernel, spec.probe)).results, ['42']);
        const [before] = server.kernelPids(kernel.id);
        assert.ok(before, 'no kernel process found');
        const statuses = [];
        const onStatus = (_, s) => statuses.push(s);
        kernel.statusChanged.connect(onStatus);
        const socketsBefore = sockets.length;
        try {
          await kernel.restart();
          await waitFor(() => kernel.status === 'idle' && kernel.connectionStatus === 'connected', 'idle after restart');
        } finally {
          kernel.statusChanged.disconnect(onStatus);
        }
        restartSeen = { statuses, sockets: sockets.length - socketsBefore };
        assert.ok(statuses.includes('restarting'), `statuses: ${statuses}`);
        assert.equal(statuses.at(-1), 'idle', `statuses: ${statuses}`);
        const [after] = server.kernelPids(kernel.id);
        assert.ok(after && after !== before, `the process was not replaced (${before} -> ${after})`);
        assert.equal((await kernel.info).language_info.name, spec.language);
        await ok(kernel, spec.prelude);
        const probe = await execute(kernel, spec.probe);
        assert.equal(probe.reply.content.status, 'error', `state survived the restart: ${JSON.stringify(probe.results)}`);
        assert.deepEqual((await ok(kernel, '1+1')).results, ['2']);
        assert.equal(sockets.at(-1).protocol, proto.subprotocol, 'the reconnect chose another protocol');
      });

      // jupyter_server sends status "restarting" on the websocket only when
      // its KernelRestarter restarts a dead kernel, not for a restart asked
      // through POST /api/kernels/<id>/restart. Were it sent for both,
      // @jupyterlab/services would take a requested restart for an automatic
      // one: status "autorestarting", kernel state cleared (pending futures
      // cancelled) and a second reconnect.
      test('a requested restart is not reported as an automatic restart', T, () => {
        assert.ok(restartSeen, 'the restart test did not run');
        assert.ok(!restartSeen.statuses.includes('autorestarting'), `statuses: ${restartSeen.statuses}`);
        assert.equal(restartSeen.sockets, 1, 'websockets opened by one restart');
      });

      test('shutdown', T, async () => {
        const id = kernel.id;
        assert.equal(server.kernelPids(id).length, 1);
        await kernel.shutdown();
        assert.ok(kernel.isDisposed);
        assert.equal((await server.api('GET', `api/kernels/${id}`)).status, 404);
        const list = await (await server.api('GET', 'api/kernels')).json();
        assert.ok(!list.some(k => k.id === id));
        assert.deepEqual(server.kernelPids(id), [], 'the kernel process outlived its shutdown');
      });
    });
  }
}
