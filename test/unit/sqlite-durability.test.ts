// The embedded store's durability: a SQLite commit is synced to disk off the event loop (src/store/sqlite.ts,
// WalSync), and nothing resolves before its sync.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { PchatError } from '../../src/core/errors.js';
import type { Db } from '../../src/store/db.js';
import { openStore } from '../../src/store/open.js';
import { openSqliteDb, type SyncFd } from '../../src/store/sqlite.js';

const root = mkdtempSync(join(tmpdir(), 'pchat-durability-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `db-${++n}`, 'pchat.db');

/** A sync that waits until the test lets it go, and counts its calls. */
function heldSync() {
  const waiting: (() => void)[] = [];
  const fds: number[] = [];
  const syncFd: SyncFd = (fd) =>
    new Promise<void>((resolve) => {
      fds.push(fd);
      waiting.push(resolve);
    });
  return {
    syncFd,
    fds,
    /** Lets every sync asked for so far finish. */
    release: () => {
      for (const r of waiting.splice(0)) r();
    },
    pending: () => waiting.length,
  };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await tick();
  return done;
}

async function withTable(db: Db): Promise<void> {
  await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
}

/** A thread-pool database whose syncs the test lets go, with table t created (its sync already let go). */
async function heldDb() {
  const s = heldSync();
  const db = openSqliteDb(fresh(), { sync: 'thread-pool', syncFd: s.syncFd });
  const create = withTable(db);
  await tick();
  s.release();
  await create;
  return { s, db };
}

describe("SQLite commits with sync: 'thread-pool' are synced off the event loop", () => {
  test('a transaction resolves only after its WAL sync, and the event loop runs meanwhile', async () => {
    const s = heldSync();
    const db = openSqliteDb(fresh(), { sync: 'thread-pool', syncFd: s.syncFd });
    const create = withTable(db);
    assert.equal(await settled(create), false, 'the CREATE waits for its sync');
    s.release();
    await create;

    const tx = db.tx(async (t) => {
      await t.run('INSERT INTO t (v) VALUES (?)', ['a']);
      await t.run('INSERT INTO t (v) VALUES (?)', ['b']);
      return 'done';
    });
    let timerRan = false;
    setTimeout(() => {
      timerRan = true;
    }, 1);
    assert.equal(await settled(tx), false, 'the transaction is not answered before the sync');
    assert.equal(s.pending(), 1, 'one sync for the whole transaction, not one per statement');
    assert.equal(timerRan, true, 'timers fire while the sync is in flight');
    s.release();
    assert.equal(await tx, 'done');
    await db.close();
  });

  test('a read asked for during a sync waits for the transaction to end', async () => {
    const { s, db } = await heldDb();
    const tx = db.tx((t) => t.run('INSERT INTO t (v) VALUES (?)', ['x']));
    await tick();
    const read = db.all('SELECT v FROM t');
    assert.equal(await settled(read), false, 'the read waits while the commit is not yet on disk');
    s.release();
    await tx;
    assert.deepEqual(await read, [{ v: 'x' }]);
    await db.close();
  });

  test('a write outside a transaction is synced too; reads never are', async () => {
    const { s, db } = await heldDb();
    const before = s.fds.length;
    await db.all('SELECT * FROM t');
    await db.get('SELECT count(*) AS c FROM t');
    assert.equal(s.fds.length, before, 'reads do not sync');
    const ins = db.run('INSERT INTO t (v) VALUES (?)', ['y']);
    await tick();
    assert.equal(s.fds.length, before + 1);
    s.release();
    assert.deepEqual(await ins, { changes: 1 });
    await db.close();
  });

  test('a failed sync answers STORE_UNAVAILABLE and releases the lock for the next caller', async () => {
    let fail = false;
    const db = openSqliteDb(fresh(), {
      sync: 'thread-pool',
      syncFd: async () => {
        if (fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
    });
    await withTable(db);
    fail = true;
    await assert.rejects(
      db.tx((t) => t.run('INSERT INTO t (v) VALUES (?)', ['z'])),
      (e: unknown) => e instanceof PchatError && e.code === 'STORE_UNAVAILABLE',
    );
    fail = false;
    await db.tx((t) => t.run('INSERT INTO t (v) VALUES (?)', ['w']));
    assert.equal((await db.get<{ c: number }>('SELECT count(*) AS c FROM t'))?.c, 2);
    await db.close();
  });

  test('the connection runs without SQLite syncs or automatic checkpoints; checkpoints come every 200 writes', async () => {
    const file = fresh();
    const db = openSqliteDb(file, { sync: 'thread-pool', syncFd: async () => {} });
    assert.equal((await db.get<{ synchronous: number }>('PRAGMA synchronous'))?.synchronous, 0);
    assert.equal((await db.get<{ wal_autocheckpoint: number }>('PRAGMA wal_autocheckpoint'))?.wal_autocheckpoint, 0);
    await withTable(db); // write 1
    const base = statSync(file).size;
    for (let i = 2; i < 200; i++) await db.run('INSERT INTO t (v) VALUES (?)', [`row ${i} ${'x'.repeat(200)}`]);
    assert.equal(statSync(file).size, base, 'nothing reaches the database file before a checkpoint');
    await db.run('INSERT INTO t (v) VALUES (?)', ['the 200th write']);
    assert.ok(statSync(file).size > base, 'the 200th write checkpoints the WAL into the database file');
    assert.equal((await db.get<{ synchronous: number }>('PRAGMA synchronous'))?.synchronous, 0, 'back to OFF');
    await db.close();
  });

  test('the checkpoint never runs inside a transaction another caller opened during a sync; the next write runs it', async () => {
    const file = fresh();
    const s = heldSync();
    const db = openSqliteDb(file, { sync: 'thread-pool', syncFd: s.syncFd });
    const create = withTable(db); // write 1
    await tick();
    s.release();
    await create;
    for (let i = 2; i < 200; i++) {
      const w = db.run('INSERT INTO t (v) VALUES (?)', [`row ${i} ${'x'.repeat(200)}`]);
      await tick();
      s.release();
      await w;
    }
    const base = statSync(file).size;
    // the 200th write waits on its sync; meanwhile another caller opens a transaction
    const w200 = db.run('INSERT INTO t (v) VALUES (?)', ['the 200th write']);
    await tick();
    let gate: () => void = () => {};
    const held = new Promise<void>((r) => {
      gate = r;
    });
    const tx = db.tx(async (t) => {
      await t.run('INSERT INTO t (v) VALUES (?)', ['inside']);
      await held;
    });
    await tick();
    s.release(); // the 200th write's sync ends while the transaction is open
    assert.deepEqual(await w200, { changes: 1 }, 'the write is answered, not failed by a checkpoint');
    assert.equal(statSync(file).size, base, 'no checkpoint inside the open transaction');
    gate();
    await tick();
    s.release();
    await tx;
    assert.ok(statSync(file).size > base, 'the transaction after it ran the checkpoint');
    assert.equal((await db.get<{ c: number }>('SELECT count(*) AS c FROM t'))?.c, 200);
    await db.close();
  });

  test('with the real fdatasync every commit survives a close and a reopen; a clean close removes the WAL', async () => {
    const file = fresh();
    const db = openSqliteDb(file, { sync: 'thread-pool' });
    await withTable(db);
    for (let i = 0; i < 20; i++) await db.tx((t) => t.run('INSERT INTO t (v) VALUES (?)', [String(i)]));
    await db.close();
    assert.equal(existsSync(`${file}-wal`), false);
    const again = openSqliteDb(file);
    assert.equal((await again.get<{ c: number }>('SELECT count(*) AS c FROM t'))?.c, 20);
    await again.close();
  });

  test("'inline', the default, keeps SQLite's own synchronous=FULL and never calls the thread-pool sync", async () => {
    let calls = 0;
    const db = openSqliteDb(fresh(), {
      syncFd: async () => {
        calls++;
      },
    });
    await withTable(db);
    await db.tx((t) => t.run('INSERT INTO t (v) VALUES (?)', ['i']));
    assert.equal((await db.get<{ synchronous: number }>('PRAGMA synchronous'))?.synchronous, 2);
    assert.equal(calls, 0);
    await db.close();
  });

  test('an in-memory database has no WAL and keeps SQLite syncing as it does', async () => {
    let calls = 0;
    const db = openSqliteDb(':memory:', {
      sync: 'thread-pool',
      syncFd: async () => {
        calls++;
      },
    });
    await withTable(db);
    await db.run('INSERT INTO t (v) VALUES (?)', ['m']);
    assert.equal(calls, 0);
    await db.close();
  });
});

describe('the sqliteSync setting', () => {
  const load = (env: Record<string, string>) => loadConfig({ dataDir: '/nonexistent-pchat-dir' }, env);
  test('inline by default; PCHAT_SQLITE_SYNC picks the thread pool; anything else is refused', () => {
    assert.equal(load({}).sqliteSync, 'inline');
    assert.equal(load({ PCHAT_SQLITE_SYNC: 'thread-pool' }).sqliteSync, 'thread-pool');
    assert.equal(load({ PCHAT_SQLITE_SYNC: 'inline' }).sqliteSync, 'inline');
    assert.throws(
      () => load({ PCHAT_SQLITE_SYNC: 'off' }),
      (e: unknown) => e instanceof PchatError,
    );
  });
  test('openStore hands it to the SQLite adapter', async () => {
    const dir = join(root, `store-${++n}`);
    const store = await openStore({ dataDir: dir, sqliteSync: 'thread-pool' });
    const sync = await store.raw().get<{ synchronous: number }>('PRAGMA synchronous');
    assert.equal(sync?.synchronous, 0, 'thread-pool: SQLite itself does not sync');
    await store.close();
    const inline = await openStore({ dataDir: dir });
    assert.equal((await inline.raw().get<{ synchronous: number }>('PRAGMA synchronous'))?.synchronous, 2);
    await inline.close();
  });
});
