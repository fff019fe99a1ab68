// PostgreSQL for tests: a fresh schema per suite on the server named by PCHAT_TEST_PG
// (default postgres://root@127.0.0.1:5432/test). Outside CI an unreachable server skips the suite and says so;
// under CI (CI=true) it fails, because CI never skips the PostgreSQL half.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_BASE_URL = process.env.PCHAT_TEST_PG ?? 'postgres://root@127.0.0.1:5432/test';

export interface PgSchema {
  url: string;
  drop(): Promise<void>;
}

/** Creates a throwaway schema; returns undefined (after a clear message) when the suite must be skipped. */
export async function pgSchema(suite: string): Promise<PgSchema | undefined> {
  const admin = new pg.Client({ connectionString: PG_BASE_URL });
  try {
    await admin.connect();
  } catch (e) {
    if (process.env.CI) throw new Error(`CI requires PostgreSQL at ${PG_BASE_URL}: ${(e as Error).message}`);
    console.log(`# SKIPPED ${suite}: PostgreSQL not reachable at ${PG_BASE_URL} (${(e as Error).message})`);
    return undefined;
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public');
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const sep = PG_BASE_URL.includes('?') ? '&' : '?';
  return {
    url: `${PG_BASE_URL}${sep}options=${encodeURIComponent(`-c search_path=${schema},public`)}`,
    async drop() {
      const c = new pg.Client({ connectionString: PG_BASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}
