// Seeds a pchat data directory directly on the store, before the server starts: the global policy, one
// category open to the domain, open rooms, users without passwords (no scrypt) and one session token per
// user (the load generator signs in over the WebSocket with it, as after a REST sign-in). Everything goes
// in one SQLite transaction, so 20,000 users and 12,000 rooms take seconds, not minutes of fsyncs.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AdminService } from '../../src/admin/admin-service.js';
import type { Db } from '../../src/store/db.js';
import { isPostgresUrl } from '../../src/store/open.js';
import type { NewMessage, Store } from '../../src/store/port.js';
import { openPgDb } from '../../src/store/postgres.js';
import { openSqlStore } from '../../src/store/sql-store.js';
import { openSqliteDb } from '../../src/store/sqlite.js';

export const DOMAIN = 'pchat.local';
export const userUri = (i: number) => `sip:u${i}@${DOMAIN}`;

export interface SeedSpec {
  users: number;
  /** Room names (open rooms in the one category). */
  rooms: string[];
}

export interface Seeded {
  tokens: string[];
  /** room name → id */
  roomIds: Map<string, string>;
  ms: number;
}

/** Runs `fn` with a store over the data directory (or the PostgreSQL `pgUrl`), all inside one transaction. */
export async function withStoreTx<T>(
  dataDir: string,
  fn: (store: Store, admin: AdminService) => Promise<T>,
  pgUrl?: string,
): Promise<T> {
  const db: Db = isPostgresUrl(pgUrl) ? await openPgDb(pgUrl) : openSqliteDb(join(dataDir, 'pchat.db'));
  try {
    await openSqlStore(db); // migrates outside the transaction
    return await db.tx(async (tx) => {
      const store = await openSqlStore(tx);
      return fn(store, new AdminService(store, { realm: 'pchat', domain: DOMAIN, pool: DOMAIN }));
    });
  } finally {
    await db.close();
  }
}

export async function seedPchat(dataDir: string, spec: SeedSpec, pgUrl?: string): Promise<Seeded> {
  const t0 = performance.now();
  return withStoreTx(
    dataDir,
    async (store, admin) => {
      await admin.setPolicy('global', { enablePersistentChat: true });
      const cat = await admin.newCategory({ name: 'Bench', allowedMembers: { replace: [`domain:${DOMAIN}`] } });
      const roomIds = new Map<string, string>();
      // rooms first: creating a room reads the whole directory, which is still empty
      for (const name of spec.rooms) {
        const r = await admin.newRoom({ name, category: cat.id, privacy: 'open' });
        roomIds.set(name, r.id);
      }
      const tokens: string[] = [];
      const now = Date.now();
      for (let i = 0; i < spec.users; i++) {
        const uri = userUri(i);
        await admin.addUser(uri, { displayName: `User ${i}` });
        const token = randomBytes(24).toString('base64url');
        await store.tokens.put({
          tokenHash: createHash('sha256').update(token).digest('hex'),
          user: uri,
          createdAt: now,
          expiresAt: now + 24 * 3600_000,
        });
        tokens.push(token);
      }
      return { tokens, roomIds, ms: performance.now() - t0 };
    },
    pgUrl,
  );
}

const VOCAB = (
  'the quick brown fox jumps over lazy dog release build deploy server client meeting budget report ' +
  'project design review schedule customer support ticket network storage backup archive policy audit ' +
  'compliance roadmap quarter forecast invoice contract vendor partner market launch feature bug fix test'
).split(' ');

/**
 * Appends `total` messages to one room through store.messages.append in batches (one transaction each).
 * Text: 8–16 words drawn with a skewed distribution from VOCAB; "zanzibar" in 1 of 100,000, "quixotic" in
 * 1 of 1,000, the CJK phrases "東京都" in 1 of 500 and "会議" in 1 of 200.
 */
export async function seedMessages(
  dataDir: string,
  roomId: string,
  author: string,
  total: number,
  batch = 1000,
): Promise<number> {
  const t0 = performance.now();
  const db = openSqliteDb(join(dataDir, 'pchat.db'));
  try {
    const store = await openSqlStore(db);
    let x = 12345;
    const rnd = () => {
      // xorshift: deterministic text
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 4294967296;
    };
    const ts0 = Date.now() - total * 1000;
    for (let done = 0; done < total; done += batch) {
      const msgs: NewMessage[] = [];
      for (let i = done; i < Math.min(total, done + batch); i++) {
        const n = 8 + Math.floor(rnd() * 9);
        const words: string[] = [];
        for (let w = 0; w < n; w++) words.push(VOCAB[Math.floor(rnd() ** 2 * VOCAB.length)] as string);
        if (i % 100_000 === 7) words.push('zanzibar');
        if (i % 1000 === 3) words.push('quixotic');
        if (i % 500 === 1) words.push('東京都の');
        if (i % 200 === 2) words.push('会議');
        msgs.push({
          roomId,
          author,
          ts: ts0 + i * 1000,
          kind: 'regular',
          text: `${words.join(' ')} #${i}`,
          title: null,
          rich: null,
          file: null,
          logged: true,
        });
      }
      await store.messages.append(msgs);
    }
    return performance.now() - t0;
  } finally {
    await db.close();
  }
}
