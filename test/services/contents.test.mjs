// Contents and checkpoints through @jupyterlab/services' ContentsManager
// against a running notebookd.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ContentsManager, ServerConnection } from '@jupyterlab/services';

import { HOOK, Server } from './server.mjs';

let server;
let contents;

before(async () => {
  server = await Server.start();
  contents = new ContentsManager({ serverSettings: server.settings() });
}, HOOK);

after(async () => {
  contents?.dispose();
  await server?.stop();
}, HOOK);

const onDisk = p => path.join(server.root, p);

// A cell's source as one string, whether it came as a string or as lines.
const src = cell => [cell.source].flat().join('');

function notebook(source) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'ferry', display_name: 'Go (Ferry)', language: 'go' } },
    cells: [{ cell_type: 'code', id: 'c1', metadata: {}, source, outputs: [], execution_count: null }]
  };
}

/** A raw request whose path is sent as is (fetch would normalize ".."). */
function rawRequest(method, rawPath, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(server.baseUrl);
    const req = http.request(
      {
        host: u.hostname, port: u.port, method, path: rawPath,
        headers: { Authorization: `token ${server.token}`, 'Content-Type': 'application/json' }
      },
      res => {
        let data = '';
        res.on('data', d => { data += d; });
        res.on('end', () => resolve({ status: res.statusCode, body: data }));
      }
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('contents', () => {
  test('new untitled notebook, file and directory', async () => {
    const nb = await contents.newUntitled({ path: '', type: 'notebook' });
    assert.equal(nb.type, 'notebook');
    assert.match(nb.path, /^Untitled.*\.ipynb$/);
    assert.ok(fs.existsSync(onDisk(nb.path)), `${nb.path} not on disk`);
    const nb2 = await contents.newUntitled({ path: '', type: 'notebook' });
    assert.notEqual(nb2.path, nb.path, 'a second untitled notebook reused the name');

    const f = await contents.newUntitled({ path: '', type: 'file', ext: '.txt' });
    assert.equal(f.type, 'file');
    assert.match(f.path, /\.txt$/);
    assert.equal(fs.readFileSync(onDisk(f.path), 'utf8'), '');

    const d = await contents.newUntitled({ path: '', type: 'directory' });
    assert.equal(d.type, 'directory');
    assert.ok(fs.statSync(onDisk(d.path)).isDirectory());

    // Untitled inside that directory.
    const inner = await contents.newUntitled({ path: d.path, type: 'file', ext: '.py' });
    assert.equal(path.posix.dirname(inner.path), d.path);
    assert.ok(fs.existsSync(onDisk(inner.path)));
  });

  test('save and get a notebook, with and without content', async () => {
    await contents.save('work', { type: 'directory' });
    const saved = await contents.save('work/a.ipynb', { type: 'notebook', format: 'json', content: notebook('1+1') });
    assert.equal(saved.path, 'work/a.ipynb');
    assert.equal(saved.type, 'notebook');
    assert.equal(saved.content, null, 'a save returns the model without content');
    const disk = JSON.parse(fs.readFileSync(onDisk('work/a.ipynb'), 'utf8'));
    assert.equal(disk.nbformat, 4);
    // On disk a source may be a string or a list of lines (nbformat writes lists).
    assert.equal(src(disk.cells[0]), '1+1');

    const got = await contents.get('work/a.ipynb');
    assert.equal(got.format, 'json');
    assert.equal(got.content.nbformat, 4);
    assert.equal(got.content.cells.length, 1);
    assert.equal(src(got.content.cells[0]), '1+1');
    assert.ok(got.last_modified && got.created, 'timestamps missing');

    const bare = await contents.get('work/a.ipynb', { content: false });
    assert.equal(bare.content, null);
    assert.equal(bare.name, 'a.ipynb');

    const dir = await contents.get('work');
    assert.equal(dir.type, 'directory');
    assert.deepEqual(dir.content.map(m => m.name), ['a.ipynb']);
    assert.equal(dir.content[0].content, null, 'directory listings carry no file content');
  });

  // jupyter_server reads notebooks with nbformat.reads, which rejoins
  // multiline strings: a GET returns each source as one string, whatever
  // the file holds; so does notebookd.
  test('notebook sources and outputs come back as strings, as jupyter_server sends them',
    async () => {
      const nb = notebook('a := 1\nb := 2');
      nb.cells[0].outputs = [{ output_type: 'stream', name: 'stdout', text: 'x\ny\n' }];
      await contents.save('lines.ipynb', { type: 'notebook', format: 'json', content: nb });
      const disk = JSON.parse(fs.readFileSync(onDisk('lines.ipynb'), 'utf8'));
      assert.deepEqual(disk.cells[0].source, ['a := 1\n', 'b := 2'], 'nbformat writes sources as lines');
      const got = await contents.get('lines.ipynb');
      assert.equal(got.content.cells[0].source, 'a := 1\nb := 2');
      assert.equal(got.content.cells[0].outputs[0].text, 'x\ny\n');
    });

  test('text and base64 files round-trip', async () => {
    await contents.save('notes.md', { type: 'file', format: 'text', content: '# hi\n' });
    assert.equal(fs.readFileSync(onDisk('notes.md'), 'utf8'), '# hi\n');
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await contents.save('blob.bin', { type: 'file', format: 'base64', content: bytes.toString('base64') });
    assert.deepEqual(fs.readFileSync(onDisk('blob.bin')), bytes);
    const got = await contents.get('blob.bin', { format: 'base64', type: 'file', content: true });
    assert.equal(got.format, 'base64');
    assert.deepEqual(Buffer.from(got.content, 'base64'), bytes);
    const txt = await contents.get('notes.md');
    assert.equal(txt.format, 'text');
    assert.equal(txt.content, '# hi\n');
  });

  test('rename, copy and delete', async () => {
    await contents.save('r1.ipynb', { type: 'notebook', format: 'json', content: notebook('x := 1') });
    const renamed = await contents.rename('r1.ipynb', 'r2.ipynb');
    assert.equal(renamed.path, 'r2.ipynb');
    assert.ok(!fs.existsSync(onDisk('r1.ipynb')));
    assert.ok(fs.existsSync(onDisk('r2.ipynb')));

    // Renaming onto an existing file is refused (409).
    await contents.save('taken.txt', { type: 'file', format: 'text', content: 'taken' });
    await assert.rejects(contents.rename('r2.ipynb', 'taken.txt'), err => {
      assert.ok(err instanceof ServerConnection.ResponseError, String(err));
      assert.equal(err.response.status, 409);
      return true;
    });
    assert.equal(fs.readFileSync(onDisk('taken.txt'), 'utf8'), 'taken');

    await contents.save('cp', { type: 'directory' });
    const copy = await contents.copy('r2.ipynb', 'cp');
    assert.equal(path.posix.dirname(copy.path), 'cp');
    assert.match(copy.name, /^r2.*\.ipynb$/);
    assert.deepEqual(
      JSON.parse(fs.readFileSync(onDisk(copy.path), 'utf8')).cells[0].source,
      JSON.parse(fs.readFileSync(onDisk('r2.ipynb'), 'utf8')).cells[0].source
    );
    // A second copy into the same directory gets a new name.
    const copy2 = await contents.copy('r2.ipynb', 'cp');
    assert.notEqual(copy2.path, copy.path);

    await contents.delete(copy.path);
    assert.ok(!fs.existsSync(onDisk(copy.path)));
    await assert.rejects(contents.get(copy.path), err => err.response?.status === 404);
    await contents.delete('r2.ipynb');
    assert.ok(!fs.existsSync(onDisk('r2.ipynb')));
  });

  test('an invalid notebook is rejected with 400 and the file is unchanged', async () => {
    await contents.save('keep.ipynb', { type: 'notebook', format: 'json', content: notebook('keep') });
    const before = fs.readFileSync(onDisk('keep.ipynb'));
    const bad = [
      { ...notebook('bad'), cells: 'not a list' },
      { ...notebook('bad'), nbformat: 3 },
      { ...notebook('bad'), cells: [{ cell_type: 'nonsense', metadata: {}, source: '' }] }
    ];
    for (const content of bad) {
      await assert.rejects(contents.save('keep.ipynb', { type: 'notebook', format: 'json', content }), err => {
        assert.ok(err instanceof ServerConnection.ResponseError, String(err));
        assert.equal(err.response.status, 400, err.message);
        return true;
      });
      assert.deepEqual(fs.readFileSync(onDisk('keep.ipynb')), before, 'the bad save changed the file');
    }
    // Not JSON at all.
    const r = await server.api('PUT', 'api/contents/keep.ipynb', '{"type": "notebook", "content": ');
    assert.equal(r.status, 400);
    assert.deepEqual(fs.readFileSync(onDisk('keep.ipynb')), before);
  });

  test('paths outside the root are refused', async () => {
    fs.writeFileSync(path.join(server.tmp, 'outside.txt'), 'secret');
    for (const p of ['/api/contents/../outside.txt', '/api/contents/%2E%2E/outside.txt', '/api/contents/a/..%2F..%2Foutside.txt']) {
      const get = await rawRequest('GET', p);
      // 404, "... is outside root contents directory", as jupyter_server says.
      assert.equal(get.status, 404, `GET ${p}: ${get.body}`);
      assert.ok(!get.body.includes('secret'), `GET ${p} leaked the file`);
      const put = await rawRequest('PUT', p, { type: 'file', format: 'text', content: 'pwned' });
      assert.ok(put.status >= 400 && put.status < 500, `PUT ${p}: ${put.status} ${put.body}`);
      assert.equal(fs.readFileSync(path.join(server.tmp, 'outside.txt'), 'utf8'), 'secret');
    }
    // Through the client library (its URL joining drops the ".."; nothing
    // may be read or written outside the root either way).
    await assert.rejects(contents.get('../outside.txt'), err => err.response?.status >= 400);
    await assert.rejects(
      contents.save('../escaped.txt', { type: 'file', format: 'text', content: 'pwned' }),
      err => err.response?.status >= 400
    );
    assert.ok(!fs.existsSync(path.join(server.tmp, 'escaped.txt')));
  });
});

describe('checkpoints', () => {
  test('create, list, restore and delete', async () => {
    await contents.save('cp.ipynb', { type: 'notebook', format: 'json', content: notebook('first') });
    // Like jupyter_server, the first save of a notebook makes its checkpoint.
    const first = await contents.listCheckpoints('cp.ipynb');
    assert.equal(first.length, 1, JSON.stringify(first));
    await contents.save('cp.ipynb', { type: 'notebook', format: 'json', content: notebook('original') });

    const cp = await contents.createCheckpoint('cp.ipynb');
    assert.ok(cp.id, 'checkpoint has no id');
    assert.ok(cp.last_modified, 'checkpoint has no last_modified');
    const list = await contents.listCheckpoints('cp.ipynb');
    assert.deepEqual(list.map(c => c.id), [cp.id], 'one checkpoint per file, replaced by each create');

    await contents.save('cp.ipynb', { type: 'notebook', format: 'json', content: notebook('changed') });
    assert.equal(src((await contents.get('cp.ipynb')).content.cells[0]), 'changed');

    await contents.restoreCheckpoint('cp.ipynb', cp.id);
    assert.equal(src((await contents.get('cp.ipynb')).content.cells[0]), 'original');
    assert.equal(src(JSON.parse(fs.readFileSync(onDisk('cp.ipynb'), 'utf8')).cells[0]), 'original');

    await contents.deleteCheckpoint('cp.ipynb', cp.id);
    assert.deepEqual(await contents.listCheckpoints('cp.ipynb'), []);
    await assert.rejects(contents.restoreCheckpoint('cp.ipynb', cp.id), err => err.response?.status === 404);
  });

  test('checkpoints of a text file', async () => {
    await contents.save('t.txt', { type: 'file', format: 'text', content: 'v1' });
    assert.deepEqual(await contents.listCheckpoints('t.txt'), []);
    const cp = await contents.createCheckpoint('t.txt');
    await contents.save('t.txt', { type: 'file', format: 'text', content: 'v2' });
    await contents.restoreCheckpoint('t.txt', cp.id);
    assert.equal(fs.readFileSync(onDisk('t.txt'), 'utf8'), 'v1');
    await contents.deleteCheckpoint('t.txt', cp.id);
  });
});
