// Schema migrations as code, frozen in time: never edit a shipped step, add a new one.
// Each step has the SQL of both dialects; types are kept to the portable subset (INTEGER, BIGINT, TEXT) and
// booleans are stored as 0/1 in both, so sql-store.ts reads rows the same way from either engine.
import { nameKey } from '../core/rules.js';
import type { Db } from './db.js';

export interface Migration {
  version: number;
  name: string;
  sqlite: string[];
  postgres: string[];
  /** Runs after the SQL, in the same transaction: backfills that need a rule written in TypeScript. */
  backfill?: (tx: Db) => Promise<void>;
}

/**
 * Fills `name_key` of every row of `table` and then makes it unique. Rows that already collide (a "lobby"
 * beside a "Lobby" from before the rule) are all kept: the oldest key-holder by name keeps the plain key, each
 * other gets the key suffixed with "#<row key>", so the index can be built and later names are checked against
 * the plain key; an administrator can rename the look-alikes.
 */
async function backfillNameKeys(tx: Db, table: string, pk: string): Promise<void> {
  const rows = await tx.all<{ k: string; name: string }>(`SELECT ${pk} AS k, name FROM ${table} ORDER BY name, ${pk}`);
  const used = new Set<string>();
  for (const r of rows) {
    let key = nameKey(String(r.name));
    if (used.has(key)) key = `${key}#${String(r.k)}`;
    used.add(key);
    await tx.run(`UPDATE ${table} SET name_key = ? WHERE ${pk} = ?`, [key, String(r.k)]);
  }
  await tx.run(`CREATE UNIQUE INDEX ${table}_lookalike ON ${table} (name_key)`);
}

// Failed sign-ins per (user, source address), shared by every server of a pool (see directory/sign-in-throttle.ts).
const signInFailures = `CREATE TABLE sign_in_failures (user_key TEXT NOT NULL, source TEXT NOT NULL,
  failures INTEGER NOT NULL, first_at BIGINT NOT NULL, last_at BIGINT NOT NULL, PRIMARY KEY (user_key, source))`;

const common = (idType: string) => [
  `CREATE TABLE users (
    uri TEXT PRIMARY KEY, display_name TEXT NOT NULL, email TEXT, ou TEXT, site TEXT, policy TEXT,
    is_admin INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL DEFAULT 0, password_hash TEXT,
    created_at BIGINT NOT NULL)`,
  `CREATE TABLE groups_ (name TEXT PRIMARY KEY, description TEXT NOT NULL, members TEXT NOT NULL)`,
  `CREATE TABLE categories (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL,
    invitations INTEGER NOT NULL, file_upload INTEGER NOT NULL, chat_history INTEGER NOT NULL,
    allowed_members TEXT NOT NULL, denied_members TEXT NOT NULL, creators TEXT NOT NULL)`,
  `CREATE TABLE rooms (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL, category_id TEXT NOT NULL,
    privacy TEXT NOT NULL, type TEXT NOT NULL, disabled INTEGER NOT NULL, addin TEXT, invitations TEXT NOT NULL,
    members TEXT NOT NULL, managers TEXT NOT NULL, presenters TEXT NOT NULL, created_at BIGINT NOT NULL)`,
  'CREATE INDEX rooms_category ON rooms (category_id)',
  'CREATE TABLE addins (name TEXT PRIMARY KEY, url TEXT NOT NULL)',
  `CREATE TABLE policies (identity TEXT PRIMARY KEY, enable_persistent_chat INTEGER NOT NULL,
    description TEXT NOT NULL)`,
  `CREATE TABLE endpoints (sip_address TEXT PRIMARY KEY, display_name TEXT NOT NULL, pool TEXT NOT NULL)`,
  'CREATE TABLE config (id INTEGER PRIMARY KEY, body TEXT NOT NULL)',
  // One id space for changes and messages (see port.ts).
  `CREATE TABLE changes (id ${idType} PRIMARY KEY, type TEXT NOT NULL, subject TEXT NOT NULL, ts BIGINT NOT NULL,
    data TEXT NOT NULL)`,
  `CREATE TABLE messages (
    id ${idType} PRIMARY KEY, room_id TEXT NOT NULL, author TEXT NOT NULL, ts BIGINT NOT NULL, kind TEXT NOT NULL,
    logged INTEGER NOT NULL, body TEXT, title TEXT, rich TEXT, file TEXT)`,
  'CREATE INDEX messages_room ON messages (room_id, id)',
  'CREATE INDEX messages_author ON messages (author, id)',
  `CREATE TABLE follows (user_uri TEXT NOT NULL, room_id TEXT NOT NULL, last_read_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_uri, room_id))`,
  `CREATE TABLE invitations (id ${idType} PRIMARY KEY, user_uri TEXT NOT NULL, room_id TEXT NOT NULL,
    inviter TEXT NOT NULL, ts BIGINT NOT NULL)`,
  'CREATE INDEX invitations_user ON invitations (user_uri, id)',
  `CREATE TABLE feeds (id TEXT PRIMARY KEY, user_uri TEXT NOT NULL, name TEXT NOT NULL, keywords TEXT NOT NULL,
    authors TEXT NOT NULL, room_ids TEXT NOT NULL, alert INTEGER NOT NULL)`,
  'CREATE INDEX feeds_user ON feeds (user_uri)',
  `CREATE TABLE files (id TEXT PRIMARY KEY, room_id TEXT NOT NULL, uploader TEXT NOT NULL, name TEXT NOT NULL,
    size BIGINT NOT NULL, content_type TEXT NOT NULL, ts BIGINT NOT NULL, storage_key TEXT NOT NULL)`,
  `CREATE TABLE tokens (token_hash TEXT PRIMARY KEY, user_uri TEXT NOT NULL, created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL)`,
  'CREATE INDEX tokens_user ON tokens (user_uri)',
  `CREATE TABLE prefs (user_uri TEXT NOT NULL, label TEXT NOT NULL, content TEXT NOT NULL,
    PRIMARY KEY (user_uri, label))`,
];

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sqlite: [
      // The shared id sequence: one row, bumped once per transaction that appends changes or messages.
      'CREATE TABLE id_seq (one INTEGER PRIMARY KEY CHECK (one = 1), last BIGINT NOT NULL)',
      'INSERT INTO id_seq (one, last) VALUES (1, 0)',
      ...common('BIGINT'),
      // Full-text search: an external-content FTS5 table with the trigram tokenizer, which also matches
      // Chinese, Japanese and Korean text (no spaces between words). Trigram needs >= 3 characters per term;
      // shorter terms fall back to LIKE on the candidate rows (sql-store.ts).
      `CREATE VIRTUAL TABLE messages_fts USING fts5(body, title, content='messages', content_rowid='id',
        tokenize='trigram case_sensitive 0')`,
      `CREATE TRIGGER messages_fts_ins AFTER INSERT ON messages WHEN new.logged = 1 BEGIN
        INSERT INTO messages_fts (rowid, body, title) VALUES (new.id, new.body, coalesce(new.title, ''));
      END`,
      `CREATE TRIGGER messages_fts_del AFTER DELETE ON messages WHEN old.logged = 1 BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body, title) VALUES ('delete', old.id, old.body,
          coalesce(old.title, ''));
      END`,
    ],
    postgres: [
      'CREATE SEQUENCE id_seq',
      ...common('BIGINT'),
      'CREATE EXTENSION IF NOT EXISTS pg_trgm',
      `CREATE INDEX messages_trgm ON messages USING gin ((coalesce(body, '') || ' ' || coalesce(title, ''))
        gin_trgm_ops) WHERE logged = 1`,
    ],
  },
  {
    version: 2,
    name: 'CJK bigram index for two-character search terms',
    sqlite: [
      // pchat_bigrams() is registered on every connection by sqlite.ts (see bigrams.ts).
      `CREATE VIRTUAL TABLE messages_bigram USING fts5(grams, content='', contentless_delete=1,
        tokenize='unicode61')`,
      `INSERT INTO messages_bigram (rowid, grams)
        SELECT id, pchat_bigrams(body || ' ' || coalesce(title, '')) FROM messages WHERE logged = 1`,
      `CREATE TRIGGER messages_bigram_ins AFTER INSERT ON messages WHEN new.logged = 1 BEGIN
        INSERT INTO messages_bigram (rowid, grams) VALUES (new.id, pchat_bigrams(new.body || ' ' || coalesce(new.title, '')));
      END`,
      `CREATE TRIGGER messages_bigram_del AFTER DELETE ON messages WHEN old.logged = 1 BEGIN
        DELETE FROM messages_bigram WHERE rowid = old.id;
      END`,
    ],
    // pg_trgm serves these terms through the same index (with a recheck); nothing to add.
    postgres: [],
  },
  {
    version: 3,
    name: 'look-alike name keys; sign-in failures per user and source',
    sqlite: [
      'ALTER TABLE rooms ADD COLUMN name_key TEXT',
      'ALTER TABLE categories ADD COLUMN name_key TEXT',
      'ALTER TABLE addins ADD COLUMN name_key TEXT',
      signInFailures,
      'CREATE INDEX sign_in_failures_source ON sign_in_failures (source, last_at)',
      'CREATE INDEX sign_in_failures_last ON sign_in_failures (last_at)',
    ],
    postgres: [
      'ALTER TABLE rooms ADD COLUMN name_key TEXT',
      'ALTER TABLE categories ADD COLUMN name_key TEXT',
      'ALTER TABLE addins ADD COLUMN name_key TEXT',
      signInFailures,
      'CREATE INDEX sign_in_failures_source ON sign_in_failures (source, last_at)',
      'CREATE INDEX sign_in_failures_last ON sign_in_failures (last_at)',
    ],
    async backfill(tx) {
      await backfillNameKeys(tx, 'rooms', 'id');
      await backfillNameKeys(tx, 'categories', 'id');
      await backfillNameKeys(tx, 'addins', 'name');
    },
  },
  {
    version: 5,
    name: 'progress of resumable imports',
    // One row per archive (keyed by its SHA-256): the last line whose effects are committed.
    sqlite: [
      `CREATE TABLE import_progress (archive TEXT PRIMARY KEY, line BIGINT NOT NULL, state TEXT NOT NULL,
        updated_at BIGINT NOT NULL)`,
    ],
    postgres: [
      `CREATE TABLE import_progress (archive TEXT PRIMARY KEY, line BIGINT NOT NULL, state TEXT NOT NULL,
        updated_at BIGINT NOT NULL)`,
    ],
  },
];

/**
 * Applies every migration not applied yet, all in one transaction. On PostgreSQL an advisory
 * lock makes servers of a pool that start together wait for each other instead of racing.
 */
export async function migrate(db: Db): Promise<number> {
  return db.tx(async (tx) => {
    if (db.caps.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(72627001) AS locked');
    await tx.run(
      'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    // Every step not applied yet runs, in version order, even one numbered below the newest applied: helpers
    // number their steps apart (gaps are fine), so a step can reach a database after a higher-numbered one.
    const applied = new Set(
      (await tx.all<{ v: number | string }>('SELECT version AS v FROM schema_version')).map((r) => Number(r.v)),
    );
    let current = Math.max(0, ...applied);
    for (const m of [...MIGRATIONS].sort((x, y) => x.version - y.version)) {
      if (applied.has(m.version)) continue;
      for (const sql of db.caps.dialect === 'sqlite' ? m.sqlite : m.postgres) await tx.run(sql);
      await m.backfill?.(tx);
      await tx.run('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)', [
        m.version,
        m.name,
        Date.now(),
      ]);
      current = Math.max(current, m.version);
    }
    return current;
  });
}
