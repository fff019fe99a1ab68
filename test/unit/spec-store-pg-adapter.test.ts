// Specification of the PostgreSQL pool adapter (src/store/postgres.ts): `?` placeholders become $n outside
// quoted text; driver errors reach callers as client errors; a failed transaction rolls back and its connection
// goes back to the pool, while a broken connection is discarded (and one dying idle or mid-transaction never
// crashes the process); the pool size; the id-space lock held across pools; a closed pool refusing work; and
// servers starting together on an empty database all coming up (the migration lock).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import type { Db } from '../../src/store/db.js';
import { openStore } from '../../src/store/open.js';
import { openPgDb, toPgPlaceholders } from '../../src/store/postgres.js';
import { type PgSchema, pgSchema } from '../support/pg.js';

test('placeholders are numbered in order, and a ? inside quoted text is left alone', () => {
  const cases: [string, string][] = [
    ['SELECT ?', 'SELECT $1'],
    ['SELECT ?, ?, ?', 'SELECT $1, $2, $3'],
    ["SELECT '?' AS q, ?", "SELECT '?' AS q, $1"],
    ['SELECT "a?b" FROM t WHERE x = ?', 'SELECT "a?b" FROM t WHERE x = $1'],
    ["SELECT 'ab?' , ?", "SELECT 'ab?' , $1"],
    ["SELECT '\"?' , ?", "SELECT '\"?' , $1"],
    ['SELECT "\'?" , ?', 'SELECT "\'?" , $1'],
    ["SELECT 'it''s ?' , ?", "SELECT 'it''s ?' , $1"],
    ["SELECT ? || '?' || ?", "SELECT $1 || '?' || $2"],
    ['no placeholders', 'no placeholders'],
  ];
  for (const [sql, want] of cases) assert.equal(toPgPlaceholders(sql), want, sql);
});

describe('PostgreSQL pool adapter', () => {
  let schema: PgSchema | undefined;
  let db: Db | undefined;
  let other: Db | undefined;
  before(async () => {
    schema = await pgSchema('pg adapter specification');
    if (!schema) return;
    db = await openPgDb(schema.url, { max: 1 });
    other = await openPgDb(schema.url);
    await db.run('CREATE TABLE t (k TEXT PRIMARY KEY)');
  });
  after(async () => {
    await db?.close();
    await other?.close();
    await schema?.drop();
  });
  const it = (title: string, fn: (db: Db, other: Db) => Promise<void>) =>
    test(title, async (t) => {
      if (!db || !other) return t.skip('PostgreSQL unavailable');
      await fn(db, other);
    });
  const pid = async (d: Db) => Number((await d.get<{ p: number }>('SELECT pg_backend_pid() AS p'))?.p);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const clientError = (code: string) => (e: unknown) => e instanceof PchatError && e.code === code;

  it('the adapter says it is PostgreSQL with trigram full text', async (d) => {
    assert.deepEqual(d.caps, { dialect: 'postgres', fullText: 'pg-trgm' });
  });

  it('a value the engine refuses is INVALID_VALUE, inside a transaction or not', async (d) => {
    await assert.rejects(d.get('SELECT ?::int AS n', ['not a number']), clientError('INVALID_VALUE'));
    await assert.rejects(
      d.tx((t) => t.get('SELECT ?::int AS n', ['x'])),
      clientError('INVALID_VALUE'),
    );
  });

  it('a failed transaction rolls back, its connection goes back to the pool, and it rethrows what it threw', async (d) => {
    const p = await pid(d);
    const boom = new Error('boom');
    await assert.rejects(
      d.tx(async (t) => {
        await t.run('INSERT INTO t (k) VALUES (?)', ['rolled back']);
        throw boom;
      }),
      (e) => e === boom,
    );
    assert.equal(await d.get("SELECT k FROM t WHERE k = 'rolled back'"), undefined);
    await assert.rejects(
      d.tx(async () => {
        throw undefined;
      }),
      (e) => e === undefined,
    );
    await assert.rejects(
      d.tx((t) => t.run('INSERT INTO t (k) VALUES (?), (?)', ['dup', 'dup'])),
      (e) => (e as { code?: string }).code === '23505',
    );
    assert.equal(await pid(d), p, 'the same connection serves the next statement');
  });

  it('a transaction nested in another joins it: all of it commits or none', async (d) => {
    await assert.rejects(
      d.tx(async (t) => {
        await t.tx((inner) => inner.run('INSERT INTO t (k) VALUES (?)', ['nested']));
        throw new Error('outer fails');
      }),
    );
    assert.equal(await d.get("SELECT k FROM t WHERE k = 'nested'"), undefined);
    await d.tx((t) => t.serialTx((inner) => inner.run('INSERT INTO t (k) VALUES (?)', ['nested ok'])));
    assert.deepEqual(await d.get("SELECT k FROM t WHERE k = 'nested ok'"), { k: 'nested ok' });
  });

  it('a connection killed mid-transaction is STORE_UNAVAILABLE, is discarded, and the pool reconnects', async (d, o) => {
    const before = await pid(d);
    await assert.rejects(
      d.tx(async (t) => {
        const p = await pid(t);
        await o.get('SELECT pg_terminate_backend(?::int) AS ok', [p]);
        await sleep(100); // the client is idle in its transaction when its connection dies
        await t.run('INSERT INTO t (k) VALUES (?)', ['lost']);
      }),
      clientError('STORE_UNAVAILABLE'),
    );
    const after = await pid(d);
    assert.notEqual(after, before, 'a new connection');
    assert.equal(await d.get("SELECT k FROM t WHERE k = 'lost'"), undefined);
  });

  it('an idle pooled connection dying does not crash the process; the next statement reconnects', async (d, o) => {
    const p = await pid(d);
    await o.get('SELECT pg_terminate_backend(?::int) AS ok', [p]);
    await sleep(100);
    assert.notEqual(await pid(d), p);
  });

  it('a pool of one serves one transaction at a time', async (d) => {
    const slow = () =>
      d.tx(async (t) => {
        const p = await pid(t);
        await t.get('SELECT pg_sleep(0.05) AS s');
        return p;
      });
    const [a, b] = await Promise.all([slow(), slow()]);
    assert.equal(a, b);
  });

  it('the id-space transaction of one pool waits for another pool holding it', async (d, o) => {
    const order: string[] = [];
    let entered!: () => void;
    const inside = new Promise<void>((r) => {
      entered = r;
    });
    const first = o.serialTx(async () => {
      entered();
      await sleep(150);
      order.push('first done');
    });
    await inside;
    await d.serialTx(async () => {
      order.push('second runs');
    });
    await first;
    assert.deepEqual(order, ['first done', 'second runs']);
  });

  it('a closed pool refuses work as STORE_UNAVAILABLE', async () => {
    const closing = await openPgDb((schema as PgSchema).url);
    await closing.close();
    await assert.rejects(closing.get('SELECT 1 AS ok'), clientError('STORE_UNAVAILABLE'));
  });
});

describe('servers starting together on an empty PostgreSQL database', () => {
  let schema: PgSchema | undefined;
  before(async () => {
    schema = await pgSchema('concurrent migration specification');
  });
  after(async () => {
    await schema?.drop();
  });
  test('all of them come up on the same schema (they migrate one after the other)', async (t) => {
    if (!schema) return t.skip('PostgreSQL unavailable');
    const url = schema.url;
    const stores = await Promise.all([1, 2, 3].map((i) => openStore({ db: url, dataDir: `/tmp/pchat-mig-${i}` })));
    try {
      for (const s of stores) assert.equal(s.dialect, 'postgres');
      const versions = await stores[0]?.raw().all<{ v: number }>('SELECT version AS v FROM schema_version');
      const vs = (versions ?? []).map((r) => Number(r.v));
      assert.equal(new Set(vs).size, vs.length, 'each step applied once');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
