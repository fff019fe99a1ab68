// Runs a suite once per store engine: a SQLite file in a temporary directory and a throwaway PostgreSQL schema
// (skipped with a message outside CI when PostgreSQL is unreachable, failing under CI=true; see pg.ts). SQLite is
// always there: its half never skips (a case whose engine is missing calls engineUnavailable from spec-engines.ts,
// which fails on SQLite), and a SQLite store that does not open fails the case that opens it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.js';
import type { Dialect, Store } from '../../src/store/port.js';
import { pgSchema } from './pg.js';

export interface Engine {
  name: Dialect;
  /** Where openStore finds this engine: a data directory, and a database URL for PostgreSQL. */
  location: { db?: string; dataDir: string };
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

/**
 * A fresh, empty location on `dialect`; undefined only for an unreachable PostgreSQL outside CI (its cases skip).
 * Never undefined for SQLite.
 */
export async function freshEngine(dialect: Dialect, suite: string): Promise<Engine | undefined> {
  const dataDir = mkdtempSync(join(tmpdir(), `pchat-${dialect}-`));
  const rmDir = async () => rmSync(dataDir, { recursive: true, force: true });
  if (dialect === 'sqlite') {
    const open = async () => {
      const store = await openStore({ dataDir });
      assert.ok(store, 'the SQLite store did not open');
      return store;
    };
    return { name: dialect, location: { dataDir }, open, cleanup: rmDir };
  }
  const schema = await pgSchema(`${suite} (postgres)`);
  if (!schema) {
    await rmDir();
    return undefined;
  }
  const location = { db: schema.url, dataDir };
  return {
    name: dialect,
    location,
    open: () => openStore(location),
    async cleanup() {
      await schema.drop();
      await rmDir();
    },
  };
}

export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];
