// The SDK's reconnect against a real server process: after a dropped socket, a server restart or an expired
// token, the connection signs in again, rejoins its rooms and catches up from the last message it saw, so
// every message arrives exactly once and in order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PchatClient, type PchatConnection } from '../../src/client/index.js';
import {
  http,
  PASSWORD,
  type Seeded,
  type ServerProcess,
  seedStandard,
  startServer,
  tempDataDir,
  uri,
} from '../support/server.js';

describe('reconnect', () => {
  const data = tempDataDir();
  let ids: Seeded;
  let server: ServerProcess;
  let bob: PchatClient;

  before(async () => {
    ids = await seedStandard(data.dir);
    server = await startServer(data.dir);
    bob = new PchatClient(server.url);
    await bob.signIn(uri('bob'), PASSWORD);
  });
  after(async () => {
    await server?.stop();
    data.remove();
  });

  async function aliceIn(
    room: string,
    minDelayMs = 400,
  ): Promise<{ client: PchatClient; conn: PchatConnection; got: number[] }> {
    const client = new PchatClient(server.url);
    await client.signIn(uri('alice'), PASSWORD);
    const conn = await client.connect({ minDelayMs, maxDelayMs: 2 * minDelayMs });
    const got: number[] = [];
    conn.on('message', (m) => {
      if (m.roomId === room) got.push(m.id);
    });
    const [j] = await conn.join(room);
    assert.equal(j?.ok, true);
    return { client, conn, got };
  }

  async function waitFor(got: number[], ids: number[], ms = 10_000): Promise<void> {
    const until = Date.now() + ms;
    while (!ids.every((id) => got.includes(id))) {
      if (Date.now() > until) throw new Error(`missing ${ids.filter((id) => !got.includes(id)).join(',')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test('a dropped socket catches up what was posted meanwhile, without duplicates', async () => {
    const { conn, got } = await aliceIn(ids.closed, 1500);
    try {
      const posted: number[] = [];
      for (let i = 0; i < 3; i++) posted.push((await bob.post(ids.closed, { text: `before ${i}` })).id);
      await waitFor(got, posted);
      const disconnected = conn.next('disconnected');
      const reconnected = conn.next('reconnected');
      conn.dropSocket();
      await disconnected;
      for (let i = 0; i < 5; i++) posted.push((await bob.post(ids.closed, { text: `during ${i}` })).id);
      assert.equal(got.length, 3, 'nothing arrived while the socket was down');
      // keep posting while the connection rejoins and catches up: live events overlap the catch-up
      let rejoined = false;
      const busy = (async () => {
        for (let i = 0; !rejoined; i++) {
          posted.push((await bob.post(ids.closed, { text: `racing ${i}` })).id);
          // paced: unpaced on an idle machine bob spends his whole request budget (50/s, burst 200) and is refused
          await new Promise((res) => setTimeout(res, 10));
        }
      })();
      const r = await reconnected;
      await new Promise((res) => setTimeout(res, 50));
      rejoined = true;
      await busy;
      assert.deepEqual(r.rooms, [ids.closed]);
      for (let i = 0; i < 2; i++) posted.push((await bob.post(ids.closed, { text: `after ${i}` })).id);
      await waitFor(got, posted);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(got, posted, 'each message once, in order');
    } finally {
      await conn.close();
    }
  });

  test('an expired token is replaced by signing in again with the kept credentials', async () => {
    const { client, conn, got } = await aliceIn(ids.open);
    try {
      const old = client.token as string;
      assert.equal((await http(server.url, 'DELETE', '/api/sessions/current', { token: old })).status, 204);
      const reconnected = conn.next('reconnected');
      conn.dropSocket();
      const m = await bob.post(ids.open, { text: 'while alice re-signs in' });
      await reconnected;
      assert.notEqual(client.token, old, 'a fresh token');
      await waitFor(got, [m.id]);
      assert.deepEqual(got, [m.id]);
    } finally {
      await conn.close();
    }
  });

  test('a server restart (SIGKILL) is survived: rejoined and caught up exactly once', async () => {
    const { conn, got } = await aliceIn(ids.secret);
    try {
      const posted = [(await bob.post(ids.secret, { text: 'before the crash' })).id];
      await waitFor(got, posted);
      const disconnected = conn.next('disconnected');
      const port = server.port;
      await server.kill();
      await disconnected;
      server = await startServer(data.dir, { port });
      bob = new PchatClient(server.url, { token: bob.token });
      for (let i = 0; i < 4; i++) posted.push((await bob.post(ids.secret, { text: `after restart ${i}` })).id);
      await waitFor(got, posted, 15_000);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(got, posted);
      assert.ok(conn.joined.has(ids.secret));
    } finally {
      await conn.close();
    }
  });
});
