// Chooses and opens the store adapter: a PostgreSQL URL selects PostgreSQL, anything else is the SQLite
// file `pchat.db` in the data directory.
import { join } from 'node:path';
import type { Store } from './port.js';
import { openSqlStore } from './sql-store.js';
import { openSqliteDb } from './sqlite.js';

export interface StoreLocation {
  /** postgres://… (or postgresql://…); takes precedence over dataDir. */
  db?: string | undefined;
  dataDir: string;
  /** The embedded store's sync mode (config `sqliteSync`); SQLite only. */
  sqliteSync?: 'inline' | 'thread-pool';
}

export function isPostgresUrl(s: string | undefined): s is string {
  return s !== undefined && /^postgres(ql)?:\/\//.test(s);
}

export async function openStore(loc: StoreLocation): Promise<Store> {
  if (isPostgresUrl(loc.db)) {
    // loaded only when used: the embedded default never pays for the PostgreSQL driver
    const { openPgDb } = await import('./postgres.js');
    return openSqlStore(await openPgDb(loc.db));
  }
  return openSqlStore(openSqliteDb(join(loc.dataDir, 'pchat.db'), { sync: loc.sqliteSync }));
}
