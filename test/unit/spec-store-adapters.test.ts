// Specification of what both adapters promise the store, on SQLite and PostgreSQL: which locations are PostgreSQL
// URLs, the store says which engine it runs on, a data directory that does not exist yet is created, a read
// outside a transaction never sees that transaction's uncommitted writes, transactions do not interleave, a
// statement that changes nothing reports no changes, and a closed store refuses work.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import { isPostgresUrl, openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/port.js';
import { pgSchema } from '../support/pg.js';
import { engineUnavailable } from '../support/spec-engines.js';

test('a location is a PostgreSQL URL only when it starts with postgres:// or postgresql://', () => {
  const cases: [string | undefined, boolean][] = [
    ['postgres://root@127.0.0.1:5432/test', true],
    ['postgresql://db.example.com/pchat', true],
    [undefined, false],
    ['', false],
    ['/var/lib/pchat/pchat.db', false],
    ['sqlite:///var/lib/pchat.db', false],
    ['mypostgres://host/db', false],
    ['postgres:/missing-slash', false],
    ['POSTGRES://host/db', false],
  ];
  for (const [s, want] of cases) assert.equal(isPostgresUrl(s), want, String(s));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const dialect of ['sqlite', 'postgres'] as const) {
  /** Runs `fn` on a store on a fresh location (a data directory that does not exist yet); false: no engine. */
  async function withStore(suite: string, fn: (s: Store, dataDir: string) => Promise<void>): Promise<boolean> {
    const parent = mkdtempSync(join(tmpdir(), `pchat-adapter-${dialect}-`));
    const dataDir = join(parent, 'not', 'yet');
    const schema = dialect === 'postgres' ? await pgSchema(suite) : undefined;
    try {
      if (dialect === 'postgres' && !schema) return false;
      const store = await openStore({ db: schema?.url, dataDir });
      try {
        await fn(store, dataDir);
      } finally {
        await store.close();
      }
      return true;
    } finally {
      await schema?.drop();
      rmSync(parent, { recursive: true, force: true });
    }
  }

  test(`the store says its engine, and opens in a data directory that does not exist yet [${dialect}]`, async (t) => {
    const ran = await withStore('adapter engine specification', async (s) => {
      assert.equal(s.dialect, dialect);
      assert.equal(s.raw().caps.dialect, dialect);
      assert.equal(s.raw().caps.fullText, dialect === 'sqlite' ? 'fts5-trigram' : 'pg-trgm');
    });
    if (!ran) engineUnavailable(t, dialect);
  });

  test(`a read outside a transaction never sees its uncommitted writes [${dialect}]`, async (t) => {
    const ran = await withStore('adapter isolation specification', async (s) => {
      let wrote!: () => void;
      const written = new Promise<void>((r) => {
        wrote = r;
      });
      const failing = s.atomically(async (tx) => {
        await tx.groups.put({ name: 'pending', description: '', members: [] });
        wrote();
        await sleep(80);
        throw new Error('rolled back');
      });
      await written;
      const seen = await s.groups.get('pending');
      await assert.rejects(failing, /rolled back/);
      assert.equal(seen, undefined, 'not seen while the transaction was open');
      assert.equal(await s.groups.get('pending'), undefined, 'not there after the rollback');
    });
    if (!ran) engineUnavailable(t, dialect);
  });

  test(`transactions started together run one after the other, never interleaved [${dialect}]`, async (t) => {
    const ran = await withStore('adapter serial specification', async (s) => {
      const start = await s.changes.latestId();
      const writer = (tag: string) =>
        s.atomically(async (tx) => {
          await tx.groups.put({ name: `${tag}-1`, description: '', members: [] });
          await sleep(30);
          await tx.groups.put({ name: `${tag}-2`, description: '', members: [] });
        });
      await Promise.all([writer('a'), writer('b'), writer('c')]);
      const subjects = (await s.changes.since(start, 100)).map((c) => c.subject);
      assert.equal(subjects.length, 6);
      for (let i = 0; i < 6; i += 2) {
        const tag = subjects[i]?.split('-')[0];
        assert.deepEqual(subjects.slice(i, i + 2), [`${tag}-1`, `${tag}-2`], 'each transaction is contiguous');
      }
    });
    if (!ran) engineUnavailable(t, dialect);
  });

  test(`a statement that changes nothing reports no changes [${dialect}]`, async (t) => {
    const ran = await withStore('adapter changes specification', async (s) => {
      const db = s.raw();
      await s.groups.put({ name: 'g1', description: '', members: [] });
      await s.groups.put({ name: 'g2', description: '', members: [] });
      assert.deepEqual(await db.run("UPDATE groups_ SET description = 'x'"), { changes: 2 });
      assert.deepEqual(await db.run('SELECT name FROM groups_'), { changes: 0 });
      assert.deepEqual(await db.run("UPDATE groups_ SET description = 'y' WHERE name = 'none'"), { changes: 0 });
    });
    if (!ran) engineUnavailable(t, dialect);
  });

  test(`a closed store refuses work [${dialect}]`, async (t) => {
    let closed: Store | undefined;
    const ran = await withStore('adapter close specification', async (s) => {
      closed = s;
    });
    if (!ran) return engineUnavailable(t, dialect);
    await assert.rejects((closed as Store).groups.get('g1'), (e) =>
      dialect === 'postgres' ? e instanceof PchatError && e.code === 'STORE_UNAVAILABLE' : e instanceof Error,
    );
  });
}
