// Disaster recovery of a pool: two servers on a primary PostgreSQL with a synchronous streaming replica as the
// backup database (`pg_basebackup -R`). The primary dies, the operator promotes the replica and sets the pool state
// to failed-over: both servers switch to the backup, chat goes on over the same connections, and nothing that was
// acknowledged is lost. Then the old primary is rebuilt from the backup and the pool fails back to it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { PchatClient } from '../../src/client/client.js';
import type { PchatConnection } from '../../src/client/connection.js';
import type { MessageView } from '../../src/client/types.js';
import { runPchat as pchat } from '../support/cli.js';
import { natsUrl } from '../support/nats.js';
import { PgCluster, requireClusters } from '../support/pg-cluster.js';
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

async function maxMessageId(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query('SELECT coalesce(max(id), 0) AS m FROM messages');
    return Number(r.rows[0].m);
  } finally {
    await c.end();
  }
}

describe('pool failover to a streaming replica and back', async () => {
  const nats = await natsUrl('pool failover');
  const can = requireClusters('pool failover') && nats !== undefined;
  const pool = `dr-${Date.now().toString(36)}.test`;
  const bus = ['--bus', nats as string, '--pool', pool];
  const data = tempDataDir('pchat-dr-');
  let primary: PgCluster;
  let backup: PgCluster;
  const servers: ServerProcess[] = [];
  const conns: PchatConnection[] = [];
  let ids: Seeded;

  before(async () => {
    if (!can) return;
    primary = await PgCluster.primary({ syncReplica: true });
    backup = await PgCluster.replicaOf(primary);
    ids = await seedStandard(data.dir, {}, primary.url);
    for (const id of ['fe1', 'fe2']) {
      servers.push(
        await startServer(data.dir, {
          env: {
            PCHAT_DB: primary.url,
            PCHAT_BACKUP_DB: backup.url,
            PCHAT_BUS: nats as string,
            PCHAT_SERVER_ID: id,
            PCHAT_POOL: pool,
          },
        }),
      );
    }
  });
  after(async () => {
    for (const c of conns) await c.close().catch(() => {});
    for (const s of servers) await s.stop();
    primary?.destroy();
    backup?.destroy();
    data.remove();
  });

  test('fail over, chat on, fail back: every acknowledged message survives', { skip: !can }, async () => {
    const people: { conn: PchatConnection; got: MessageView[] }[] = [];
    for (const [i, name] of ['alice', 'bob'].entries()) {
      const c = new PchatClient((servers[i] as ServerProcess).url);
      await c.signIn(uri(name), PASSWORD);
      const conn = await c.connect({ reconnect: false });
      conns.push(conn);
      const got: MessageView[] = [];
      conn.on('message', (m) => got.push(m));
      assert.equal((await conn.join([ids.open]))[0]?.ok, true);
      people.push({ conn, got });
    }
    const acked: MessageView[] = [];
    /** Posts until `n` more are acknowledged by each person (a post refused while the store switches is retried). */
    const postRound = async (tag: string, n: number) => {
      await Promise.all(
        people.map(async (p, i) => {
          const deadline = Date.now() + 60_000;
          for (let k = 0; k < n; ) {
            if (Date.now() > deadline) throw new Error(`posting (${tag}) did not resume within 60 s`);
            try {
              acked.push(await p.conn.post(ids.open, { text: `${tag}/${i}/${k}` }));
              k++;
            } catch {
              await new Promise((r) => setTimeout(r, 200));
            }
          }
        }),
      );
    };
    const waitDatabase = async (which: 'primary' | 'backup') => {
      await eventually(
        async () => {
          const r = await pchat(['pool', 'status', ...bus, '--json']);
          if (r.code !== 0) return false;
          const st = JSON.parse(r.stdout) as { servers: { database: string }[] };
          return st.servers.length === 2 && st.servers.every((s) => s.database === which);
        },
        60_000,
        `both servers on the ${which} database`,
      );
    };

    await postRound('before', 10);

    // the primary site is lost; the operator promotes the replica and fails the pool over
    primary.stop('immediate');
    backup.promote();
    const set = await pchat(['pool', 'state', 'set', '--state', 'failed-over', ...bus, '--json']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(JSON.parse(set.stdout).state, 'failed-over');
    await waitDatabase('backup');
    await postRound('failed-over', 10);

    // fail back: the old primary is rebuilt from the backup, catches up, and takes over again
    primary = await PgCluster.replicaOf(backup, primary);
    const newest = await maxMessageId(backup.url);
    await eventually(async () => (await maxMessageId(primary.url)) >= newest, 60_000, 'the rebuilt primary caught up');
    backup.stop('fast');
    primary.promote();
    const back = await pchat(['pool', 'state', 'set', '--state', 'normal', ...bus]);
    assert.equal(back.code, 0, back.stderr);
    await waitDatabase('primary');
    await postRound('failed-back', 5);

    const reader = new PchatClient((servers[0] as ServerProcess).url);
    await reader.signIn(uri('carol'), PASSWORD);
    const stored = (await reader.history(ids.open, { limit: 500 })).map((m) => m.id);
    assert.equal(acked.length, 50);
    assert.equal(new Set(stored).size, stored.length, 'nothing stored twice');
    for (const m of acked) assert.ok(stored.includes(m.id), `acknowledged ${m.id} (${m.text}) survived`);
    // both users saw every acknowledged message live, over the same connections, in id order
    for (const p of people) {
      await eventually(() => acked.every((m) => p.got.some((g) => g.id === m.id)), 15_000, 'live delivery');
      const got = p.got.map((m) => m.id);
      assert.deepEqual(
        got,
        [...got].sort((a, b) => a - b),
      );
      assert.equal(new Set(got).size, got.length);
    }
  });
});
