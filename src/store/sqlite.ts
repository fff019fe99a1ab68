// The embedded adapter: one SQLite file in the data directory, WAL, one connection.
// Every commit is durable before it resolves; commits are batched by the chat core (group commit), so the fsync
// is paid once per batch, not per message. By default SQLite syncs inside COMMIT (synchronous=FULL). With
// `sync: 'thread-pool'` the fsync runs off the event loop instead (WalSync below): SQLite writes the
// transaction's WAL frames with synchronous=OFF, then the WAL is fdatasync'ed on libuv's thread pool while the
// event loop goes on with socket writes and the next batch's validation; the transaction (and the lock that
// keeps every other statement out) ends only after that.
import { closeSync, fdatasync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PchatError } from '../core/errors.js';
import { cjkBigrams } from './bigrams.js';
import { AsyncLock, type Capabilities, type Db, type Param, type Row } from './db.js';
import { mapSqliteError } from './store-errors.js';

/** The three better-sqlite3 calls this adapter relies on. */
type Conn = Pick<Database.Database, 'prepare' | 'exec' | 'close' | 'pragma' | 'function' | 'inTransaction'>;

/** Flushes the WAL to disk given its descriptor; fdatasync(2) on libuv's thread pool by default. */
export type SyncFd = (fd: number) => Promise<void>;

const fdatasyncOnPool: SyncFd = (fd) =>
  new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));

/** Write transactions between two checkpoints (SQLite's own default is one per 1,000 WAL pages). */
const CHECKPOINT_EVERY = 200;

/**
 * Durability off the event loop. The connection runs with synchronous=OFF and without automatic checkpoints, so
 * a COMMIT only hands its WAL frames to the page cache; `afterWrite` then makes them durable with an fdatasync on
 * the thread pool. WAL frames carry checksums, so a crash before that sync loses exactly the transactions whose
 * callers were not answered yet, as with synchronous=FULL. Checkpoints copy WAL pages into the database file and
 * then reuse the WAL, which needs the database file synced first: they run by hand, every CHECKPOINT_EVERY write
 * transactions and at close, with synchronous=FULL for their duration.
 */
class WalSync {
  private fd: number | undefined;
  private writes = 0;

  constructor(
    private readonly conn: Conn,
    private readonly walPath: string,
    private readonly syncFd: SyncFd,
  ) {
    conn.pragma('synchronous = OFF');
    conn.pragma('wal_autocheckpoint = 0');
  }

  /** Called after every write transaction commits, before its caller is answered. */
  async afterWrite(): Promise<void> {
    // the WAL file exists once anything has been written; it keeps its inode until the last connection closes
    try {
      this.fd ??= openSync(this.walPath, 'r');
      await this.syncFd(this.fd);
    } catch (e) {
      throw new PchatError('STORE_UNAVAILABLE', undefined, { cause: e });
    }
    // never inside a transaction another caller has opened meanwhile (a write outside one syncs without the
    // lock): then the next write checkpoints
    if (++this.writes >= CHECKPOINT_EVERY && !this.conn.inTransaction) {
      this.writes = 0;
      this.checkpoint();
    }
  }

  private checkpoint(): void {
    this.conn.pragma('synchronous = FULL');
    try {
      this.conn.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // the commits are already on disk; a checkpoint that fails (another process holding the WAL) is retried
      // CHECKPOINT_EVERY writes later
    } finally {
      this.conn.pragma('synchronous = OFF');
    }
  }

  /** Before the connection closes (which checkpoints and removes the WAL): with full syncs again. */
  close(): void {
    this.conn.pragma('synchronous = FULL');
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

class SqliteDb implements Db {
  readonly caps: Capabilities = { dialect: 'sqlite', fullText: 'fts5-trigram' };
  private readonly cache = new Map<string, Database.Statement>();

  constructor(
    private readonly conn: Conn,
    private readonly lock: AsyncLock,
    private readonly inTx: boolean,
    /** Undefined: synchronous=FULL, every commit fsyncs on the event loop (in-memory databases, or asked for). */
    private readonly wal: WalSync | undefined,
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
      if (s.reader) {
        s.all(...params);
        return { changes: 0 };
      }
      const { changes } = s.run(...params);
      // a write outside a transaction commits on its own; inside one, the transaction's end syncs
      if (!this.inTx) await this.wal?.afterWrite();
      return { changes };
    } catch (e) {
      throw mapSqliteError(e);
    }
  }

  async tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.inTx) return fn(this);
    const release = await this.lock.acquire();
    const inner = new SqliteDb(this.conn, this.lock, true, this.wal);
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
        // A failed sync leaves the transaction committed but maybe not on disk: its caller gets
        // STORE_UNAVAILABLE and the error is logged with the cause (as PostgreSQL would, the disk is at fault).
        await this.wal?.afterWrite();
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
    this.wal?.close();
    this.conn.close();
  }
}

export interface SqliteOptions {
  /**
   * 'inline' (the default): synchronous=FULL, SQLite fsyncs inside COMMIT on the event loop. 'thread-pool': the
   * WAL is fsynced off the event loop (WalSync); a file database in WAL mode only.
   */
  sync?: 'thread-pool' | 'inline' | undefined;
  /** How the WAL is flushed (tests). */
  syncFd?: SyncFd;
}

export function openSqliteDb(file: string, opts: SqliteOptions = {}): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const conn = new Database(file);
  const journal = conn.pragma('journal_mode = WAL', { simple: true });
  conn.pragma('synchronous = FULL');
  const mode = opts.sync ?? 'inline';
  // without a WAL (an in-memory database, or a file system that refuses it) SQLite's own syncs stay
  const wal =
    journal === 'wal' && mode === 'thread-pool'
      ? new WalSync(conn, `${file}-wal`, opts.syncFd ?? fdatasyncOnPool)
      : undefined;
  conn.pragma('busy_timeout = 5000');
  conn.pragma('foreign_keys = OFF');
  // used by the bigram index's triggers (migration 2)
  conn.function('pchat_bigrams', { deterministic: true }, (text: unknown) =>
    cjkBigrams(typeof text === 'string' ? text : null),
  );
  return new SqliteDb(conn, new AsyncLock(), false, wal);
}
