// The pool adapter: PostgreSQL through node-postgres. SQL arrives with `?` placeholders and leaves with $n.
import pg from 'pg';
import type { Capabilities, Db, Param, Row } from './db.js';

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

  async all<T extends Row>(sql: string, params: Param[] = []): Promise<T[]> {
    return (await this.q.query(this.text(sql), params)).rows as T[];
  }

  async get<T extends Row>(sql: string, params: Param[] = []): Promise<T | undefined> {
    return (await this.q.query(this.text(sql), params)).rows[0] as T | undefined;
  }

  async run(sql: string, params: Param[] = []): Promise<{ changes: number }> {
    const r = await this.q.query(this.text(sql), params);
    return { changes: r.rowCount ?? 0 };
  }

  async tx<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (!this.pool) return fn(this);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const out = await fn(new PgDb(client, null));
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool?.end();
  }
}

export async function openPgDb(url: string, opts: { max?: number } = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 8 });
  pool.on('error', () => {
    /* an idle client died; the pool replaces it */
  });
  const db = new PgDb(pool, pool);
  await db.get('SELECT 1 AS ok');
  return db;
}
