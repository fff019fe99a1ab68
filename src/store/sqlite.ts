// The embedded adapter: one SQLite file in the data directory, WAL, one connection.
// synchronous=FULL makes every commit durable; commits are batched per event-loop turn by the chat service,
// so the fsync is paid once per batch, not per message.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { cjkBigrams } from './bigrams.js';
import { AsyncLock, type Capabilities, type Db, type Param, type Row } from './db.js';
import { mapSqliteError } from './store-errors.js';

/** The three better-sqlite3 calls this adapter relies on. */
type Conn = Pick<Database.Database, 'prepare' | 'exec' | 'close' | 'pragma' | 'function' | 'inTransaction'>;

class SqliteDb implements Db {
  readonly caps: Capabilities = { dialect: 'sqlite', fullText: 'fts5-trigram' };
  private readonly cache = new Map<string, Database.Statement>();

  constructor(
    private readonly conn: Conn,
    private readonly lock: AsyncLock,
    private readonly inTx: boolean,
  ) {}

  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.conn.prepare(sql);
      if (this.cache.size > 500) this.cache.clear();
      this.cache.set(sql, s);
    }
    return s;
  }

  private async ready(): Promise<void> {
    if (!this.inTx && this.lock.locked) await this.lock.idle();
  }

  async all<T extends Row>(sql: string, params: Param[] = []): Promise<T[]> {
    await this.ready();
    try {
      return this.stmt(sql).all(...params) as T[];
    } catch (e) {
      throw mapSqliteError(e);
    }
  }

  async get<T extends Row>(sql: string, params: Param[] = []): Promise<T | undefined> {
    await this.ready();
    try {
      return this.stmt(sql).get(...params) as T | undefined;
    } catch (e) {
      throw mapSqliteError(e);
    }
  }

  async run(sql: string, params: Param[] = []): Promise<{ changes: number }> {
    await this.ready();
    try {
      const s = this.stmt(sql);
      if (!s.reader) return { changes: s.run(...params).changes };
      s.all(...params);
      return { changes: 0 };
    } catch (e) {
      throw mapSqliteError(e);
    }
  }

  async tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.inTx) return fn(this);
    const release = await this.lock.acquire();
    const inner = new SqliteDb(this.conn, this.lock, true);
    // share prepared statements
    (inner as unknown as { cache: Map<string, Database.Statement> }).cache = this.cache;
    try {
      try {
        this.conn.exec('BEGIN IMMEDIATE');
      } catch (e) {
        throw mapSqliteError(e);
      }
      try {
        const out = await fn(inner);
        this.conn.exec('COMMIT');
        return out;
      } catch (e) {
        // A failed COMMIT (disk full) may already have rolled back; a second ROLLBACK must not hide the cause.
        try {
          if (this.conn.inTransaction) this.conn.exec('ROLLBACK');
        } catch {
          /* the transaction is gone either way */
        }
        throw mapSqliteError(e);
      }
    } finally {
      release();
    }
  }

  /** SQLite has one writer: every transaction already runs alone and in call order. */
  serialTx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return this.tx(fn);
  }

  async close(): Promise<void> {
    await this.lock.idle();
    this.conn.close();
  }
}

export function openSqliteDb(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const conn = new Database(file);
  conn.pragma('journal_mode = WAL');
  conn.pragma('synchronous = FULL');
  conn.pragma('busy_timeout = 5000');
  conn.pragma('foreign_keys = OFF');
  // used by the bigram index's triggers (migration 2)
  conn.function('pchat_bigrams', { deterministic: true }, (text: unknown) =>
    cjkBigrams(typeof text === 'string' ? text : null),
  );
  return new SqliteDb(conn, new AsyncLock(), false);
}
