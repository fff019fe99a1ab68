// A pool of three front-end server processes on one real PostgreSQL store and one real NATS: clients spread over
// the servers in one room each receive every message exactly once and in one order (the store's id order); a
// server killed with SIGKILL loses no acknowledged message and its clients catch up on another server; a standby
// server refuses new sign-ins with SERVER_STANDBY and --swap moves the traffic; `pchat pool status` shows them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PchatClient } from '../../src/client/client.js';
import type { PchatConnection } from '../../src/client/connection.js';
import type { MessageView } from '../../src/client/types.js';
import { runPchat as pchat } from '../support/cli.js';
import { natsUrl } from '../support/nats.js';
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

interface Peer {
  name: string;
  server: string;
  client: PchatClient;
  conn: PchatConnection;
  got: MessageView[];
}

describe('a pool of three servers on PostgreSQL and NATS', async () => {
  const pg = await pgSchema('pool');
  const nats = await natsUrl('pool');
  const skip = !pg || !nats;
  const pool = `pool-${Date.now().toString(36)}.test`;
  const data = tempDataDir('pchat-pool-');
  const servers = new Map<string, ServerProcess>();
  const clients: PchatClient[] = [];
  const peers: Peer[] = [];
  let ids: Seeded;

  const start = (id: string) =>
    startServer(data.dir, {
      env: {
        PCHAT_DB: (pg as PgSchema).url,
        PCHAT_BUS: nats as string,
        PCHAT_SERVER_ID: id,
        PCHAT_POOL: pool,
        PCHAT_TEST_POLL_MS: '2000',
      },
    });

  async function peer(name: string, server: string, movable = false): Promise<Peer> {
    const s = servers.get(server) as ServerProcess;
    const others = [...servers.values()].filter((o) => o !== s).map((o) => o.url);
    const c = new PchatClient(s.url, movable ? { servers: others } : {});
    clients.push(c);
    await c.signIn(uri(name), PASSWORD);
    const conn = await c.connect(movable ? { reconnect: true, minDelayMs: 50, maxDelayMs: 500 } : { reconnect: false });
    const p: Peer = { name, server, client: c, conn, got: [] };
    conn.on('message', (m) => {
      if (m.roomId === ids.open) p.got.push(m);
    });
    const [j] = await conn.join([ids.open]);
    assert.equal(j?.ok, true, `${name} joins on ${server}`);
    peers.push(p);
    return p;
  }

  before(async () => {
    if (skip) return;
    ids = await seedStandard(data.dir, {}, pg.url);
    for (const id of ['fe1', 'fe2', 'fe3']) servers.set(id, await start(id));
  });
  after(async () => {
    for (const p of peers) await p.conn.close().catch(() => {});
    for (const s of servers.values()) await s.stop();
    await pg?.drop();
    data.remove();
  });

  test('clients on three servers see every message exactly once, in the store id order', { skip }, async () => {
    const names = ['alice', 'bob', 'carol', 'dave', 'frank', 'alice'];
    const ps: Peer[] = [];
    for (let i = 0; i < names.length; i++) ps.push(await peer(names[i] as string, `fe${(i % 3) + 1}`));
    // everyone posts at once, 20 each, so commits of different servers interleave
    const acked = (
      await Promise.all(
        ps.map(async (p, i) => {
          const out: MessageView[] = [];
          for (let k = 0; k < 20; k++) out.push(await p.conn.post(ids.open, { text: `${p.server}/${i}/${k}` }));
          return out;
        }),
      )
    ).flat();
    const expected = acked.map((m) => m.id).sort((a, b) => a - b);
    assert.equal(new Set(expected).size, 120, 'every post got its own id');
    for (const p of ps) {
      await eventually(() => p.got.length >= 120, 15_000, `${p.name}@${p.server} receives all 120`);
    }
    await new Promise((r) => setTimeout(r, 300)); // anything extra (a duplicate) would arrive by now
    for (const p of ps) {
      assert.deepEqual(
        p.got.map((m) => m.id),
        expected,
        `${p.name}@${p.server}: each message once, in id order`,
      );
    }
    for (const p of ps) await p.conn.close();
    peers.length = 0;
  });

  test('pchat pool status lists the three servers; a standby refuses new sign-ins; --swap moves traffic', {
    skip,
  }, async () => {
    const bus = ['--bus', nats as string, '--pool', pool];
    const status = await pchat(['pool', 'status', ...bus, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const st = JSON.parse(status.stdout);
    assert.deepEqual(
      st.servers.map((s: { id: string; role: string; alive: boolean }) => [s.id, s.role, s.alive]),
      [
        ['fe1', 'active', true],
        ['fe2', 'active', true],
        ['fe3', 'active', true],
      ],
    );
    assert.equal(st.state, 'normal');

    // fe3 stays connected for bob; then fe3 becomes standby
    const fe3 = servers.get('fe3') as ServerProcess;
    const bob = await peer('bob', 'fe3');
    const r = await pchat(['pool', 'active-servers', '--remove', 'fe3', ...bus, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).activeServers, ['fe1', 'fe2']);
    const refused = await eventually(
      async () => {
        const res = await fetch(`${fe3.url}/api/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user: uri('carol'), password: PASSWORD }),
        });
        return res.status === 503 ? ((await res.json()) as { error: { code: string; message: string } }) : undefined;
      },
      10_000,
      'fe3 refusing sign-ins',
    );
    assert.equal(refused.error.code, 'SERVER_STANDBY');
    assert.match(refused.error.message, /fe3 is on standby/);
    assert.match(refused.error.message, new RegExp((servers.get('fe1') as ServerProcess).url.replace(/\./g, '\\.')));
    // the existing session on the standby server keeps working
    const m = await bob.conn.post(ids.open, { text: 'still here on a standby server' });
    assert.ok(m.id > 0);
    // --swap: fe3 becomes the only active server, fe1 and fe2 refuse
    const swapped = await pchat(['pool', 'active-servers', '--swap', ...bus, '--json']);
    assert.equal(swapped.code, 0, swapped.stderr);
    assert.deepEqual(JSON.parse(swapped.stdout).activeServers, ['fe3']);
    const fe1 = servers.get('fe1') as ServerProcess;
    await eventually(
      async () => {
        const res = await fetch(`${fe1.url}/api/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user: uri('carol'), password: PASSWORD }),
        });
        return res.status === 503;
      },
      10_000,
      'fe1 refusing after the swap',
    );
    const ok = await fetch(`${fe3.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: uri('carol'), password: PASSWORD }),
    });
    assert.equal(ok.status, 201, 'fe3 is active again');
    const back = await pchat(['pool', 'active-servers', '--add', 'fe1,fe2', ...bus, '--json']);
    assert.deepEqual(JSON.parse(back.stdout).activeServers, ['fe1', 'fe2', 'fe3']);
    await bob.conn.close();
    peers.length = 0;
  });

  test('SIGKILL of one server while clients post: every acknowledged message is stored once, the others see them', {
    skip,
  }, async () => {
    const a = await peer('alice', 'fe1');
    const b = await peer('bob', 'fe2', true); // knows the other servers: moves there when fe2 dies
    const c = await peer('carol', 'fe3');
    const fe2Url = b.client.baseUrl;
    const moved = b.conn.next('reconnected', () => true, 30_000);
    const acked: MessageView[] = [];
    let stop = false;
    const posting = [a, b, c].map(async (p, i) => {
      for (let k = 0; !stop && k < 200; k++) {
        try {
          acked.push(await p.conn.post(ids.open, { text: `kill/${i}/${k}` }));
        } catch {
          if (p.server === 'fe2') return; // its server died under it
          throw new Error(`a post on ${p.server} failed`);
        }
      }
    });
    await eventually(() => acked.length >= 30, 15_000, 'posts flowing');
    await (servers.get('fe2') as ServerProcess).kill();
    servers.delete('fe2');
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(posting);
    // bob's connection moved to another server by itself and caught up from the last id it saw
    await moved;
    assert.notEqual(b.client.baseUrl, fe2Url, 'bob is on another server now');
    await eventually(() => acked.every((m) => b.got.some((g) => g.id === m.id)), 10_000, 'bob caught up');
    const seen = new Set(b.got.map((m) => m.id));
    assert.equal(seen.size, b.got.length, 'bob: no duplicate across the move');
    const reader = new PchatClient((servers.get('fe3') as ServerProcess).url);
    clients.push(reader);
    await reader.signIn(uri('dave'), PASSWORD);
    const all = await reader.history(ids.open, { limit: 500 });
    const stored = all.map((m) => m.id);
    assert.equal(new Set(stored).size, stored.length, 'nothing stored twice');
    for (const m of acked) {
      assert.ok(stored.includes(m.id), `acknowledged message ${m.id} is in history`);
      assert.ok(seen.has(m.id), `bob has ${m.id} after catching up`);
    }
    // the survivors each received every acknowledged message once
    for (const p of [a, c]) {
      await eventually(() => acked.every((m) => p.got.some((g) => g.id === m.id)), 10_000, `${p.name} has all`);
      const got = p.got.map((m) => m.id);
      assert.equal(new Set(got).size, got.length, `${p.name}: no duplicate`);
      assert.deepEqual(
        got,
        [...got].sort((x, y) => x - y),
        `${p.name}: in id order`,
      );
    }
  });
});
