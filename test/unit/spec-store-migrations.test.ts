// Specification of schema migration on SQLite and PostgreSQL: a fresh store gets every table, index and
// trigger of the schema, each step recorded once with its version and name; reopening applies nothing again;
// migrate() answers the highest version; and a store from before look-alike name keys (version 2) gets its keys
// backfilled, look-alikes kept, with later names checked against them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import { nameKey } from '../../src/core/rules.js';
import type { Db } from '../../src/store/db.js';
import { MIGRATIONS, migrate } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/open.js';
import { openPgDb } from '../../src/store/postgres.js';
import { openSqliteDb } from '../../src/store/sqlite.js';
import { pgSchema } from '../support/pg.js';
import { engineUnavailable } from '../support/spec-engines.js';

type Dialect = 'sqlite' | 'postgres';
const LATEST = Math.max(...MIGRATIONS.map((m) => m.version));

/** A fresh location on `dialect`, a raw Db over it, and a way to open the store there; undefined: no engine. */
async function location(dialect: Dialect, suite: string) {
  const dataDir = mkdtempSync(join(tmpdir(), `pchat-mig-${dialect}-`));
  if (dialect === 'sqlite') {
    return {
      dataDir,
      raw: async (): Promise<Db> => openSqliteDb(join(dataDir, 'pchat.db')),
      open: () => openStore({ dataDir }),
      cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const schema = await pgSchema(suite);
  if (!schema) {
    rmSync(dataDir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dataDir,
    raw: () => openPgDb(schema.url),
    open: () => openStore({ db: schema.url, dataDir }),
    cleanup: async () => {
      await schema.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function schemaObjects(db: Db, dialect: Dialect): Promise<Set<string>> {
  if (dialect === 'sqlite') {
    const rows = await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'");
    return new Set(rows.map((r) => String(r.name)));
  }
  const tables = await db.all<{ name: string }>(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()',
  );
  const indexes = await db.all<{ name: string }>(
    'SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()',
  );
  return new Set([...tables, ...indexes].map((r) => String(r.name)));
}

const COMMON = [
  'users',
  'rooms',
  'categories',
  'addins',
  'messages',
  'files',
  'changes',
  'rooms_lookalike',
  'categories_lookalike',
  'addins_lookalike',
  'sign_in_failures',
  'sign_in_failures_source',
  'sign_in_failures_last',
  'messages_ts',
  'files_room',
  'retention',
  'holds',
  'leases',
  'import_progress',
];
const BY_DIALECT: Record<Dialect, string[]> = {
  sqlite: [
    'id_seq',
    'messages_fts',
    'messages_fts_ins',
    'messages_fts_del',
    'messages_fts_upd',
    'messages_bigram',
    'messages_bigram_ins',
    'messages_bigram_del',
    'messages_bigram_upd',
  ],
  postgres: ['messages_trgm'],
};

for (const dialect of ['sqlite', 'postgres'] as const) {
  test(`a fresh store has the whole schema, each step recorded once by version and name [${dialect}]`, async (t) => {
    const loc = await location(dialect, 'migration schema specification');
    if (!loc) return engineUnavailable(t, dialect);
    try {
      const store = await loc.open();
      try {
        const have = await schemaObjects(store.raw(), dialect);
        for (const name of [...COMMON, ...BY_DIALECT[dialect]]) assert.ok(have.has(name), `${name} exists`);
        const steps = await store
          .raw()
          .all<{ v: number; name: string }>('SELECT version AS v, name FROM schema_version ORDER BY version');
        assert.deepEqual(
          steps.map((r) => [Number(r.v), String(r.name)]),
          [...MIGRATIONS].sort((a, b) => a.version - b.version).map((m) => [m.version, m.name]),
        );
        for (const r of steps) assert.ok(String(r.name).length > 0, `step ${r.v} has a name`);
        assert.equal(await store.schemaVersion(), LATEST);
        // migrating again applies nothing and still answers the highest version
        assert.equal(await migrate(store.raw()), LATEST);
        const again = await store.raw().all('SELECT version FROM schema_version');
        assert.equal(again.length, steps.length);
      } finally {
        await store.close();
      }
      const reopened = await loc.open();
      try {
        assert.equal(await reopened.schemaVersion(), LATEST, 'reopening applies nothing again');
      } finally {
        await reopened.close();
      }
    } finally {
      await loc.cleanup();
    }
  });

  test(`migrating a fresh database answers the highest version [${dialect}]`, async (t) => {
    const loc = await location(dialect, 'migration version specification');
    if (!loc) return engineUnavailable(t, dialect);
    const db = await loc.raw();
    try {
      assert.equal(await migrate(db), LATEST);
    } finally {
      await db.close();
      await loc.cleanup();
    }
  });

  test(`a store from before look-alike keys gets them backfilled; look-alikes are kept [${dialect}]`, async (t) => {
    const loc = await location(dialect, 'migration backfill specification');
    if (!loc) return engineUnavailable(t, dialect);
    try {
      // Build a version-2 database by hand: steps 1 and 2 only, with names that collide under the later rule.
      const db = await loc.raw();
      try {
        await db.run(
          'CREATE TABLE schema_version (version INTEGER NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
        );
        for (const m of MIGRATIONS.filter((s) => s.version <= 2)) {
          for (const sql of dialect === 'sqlite' ? m.sqlite : m.postgres) await db.run(sql);
          await db.run('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)', [
            m.version,
            m.name,
            0,
          ]);
        }
        const room = (id: string, name: string) =>
          db.run(
            `INSERT INTO rooms (id, name, description, category_id, privacy, type, disabled, addin, invitations, members,
               managers, presenters, created_at) VALUES (?, ?, '', 'c1', 'open', 'normal', 0, NULL, 'inherit', '[]', '[]', '[]', 0)`,
            [id, name],
          );
        await room('r1', 'Lobby');
        await room('r2', 'lobby');
        await room('r3', 'Design');
        await db.run(
          `INSERT INTO categories (id, name, description, invitations, file_upload, chat_history, allowed_members,
             denied_members, creators) VALUES ('c1', 'General', '', 1, 1, 1, '[]', '[]', '[]')`,
        );
        await db.run("INSERT INTO addins (name, url) VALUES ('Board', 'https://example.com/board')");
      } finally {
        await db.close();
      }

      const store = await loc.open();
      try {
        const keys = new Map(
          (await store.raw().all<{ id: string; k: string }>('SELECT id, name_key AS k FROM rooms')).map((r) => [
            String(r.id),
            r.k === null ? null : String(r.k),
          ]),
        );
        assert.equal(keys.get('r3'), nameKey('Design'));
        const lobby = nameKey('Lobby');
        const plain = ['r1', 'r2'].filter((id) => keys.get(id) === lobby);
        assert.equal(plain.length, 1, 'one of the look-alikes keeps the plain key');
        const otherId = plain[0] === 'r1' ? 'r2' : 'r1';
        assert.equal(keys.get(otherId), `${lobby}#${otherId}`, 'the other is kept, its key suffixed with its id');
        assert.equal((await store.rooms.getByName('LOBBY'))?.id, plain[0]);
        assert.equal((await store.categories.getByName('general'))?.id, 'c1');
        assert.equal((await store.addins.getByName('BOARD'))?.name, 'Board');
        // later names are checked against the backfilled keys
        await assert.rejects(
          store
            .raw()
            .run(`INSERT INTO addins (name, url, name_key) VALUES ('BOARD', 'https://example.com/2', ?)`, [
              nameKey('BOARD'),
            ]),
          (e) => e instanceof PchatError && e.code === 'NAME_TAKEN',
        );
      } finally {
        await store.close();
      }
    } finally {
      await loc.cleanup();
    }
  });
}
