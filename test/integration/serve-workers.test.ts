// `pchat serve --workers N`: worker processes sharing one HTTP port, each a pool member on one PostgreSQL store
// and one NATS. Two clients that land on different workers (seen in the pool registry and `pchat pool status`:
// one connection on fe-w0, one on fe-w1) share a room and each receives every message of the other exactly
// once, in the store's id order. Without PostgreSQL and a bus, --workers 2 is refused with INVALID_VALUE.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { connect as natsConnect } from '@nats-io/transport-node';
import { PchatClient } from '../../src/client/client.js';
import type { PchatConnection } from '../../src/client/connection.js';
import type { MessageView } from '../../src/client/types.js';
import { PoolRegistry } from '../../src/pool/registry.js';
import { runPchat } from '../support/cli.js';
import { natsUrl } from '../support/nats.js';
import { pgSchema } from '../support/pg.js';
import { eventually, PASSWORD, type Seeded, seedStandard, tempDataDir, uri } from '../support/server.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** The worker processes of the primary `pid` (its node children; tsx's esbuild service left out). */
function workerPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'esbuild') out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PCHAT_')));

describe('pchat serve --workers refuses what it cannot share', () => {
  const data = tempDataDir('pchat-workers-refuse-');
  after(() => data.remove());

  test('--workers 2 on the embedded SQLite store: INVALID_VALUE, nothing starts', async () => {
    const r = await runPchat(['serve', '--workers', '2', '--data', data.dir, '--port', '0'], {
      PCHAT_SIP_ENABLED: 'false',
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /pchat: error INVALID_VALUE: workers: --workers 2 needs a PostgreSQL store/);
    assert.doesNotMatch(r.stdout, /listening/);
  });

  test('--workers 2 with PostgreSQL but no bus: INVALID_VALUE naming --bus', async () => {
    const r = await runPchat(
      ['serve', '--workers', '2', '--data', data.dir, '--db', 'postgres://nobody@127.0.0.1:1/none', '--port', '0'],
      { PCHAT_SIP_ENABLED: 'false' },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /pchat: error INVALID_VALUE: workers: .*give --bus nats:\/\//);
  });

  test('--workers 0 and --workers two: INVALID_VALUE', async () => {
    for (const n of ['0', 'two']) {
      const r = await runPchat(['serve', '--workers', n, '--data', data.dir, '--port', '0'], {
        PCHAT_SIP_ENABLED: 'false',
      });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`INVALID_VALUE: workers: "${n}" is not a number of worker processes`));
    }
  });
});

describe('pchat serve --workers 2 on PostgreSQL and NATS', { timeout: 180_000 }, async () => {
  const pg = await pgSchema('serve-workers');
  const nats = await natsUrl('serve-workers');
  const skip = !pg || !nats;
  const pool = `workers-${Date.now().toString(36)}.test`;
  const data = tempDataDir('pchat-workers-');
  const conns: PchatConnection[] = [];
  let proc: ChildProcess | undefined;
  let exited: Promise<number | null> | undefined;
  let stdout = '';
  let stderr = '';
  let url = '';
  let ids: Seeded;

  before(async () => {
    if (skip) return;
    ids = await seedStandard(data.dir, {}, pg.url);
    const p = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'serve',
        '--workers',
        '2',
        '--data',
        data.dir,
        '--db',
        pg.url,
        '--bus',
        nats,
        '--server-id',
        'fe',
        '--pool',
        pool,
        '--host',
        '127.0.0.1',
        '--port',
        '0',
      ],
      { cwd: ROOT, env: { ...cleanEnv(), PCHAT_LOG_LEVEL: 'warn', PCHAT_SIP_ENABLED: 'false' } },
    );
    proc = p;
    p.on('error', (e) => {
      stderr += `spawn error: ${e.message}`;
    });
    exited = new Promise((resolve) => p.once('exit', (code) => resolve(code)));
    p.stderr?.on('data', (d) => {
      stderr += d;
    });
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "pchat listening" in 60 s:\n${stderr}`)), 60_000);
      p.stdout?.on('data', (d) => {
        stdout += d;
        const m = /pchat listening (http:\/\/\S+) \(2 workers: fe-w0, fe-w1\)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      p.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited with ${code}:\n${stderr}`));
      });
    });
  });

  after(async () => {
    for (const c of conns) await c.close().catch(() => {});
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc?.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
    }
    await pg?.drop();
    data.remove();
  });

  test('two clients on different workers: messages both ways, each exactly once, in id order', { skip }, async () => {
    const nc = await natsConnect({ servers: nats as string });
    try {
      const registry = await PoolRegistry.open(nc, pool);
      const counts = async () => {
        const m = new Map<string, number>();
        for (const s of await registry.list()) if (s.alive) m.set(s.id, s.connections);
        return m;
      };
      await eventually(async () => (await counts()).size === 2, 20_000, 'both workers in the registry');

      // connect clients one at a time until one sits on each worker (the primary hands connections out in turn)
      const byWorker = new Map<string, { conn: PchatConnection; got: MessageView[]; name: string }>();
      const names = ['alice', 'bob', 'carol', 'dave', 'frank'];
      for (let k = 0; k < names.length && byWorker.size < 2; k++) {
        const before = await counts();
        const name = names[k] as string;
        const client = new PchatClient(url);
        await client.signIn(uri(name), PASSWORD);
        const conn = await client.connect({ reconnect: false });
        conns.push(conn);
        const got: MessageView[] = [];
        conn.on('message', (m) => {
          if (m.roomId === ids.open) got.push(m);
        });
        const [j] = await conn.join([ids.open]);
        assert.equal(j?.ok, true, `${name} joins`);
        const grew = await eventually(
          async () => {
            const now = await counts();
            const up = [...now].filter(([id, n]) => n > (before.get(id) ?? 0)).map(([id]) => id);
            return up.length === 1 ? up[0] : undefined;
          },
          20_000,
          `${name}'s session in one worker's heartbeat`,
        );
        if (!byWorker.has(grew)) byWorker.set(grew, { conn, got, name });
      }
      assert.deepEqual([...byWorker.keys()].sort(), ['fe-w0', 'fe-w1'], 'a client on each worker');
      const status = await runPchat(['pool', 'status', '--bus', nats as string, '--pool', pool, '--json']);
      assert.equal(status.code, 0, status.stderr);
      const st = JSON.parse(status.stdout) as { servers: { id: string; alive: boolean; connections: number }[] };
      assert.deepEqual(
        st.servers.map((s) => [s.id, s.alive, s.connections > 0]),
        [
          ['fe-w0', true, true],
          ['fe-w1', true, true],
        ],
      );

      const a = byWorker.get('fe-w0') as { conn: PchatConnection; got: MessageView[]; name: string };
      const b = byWorker.get('fe-w1') as { conn: PchatConnection; got: MessageView[]; name: string };
      const acked = (
        await Promise.all(
          [a, b].map(async (p, i) => {
            const out: MessageView[] = [];
            for (let k = 0; k < 15; k++) out.push(await p.conn.post(ids.open, { text: `w${i}/${k}` }));
            return out;
          }),
        )
      ).flat();
      const expected = acked.map((m) => m.id).sort((x, y) => x - y);
      assert.equal(new Set(expected).size, 30, 'every post got its own id');
      for (const p of [a, b]) {
        await eventually(() => p.got.length >= 30, 20_000, `${p.name} receives all 30`);
      }
      await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive by now
      for (const p of [a, b]) {
        assert.deepEqual(
          p.got.map((m) => m.id),
          expected,
          `${p.name}: each message once, in id order`,
        );
        assert.deepEqual(
          p.got.map((m) => m.text).sort(),
          acked.map((m) => m.text).sort(),
          `${p.name}: the texts of both sides`,
        );
      }
    } finally {
      await nc.close();
    }
  });

  test('a worker killed with SIGKILL is started again; the port keeps serving', { skip }, async () => {
    for (const c of conns.splice(0)) await c.close().catch(() => {});
    const pid = proc?.pid as number;
    const before = workerPids(pid);
    assert.equal(before.length, 2, 'two worker processes');
    process.kill(before[1] as number, 'SIGKILL');
    const after = await eventually(
      () => {
        const now = workerPids(pid);
        return now.length === 2 && !now.includes(before[1] as number) ? now : undefined;
      },
      30_000,
      'a new worker process',
    );
    assert.ok(after.includes(before[0] as number), 'the other worker kept running');
    assert.match(stderr, /worker exited; starting it again/);
    // every connection still lands on a live worker: sign-ins over fresh connections succeed
    for (let k = 0; k < 4; k++) {
      const res = await eventually(
        async () => {
          const r = await fetch(`${url}/api/sessions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', connection: 'close' },
            body: JSON.stringify({ user: uri('carol'), password: PASSWORD }),
          }).catch(() => undefined);
          return r?.status === 201 ? r : undefined;
        },
        30_000,
        `sign-in ${k} after the restart`,
      );
      assert.equal(res.status, 201);
    }
  });

  test('SIGTERM stops the primary and both workers', { skip }, async () => {
    const workers = workerPids(proc?.pid as number);
    proc?.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    assert.equal(code, 0, stderr);
    for (const w of workers) {
      assert.throws(() => process.kill(w, 0), /ESRCH/, `worker ${w} is gone`);
    }
  });
});
