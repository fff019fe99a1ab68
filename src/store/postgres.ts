// The pool adapter: PostgreSQL through node-postgres. SQL arrives with `?` placeholders and leaves with $n.
import pg from 'pg';
import { AsyncLock, type Capabilities, type Db, type Param, type Row } from './db.js';
import { isPgConnectionError, mapPgError } from './store-errors.js';

// BIGINT (int8) columns come back as JS numbers: ids and millisecond timestamps stay below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));

/** `?` → `$1…$n`, skipping quoted text. */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      n += 1;
      out += `$${n}`;
    } else out += ch;
  }
  return out;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

class PgDb implements Db {
  readonly caps: Capabilities = { dialect: 'postgres', fullText: 'pg-trgm' };
  private static readonly sqlCache = new Map<string, string>();

  private readonly idLock = new AsyncLock();

  constructor(
    private readonly q: Queryable,
    private readonly pool: pg.Pool | null,
  ) {}

  private text(sql: string): string {
    let t = PgDb.sqlCache.get(sql);
    if (t === undefined) {
      t = toPgPlaceholders(sql);
      PgDb.sqlCache.set(sql, t);
    }
    return t;
  }

  private async query(sql: string, params: Param[]): Promise<pg.QueryResult> {
    try {
      return await this.q.query(this.text(sql), params);
    } catch (e) {
      throw mapPgError(e);
    }
  }

  async all<T extends Row>(sql: string, params: Param[] = []): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async get<T extends Row>(sql: string, params: Param[] = []): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  async run(sql: string, params: Param[] = []): Promise<{ changes: number }> {
    const r = await this.query(sql, params);
    // rowCount of a SELECT is the rows it read, not rows changed: report none, as SQLite does
    return { changes: r.command === 'SELECT' ? 0 : (r.rowCount ?? 0) };
  }

  async tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (!this.pool) return fn(this);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw mapPgError(e);
    }
    // A client whose connection broke is destroyed on release instead of going back to the pool, so the pool
    // reconnects after a PostgreSQL restart instead of handing out dead connections.
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const out = await fn(new PgDb(client, null));
        await client.query('COMMIT');
        return out;
      } catch (e) {
        if (isPgConnectionError(e) || isPgConnectionError((e as { cause?: unknown })?.cause)) broken = e as Error;
        else {
          try {
            await client.query('ROLLBACK');
          } catch (r) {
            broken = r as Error;
          }
        }
        throw mapPgError(e);
      }
    } catch (e) {
      if (isPgConnectionError(e)) broken = e as Error;
      throw mapPgError(e);
    } finally {
      client.release(broken);
    }
  }

  /**
   * A transaction of the id space: callers of this process enter in call order (a FIFO lock), then take the
   * pool-wide advisory lock. Without the local lock two batches flushed back to back race for the advisory lock
   * on two pool connections, and the later one can win it, taking lower ids: posts sent in order on one
   * connection came back with inverted ids. Ids are allocated and committed under the advisory lock, so a
   * transaction holding id N+1 starts only after the one holding N has committed (and become visible): a reader
   * that pages by id ("everything after N") can never see N+1 before N.
   */
  async serialTx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (!this.pool) return fn(this); // nested in a transaction that already holds both locks
    const release = await this.idLock.acquire();
    try {
      return await this.tx(async (tx) => {
        await tx.get('SELECT pg_advisory_xact_lock(72627002) AS locked');
        return fn(tx);
      });
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    await this.pool?.end();
  }
}

export async function openPgDb(url: string, opts: { max?: number } = {}): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 8,
    // A server cut off from the database mid-transaction must not hold the id-space lock for hours: TCP keepalives
    // find a dead peer, and PostgreSQL ends a session idle inside a transaction after a minute (no pchat
    // transaction waits that long between statements).
    keepAlive: true,
    idle_in_transaction_session_timeout: 60_000,
  });
  pool.on('error', () => {
    /* an idle client died; the pool replaces it */
  });
  pool.on('connect', (client) => {
    client.on('error', () => {
      /* a checked-out client's connection died (server restart); its query fails and tx() discards it */
    });
  });
  const db = new PgDb(pool, pool);
  await db.get('SELECT 1 AS ok');
  return db;
}
