// Two users in different processes chat in a closed room through the WebSocket API; a third, not a member,
// can neither see nor join it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { PchatClient } from '../../src/client/index.js';
import {
  PASSWORD,
  type Seeded,
  type ServerProcess,
  seedStandard,
  startServer,
  tempDataDir,
  uri,
} from '../support/server.js';

const data = tempDataDir();
let ids: Seeded;
let server: ServerProcess;

before(async () => {
  ids = await seedStandard(data.dir);
  server = await startServer(data.dir);
});
after(async () => {
  await server?.stop();
  data.remove();
});

test('alice and bob, each in a process of their own, chat in a closed room; carol cannot see or join it', async () => {
  const peer = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/chat-peer.ts', server.url, uri('bob'), PASSWORD, ids.closed],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  peer.on('error', (e) => {
    out += `\npeer failed to start: ${e.message}\n`;
  });
  peer.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => peer.once('exit', resolve));
  const deadline = Date.now() + 15_000;
  while (!out.includes('ready\n')) {
    assert.ok(Date.now() < deadline, `peer never became ready: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  const alice = new PchatClient(server.url);
  await alice.signIn(uri('alice'), PASSWORD);
  const conn = await alice.connect({ reconnect: false });
  const [joined] = await conn.join([ids.closed]);
  assert.equal(joined?.ok, true);
  const pong = conn.next('message', (m) => m.text === `pong from ${uri('bob')}`);
  await conn.post(ids.closed, { text: 'ping from alice' });
  const reply = await pong;
  assert.equal(reply.author, uri('bob'));
  assert.equal(await exited, 0);
  const { seen } = JSON.parse(out.trim().split('\n').pop() as string) as { seen: { author: string; text: string }[] };
  assert.deepEqual(seen, [
    { author: uri('alice'), text: 'ping from alice' },
    { author: uri('bob'), text: `pong from ${uri('bob')}` },
  ]);

  const carol = new PchatClient(server.url);
  await carol.signIn(uri('carol'), PASSWORD);
  const rooms = await carol.rooms();
  assert.equal(
    rooms.some((r) => r.id === ids.closed),
    true,
    'a closed room is visible to people in the category scope',
  );
  const carolConn = await carol.connect({ reconnect: false });
  const [refused] = await carolConn.join([ids.closed]);
  assert.equal(refused?.ok, false);
  assert.equal(refused && !refused.ok && refused.code, 'NOT_A_MEMBER');
  const [secret] = await carolConn.join([ids.secret]);
  assert.equal(secret && !secret.ok && secret.code, 'ROOM_NOT_FOUND');
  assert.equal(
    (await carol.rooms()).some((r) => r.id === ids.secret),
    false,
  );
  await assert.rejects(carol.history(ids.closed), (e: { code?: string }) => e.code === 'NOT_A_MEMBER');
  await carolConn.close();
  await conn.close();
});
