// The pool's NATS stopped and started again under two running servers: while it is away each server still
// commits and delivers to its own sessions; once it is back, each server catches up from the store, so the users
// of the other server receive what was posted meanwhile: once each, in id order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PchatClient } from '../../src/client/client.js';
import type { PchatConnection } from '../../src/client/connection.js';
import type { MessageView } from '../../src/client/types.js';
import { ThrowawayNats } from '../support/nats.js';
import { type PgSchema, pgSchema } from '../support/pg.js';
import {
  eventually,
  PASSWORD,
  type Seeded,
  type ServerProcess,
  seedStandard,
  startServer,
  tempDataDir,
  uri,
} from '../support/server.js';

describe('pool bus outage', async () => {
  const pg = await pgSchema('pool bus outage');
  const nats = pg ? await ThrowawayNats.start() : undefined;
  const skip = !pg || !nats;
  const data = tempDataDir('pchat-outage-');
  const servers: ServerProcess[] = [];
  const conns: PchatConnection[] = [];
  let ids: Seeded;

  before(async () => {
    if (skip) return;
    ids = await seedStandard(data.dir, {}, (pg as PgSchema).url);
    for (const id of ['fe1', 'fe2']) {
      servers.push(
        await startServer(data.dir, {
          env: {
            PCHAT_DB: (pg as PgSchema).url,
            PCHAT_BUS: (nats as ThrowawayNats).url,
            PCHAT_SERVER_ID: id,
            PCHAT_POOL: 'outage.test',
          },
        }),
      );
    }
  });
  after(async () => {
    for (const c of conns) await c.close().catch(() => {});
    for (const s of servers) await s.stop();
    await nats?.destroy();
    await pg?.drop();
    data.remove();
  });

  test('chat between servers pauses and resumes; catch-up fills the gap', { skip }, async () => {
    const join = async (name: string, server: ServerProcess) => {
      const c = new PchatClient(server.url);
      await c.signIn(uri(name), PASSWORD);
      const conn = await c.connect({ reconnect: false });
      conns.push(conn);
      const got: MessageView[] = [];
      conn.on('message', (m) => got.push(m));
      assert.equal((await conn.join([ids.open]))[0]?.ok, true);
      return { conn, got };
    };
    const alice = await join('alice', servers[0] as ServerProcess);
    const bob = await join('bob', servers[1] as ServerProcess);
    const first = await alice.conn.post(ids.open, { text: 'before the outage' });
    await eventually(() => bob.got.some((m) => m.id === first.id), 10_000, 'bob gets the first message');

    await (nats as ThrowawayNats).down();
    const during: MessageView[] = [];
    for (let i = 0; i < 10; i++) during.push(await alice.conn.post(ids.open, { text: `during ${i}` }));
    // alice's own server delivered them to her at once
    await eventually(() => during.every((m) => alice.got.some((g) => g.id === m.id)), 5_000, 'local delivery');
    assert.ok(!during.some((m) => bob.got.some((g) => g.id === m.id)), 'bob has none yet: the bus is down');

    await (nats as ThrowawayNats).up();
    await eventually(() => during.every((m) => bob.got.some((g) => g.id === m.id)), 30_000, 'bob catches up');
    const afterwards = await bob.conn.post(ids.open, { text: 'after the outage' });
    await eventually(() => alice.got.some((m) => m.id === afterwards.id), 15_000, 'alice hears bob again');
    for (const p of [alice, bob]) {
      const got = p.got.map((m) => m.id);
      assert.equal(new Set(got).size, got.length, 'once each');
      assert.deepEqual(
        got,
        [...got].sort((a, b) => a - b),
        'in id order',
      );
    }
  });
});
