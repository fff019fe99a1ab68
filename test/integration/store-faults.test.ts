// Issue #9 item 5, store side: a PostgreSQL restart under a running server, and a full disk under SQLite. Every
// request that needs the store answers 503 STORE_UNAVAILABLE while it is away (never 500), the server keeps
// answering, and it recovers by itself (the pool reconnects; space freed is used again) with nothing lost.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminService } from '../../src/admin/admin-service.js';
import { PchatClient, type PchatConnection } from '../../src/client/index.js';
import { PchatError } from '../../src/core/errors.js';
import { openStore } from '../../src/store/open.js';
import { DOMAIN, eventually, http, PASSWORD, type ServerProcess, signIn, startServer, uri } from '../support/server.js';
import { type PgCluster, throwawayCluster } from '../support/throwaway-pg.js';

async function seed(loc: { db?: string; dataDir: string }): Promise<string> {
  const store = await openStore(loc);
  try {
    const admin = new AdminService(store, { realm: 'pchat', domain: DOMAIN, pool: DOMAIN });
    await admin.setPolicy('global', { enablePersistentChat: true });
    await admin.addUser(uri('alice'), { password: PASSWORD });
    const cat = await admin.newCategory({ name: 'Engineering', allowedMembers: { replace: [`domain:${DOMAIN}`] } });
    return (await admin.newRoom({ name: 'faults', category: cat.id, privacy: 'open' })).id;
  } finally {
    await store.close();
  }
}

describe('store adapters map driver errors', () => {
  test('an unreachable PostgreSQL is STORE_UNAVAILABLE with the driver error as its cause', async () => {
    await assert.rejects(
      openStore({ db: 'postgres://nobody@127.0.0.1:1/none', dataDir: '.' }),
      (e: unknown) =>
        e instanceof PchatError &&
        e.code === 'STORE_UNAVAILABLE' &&
        (e.cause as { code?: string } | undefined)?.code === 'ECONNREFUSED',
    );
  });
});

describe('PostgreSQL restarted under a running server', { timeout: 180_000 }, () => {
  let cluster: PgCluster | undefined;
  let server: ServerProcess | undefined;
  let roomId = '';
  const data = mkdtempSync(join(tmpdir(), 'pchat-pgrestart-'));
  const conns: PchatConnection[] = [];

  before(async () => {
    cluster = await throwawayCluster('PostgreSQL restart');
    if (!cluster) return;
    roomId = await seed({ db: cluster.url, dataDir: data });
    server = await startServer(data, { env: { PCHAT_DB: cluster.url } });
  });
  after(async () => {
    for (const c of conns) await c.close();
    await server?.stop();
    cluster?.remove();
    rmSync(data, { recursive: true, force: true });
  });

  test('every request during the outage answers 503 STORE_UNAVAILABLE; the pool reconnects after', async (t) => {
    if (!cluster || !server) return t.skip('no throwaway cluster');
    const base = server.url;
    const token = await signIn(base, 'alice');
    const client = new PchatClient(base);
    await client.signIn(uri('alice'), PASSWORD);
    const conn = await client.connect({ reconnect: false });
    conns.push(conn);
    await conn.join(roomId);
    const before = await http(base, 'POST', `/api/rooms/${roomId}/messages`, { token, body: { text: 'before' } });
    assert.equal(before.status, 201, JSON.stringify(before.body));

    cluster.stop();
    const requests: [string, () => ReturnType<typeof http>][] = [
      ['post', () => http(base, 'POST', `/api/rooms/${roomId}/messages`, { token, body: { text: 'during' } })],
      ['history', () => http(base, 'GET', `/api/rooms/${roomId}/messages`, { token })],
      ['search', () => http(base, 'GET', `/api/search?q=before&room=${roomId}`, { token })],
      ['sign in', () => http(base, 'POST', '/api/sessions', { body: { user: uri('alice'), password: PASSWORD } })],
      ['me', () => http(base, 'GET', '/api/me', { token })],
      ['follow', () => http(base, 'PUT', `/api/follows/${roomId}`, { token })],
      ['prefs', () => http(base, 'PUT', '/api/prefs/x', { token, body: { content: 'y' } })],
      ['feeds', () => http(base, 'GET', '/api/feeds', { token })],
      ['readyz', () => http(base, 'GET', '/readyz')],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [what, call] of requests) {
        const r = await call();
        assert.notEqual(r.status, 500, `${what} during the outage: ${JSON.stringify(r.body)}`);
        if (r.status >= 400) {
          assert.equal(r.status, 503, `${what}: ${JSON.stringify(r.body)}`);
          const c = r.body?.error?.code ?? r.body?.code;
          assert.equal(c, 'STORE_UNAVAILABLE', `${what}: ${JSON.stringify(r.body)}`);
        }
      }
    }
    // the ones that must reach the store really failed (they are not answered from memory)
    for (const what of ['post', 'history', 'sign in', 'readyz']) {
      const entry = requests.find(([w]) => w === what);
      assert.ok(entry);
      const r = await entry[1]();
      assert.equal(r.status, 503, `${what} must need the store`);
    }
    await assert.rejects(conn.post(roomId, { text: 'ws during' }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'STORE_UNAVAILABLE');
      return true;
    });
    assert.equal((await http(base, 'GET', '/healthz')).status, 200, 'the process keeps answering');

    cluster.start();
    const after = await eventually(
      async () => {
        const r = await http(base, 'POST', `/api/rooms/${roomId}/messages`, { token, body: { text: 'after' } });
        return r.status === 201 ? r : undefined;
      },
      20_000,
      'a post to succeed after the restart',
    );
    assert.ok(after.body.message.id > before.body.message.id);
    const ws = await conn.post(roomId, { text: 'ws after' });
    assert.ok(ws.id > after.body.message.id);
    const history = await http(base, 'GET', `/api/rooms/${roomId}/messages`, { token });
    assert.equal(history.status, 200);
    assert.deepEqual(
      history.body.messages.map((m: { text: string }) => m.text),
      ['before', 'after', 'ws after'],
    );
    assert.equal((await http(base, 'GET', '/readyz')).status, 200);
  });
});

describe('SQLite on a full disk', { timeout: 120_000 }, () => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'pchat-full-'));
  let mounted = false;
  let server: ServerProcess | undefined;
  let roomId = '';

  before(async () => {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint], { stdio: 'pipe' });
      mounted = true;
    } catch (e) {
      if (process.env.CI) throw new Error(`CI requires mounting a small tmpfs: ${(e as Error).message}`);
      console.log(`# SKIPPED SQLite on a full disk: cannot mount a tmpfs (${(e as Error).message.split('\n')[0]})`);
      return;
    }
    const dataDir = join(mountPoint, 'data');
    mkdirSync(dataDir);
    roomId = await seed({ dataDir });
    server = await startServer(dataDir);
  });
  after(async () => {
    await server?.stop();
    if (mounted) execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
    rmSync(mountPoint, { recursive: true, force: true });
  });

  test('posts answer 503 STORE_UNAVAILABLE while the disk is full, and work again once space is freed', async (t) => {
    if (!server) return t.skip('no tmpfs');
    const base = server.url;
    const token = await signIn(base, 'alice');
    const ok = await http(base, 'POST', `/api/rooms/${roomId}/messages`, { token, body: { text: 'fits' } });
    assert.equal(ok.status, 201);
    // fill the disk: a filler file takes what is left, then posts of 4,000 characters use up any slack
    const filler = join(mountPoint, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(8 * 1024 * 1024));
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'ENOSPC');
    }
    const statuses: number[] = [];
    for (let i = 0; i < 400 && !statuses.includes(503); i++) {
      const r = await http(base, 'POST', `/api/rooms/${roomId}/messages`, {
        token,
        body: { text: `${i} ${'x'.repeat(4000)}` },
      });
      statuses.push(r.status);
      assert.ok(r.status === 201 || r.status === 503, `post ${i}: ${r.status} ${JSON.stringify(r.body)}`);
      if (r.status === 503) assert.equal(r.body.error.code, 'STORE_UNAVAILABLE');
    }
    assert.ok(statuses.includes(503), 'the disk filled up');
    for (let i = 0; i < 5; i++) {
      const r = await http(base, 'POST', `/api/rooms/${roomId}/messages`, { token, body: { text: `full ${i}` } });
      assert.ok(r.status === 503 || r.status === 201, `${r.status}`);
    }
    assert.equal((await http(base, 'GET', '/healthz')).status, 200);

    rmSync(filler, { force: true });
    const after = await eventually(
      async () => {
        const r = await http(base, 'POST', `/api/rooms/${roomId}/messages`, { token, body: { text: 'space again' } });
        return r.status === 201 ? r : undefined;
      },
      10_000,
      'a post to succeed once space is freed',
    );
    const history = await http(base, 'GET', `/api/rooms/${roomId}/messages?limit=1`, { token });
    assert.equal(history.body.messages[0].id, after.body.message.id);
  });
});
