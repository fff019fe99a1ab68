// PostgreSQL going away under a running server (a throwaway cluster, stopped and started again): requests during
// the outage answer 503 STORE_UNAVAILABLE (never 500 INTERNAL), /readyz says not ready, and once the cluster
// is back everything works without a restart of pchat. Needs root and the Debian PostgreSQL binaries (CI has
// both); elsewhere the suite is skipped with a message.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminService } from '../../src/admin/admin-service.js';
import { ConfigSchema } from '../../src/config/config.js';
import { silentLogger } from '../../src/observability/log.js';
import { buildServer, type PchatServer } from '../../src/server.js';
import { openStore } from '../../src/store/open.js';
import { DOMAIN, http, PASSWORD, signIn, uri } from '../support/server.js';

const PORT = 55000 + Math.floor(Math.random() * 400);

function pgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const v = readdirSync(root)
    .sort((a, b) => Number(a) - Number(b))
    .at(-1);
  return v ? join(root, v, 'bin') : undefined;
}

describe('PostgreSQL restart under a running server', () => {
  const bin = pgBin();
  let skip: string | undefined =
    process.getuid?.() !== 0
      ? 'not root (initdb runs as the postgres user)'
      : !bin
        ? 'no PostgreSQL binaries'
        : undefined;
  const base = mkdtempSync(join(tmpdir(), 'pchat-pgrestart-'));
  const pgData = join(base, 'data');
  const url = `postgres://postgres@127.0.0.1:${PORT}/postgres`;
  let server: PchatServer;
  let roomId: string;
  let token: string;

  const pgCtl = (...args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', join(bin as string, 'pg_ctl'), '-D', pgData, ...args], {
      stdio: 'pipe',
      timeout: 60_000,
    });
  const startPg = () =>
    pgCtl('-l', join(base, 'log'), '-w', '-o', `-c listen_addresses=127.0.0.1 -p ${PORT} -k ${base}`, 'start');

  before(async () => {
    if (skip) {
      if (process.env.CI) throw new Error(`CI needs the PostgreSQL restart test: ${skip}`);
      console.log(`# SKIPPED pg-restart: ${skip}`);
      return;
    }
    try {
      chownSync(base, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), 0);
      execFileSync(
        'runuser',
        [
          '-u',
          'postgres',
          '--',
          join(bin as string, 'initdb'),
          '-D',
          pgData,
          '-U',
          'postgres',
          '-A',
          'trust',
          '-E',
          'UTF8',
          '--no-locale',
        ],
        { stdio: 'pipe', timeout: 60_000 },
      );
      startPg();
    } catch (e) {
      skip = `cannot run a throwaway cluster: ${(e as Error).message}`;
      if (process.env.CI) throw e;
      console.log(`# SKIPPED pg-restart: ${skip}`);
      return;
    }
    const store = await openStore({ db: url, dataDir: base });
    try {
      const admin = new AdminService(store, { realm: 'pchat', domain: DOMAIN, pool: DOMAIN });
      await admin.setPolicy('global', { enablePersistentChat: true });
      await admin.addUser(uri('alice'), { password: PASSWORD, isAdmin: true });
      const cat = await admin.newCategory({ name: 'Eng', allowedMembers: { replace: [`domain:${DOMAIN}`] } });
      roomId = (await admin.newRoom({ name: 'open', category: cat.id, privacy: 'open' })).id;
    } finally {
      await store.close();
    }
    const config = ConfigSchema.parse({ dataDir: base, db: url, port: 0, sip: { enabled: false }, logLevel: 'silent' });
    server = await buildServer(config, { logger: silentLogger, env: {}, pollMs: 100 });
    token = await signIn(server.url, 'alice');
  });
  after(async () => {
    await server?.close().catch(() => {});
    if (!skip) {
      try {
        pgCtl('-m', 'immediate', 'stop');
      } catch {
        // already stopped
      }
    }
    rmSync(base, { recursive: true, force: true });
  });

  test('during the outage: 503 STORE_UNAVAILABLE and not ready; after it: everything works', async (t) => {
    if (skip) return t.skip(skip);
    const post = (text: string) => http(server.url, 'POST', `/api/rooms/${roomId}/messages`, { token, body: { text } });
    assert.equal((await post('before')).status, 201);
    pgCtl('-m', 'fast', 'stop');
    const answers = [
      await post('during'),
      await http(server.url, 'GET', `/api/rooms/${roomId}/messages`, { token }),
      await http(server.url, 'GET', '/api/admin/rooms', { token }),
      await http(server.url, 'POST', '/api/sessions', { body: { user: uri('alice'), password: PASSWORD } }),
    ];
    for (const a of answers) {
      assert.equal(a.status, 503, JSON.stringify(a.body));
      assert.equal(a.body.error.code, 'STORE_UNAVAILABLE');
    }
    const ready = await http(server.url, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.error.code, 'STORE_UNAVAILABLE');
    startPg();
    // the pool reconnects on its own
    const deadline = Date.now() + 15_000;
    let back = await http(server.url, 'GET', '/readyz');
    while (back.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      back = await http(server.url, 'GET', '/readyz');
    }
    assert.equal(back.status, 200);
    assert.equal((await post('after')).status, 201);
    const hist = await http(server.url, 'GET', `/api/rooms/${roomId}/messages`, { token });
    assert.deepEqual(
      hist.body.messages.map((m: { text: string }) => m.text),
      ['before', 'after'],
    );
  });
});
