// PostgreSQL and NATS for the pool targets of the bench (pchat-pool-w<N>): a throwaway schema on the machine's
// PostgreSQL (PCHAT_BENCH_PG, default postgres://root@127.0.0.1:5432/test) and the machine's NATS with JetStream
// (PCHAT_BENCH_NATS, default nats://127.0.0.1:4222), under a pool name of its own.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const BENCH_PG = process.env.PCHAT_BENCH_PG ?? 'postgres://root@127.0.0.1:5432/test';
export const BENCH_NATS = process.env.PCHAT_BENCH_NATS ?? 'nats://127.0.0.1:4222';

export interface PoolEnv {
  db: string;
  bus: string;
  pool: string;
  drop(): Promise<void>;
}

export async function poolEnv(): Promise<PoolEnv> {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BENCH_PG });
  await admin.connect();
  try {
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public');
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const sep = BENCH_PG.includes('?') ? '&' : '?';
  return {
    db: `${BENCH_PG}${sep}options=${encodeURIComponent(`-c search_path=${schema},public`)}`,
    bus: BENCH_NATS,
    pool: `${schema}.bench`,
    async drop() {
      const c = new pg.Client({ connectionString: BENCH_PG });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
