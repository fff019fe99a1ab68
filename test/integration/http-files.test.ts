// Files over REST against a real server process: a streamed upload becomes a file message that members see
// live, the download returns the same bytes; an oversized upload is refused with 413 and stores nothing;
// outsiders cannot download.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PchatClient } from '../../src/client/index.js';
import {
  http,
  PASSWORD,
  type Seeded,
  type ServerProcess,
  seedStandard,
  signIn,
  startServer,
  tempDataDir,
  uri,
} from '../support/server.js';

/** Every stored file below the files directory, except the temporary area. */
function storedFiles(dataDir: string): string[] {
  const root = join(dataDir, 'files');
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  for (const d of names) {
    if (d === 'tmp') continue;
    out = out.concat(readdirSync(join(root, d)).map((f) => `${d}/${f}`));
  }
  return out;
}

describe('files', () => {
  const data = tempDataDir();
  let ids: Seeded;
  let server: ServerProcess;

  before(async () => {
    ids = await seedStandard(data.dir, { maxFileSizeKB: 256 });
    server = await startServer(data.dir);
  });
  after(async () => {
    await server?.stop();
    data.remove();
  });

  test('an upload becomes a file message seen live; the download returns the same bytes', async () => {
    const alice = new PchatClient(server.url);
    await alice.signIn(uri('alice'), PASSWORD);
    const bob = new PchatClient(server.url);
    await bob.signIn(uri('bob'), PASSWORD);
    const conn = await bob.connect({ reconnect: false });
    try {
      await conn.join(ids.closed);
      const bytes = randomBytes(200 * 1024);
      const live = conn.next('message', (m) => m.kind === 'file');
      // streamed from an async iterable in 16 KiB chunks
      async function* chunks() {
        for (let i = 0; i < bytes.length; i += 16 * 1024) yield bytes.subarray(i, i + 16 * 1024);
      }
      const msg = await alice.upload(ids.closed, {
        name: 'Ünïcode plan.bin',
        contentType: 'application/x-test',
        body: chunks(),
      });
      assert.equal(msg.kind, 'file');
      assert.equal(msg.file?.size, bytes.length);
      assert.equal(msg.file?.name, 'Ünïcode plan.bin');
      assert.equal((await live).id, msg.id);

      const got = await bob.download(msg.file?.id as string);
      assert.equal(got.name, 'Ünïcode plan.bin');
      assert.equal(got.contentType, 'application/x-test');
      assert.ok(Buffer.from(got.data).equals(bytes), 'downloaded bytes equal the uploaded ones');
      const hist = await bob.history(ids.closed);
      assert.equal(hist.at(-1)?.file?.url, `/api/files/${msg.file?.id}`);
      assert.equal(storedFiles(data.dir).length, 1);
    } finally {
      await conn.close();
    }
  });

  test('an oversized upload is refused with 413 FILE_TOO_LARGE and stores nothing', async () => {
    const token = await signIn(server.url, 'alice');
    const before = storedFiles(data.dir).length;
    const histBefore = await http(server.url, 'GET', `/api/rooms/${ids.closed}/messages`, { token });
    // declared too large (Content-Length) …
    const declared = await http(server.url, 'POST', `/api/rooms/${ids.closed}/files`, {
      token,
      raw: randomBytes(300 * 1024),
      headers: { 'x-file-name': 'big.bin', 'content-type': 'application/octet-stream' },
    });
    assert.equal(declared.status, 413);
    assert.equal(declared.body.error.code, 'FILE_TOO_LARGE');
    // … and streamed without a length: refused while streaming
    const alice = new PchatClient(server.url, { token });
    async function* big() {
      for (let i = 0; i < 40; i++) yield randomBytes(16 * 1024);
    }
    await assert.rejects(
      alice.upload(ids.closed, { name: 'big2.bin', body: big() }),
      (e: { code: string; status: number }) => {
        return e.code === 'FILE_TOO_LARGE' && e.status === 413;
      },
    );
    assert.equal(storedFiles(data.dir).length, before, 'nothing stored');
    assert.deepEqual(readdirSync(join(data.dir, 'files', 'tmp')), [], 'no temporary leftovers');
    const histAfter = await http(server.url, 'GET', `/api/rooms/${ids.closed}/messages`, { token });
    assert.deepEqual(histAfter.body.messages, histBefore.body.messages, 'no file message');
    // a missing name
    const noName = await http(server.url, 'POST', `/api/rooms/${ids.closed}/files`, { token, raw: 'abc' });
    assert.equal(noName.body.error.field, 'name');
  });

  test('non-members cannot upload into or download from a room', async () => {
    const alice = new PchatClient(server.url, { token: await signIn(server.url, 'alice') });
    const inClosed = await alice.upload(ids.closed, {
      name: 'c.txt',
      contentType: 'text/plain',
      body: Buffer.from('closed'),
    });
    const inSecret = await alice.upload(ids.secret, {
      name: 's.txt',
      contentType: 'text/plain',
      body: Buffer.from('secret'),
    });
    const carol = new PchatClient(server.url, { token: await signIn(server.url, 'carol') });
    await assert.rejects(carol.download(inClosed.file?.id as string), (e: { code: string; status: number }) => {
      return e.code === 'NOT_A_MEMBER' && e.status === 403;
    });
    await assert.rejects(carol.download(inSecret.file?.id as string), (e: { code: string; status: number }) => {
      return e.code === 'FILE_NOT_FOUND' && e.status === 404;
    });
    await assert.rejects(carol.download('no-such-file'), { code: 'FILE_NOT_FOUND' });
    await assert.rejects(carol.upload(ids.closed, { name: 'x.txt', body: Buffer.from('x') }), { code: 'NOT_A_MEMBER' });
    const anon = await http(server.url, 'GET', `/api/files/${inClosed.file?.id}`);
    assert.equal(anon.status, 401);
  });
});
