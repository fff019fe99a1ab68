// A compliance store beside a chat store, on SQLite (a temporary data directory) or on PostgreSQL (a throwaway
// schema for each, the compliance one named here so suites never share pchat_compliance).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ComplianceStore } from '../../src/compliance/store.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/port.js';
import { PG_BASE_URL, type PgSchema, pgSchema } from './pg.js';

export interface ComplianceEnv {
  engine: 'sqlite' | 'postgres';
  dataDir: string;
  db: string | undefined;
  pgSchema: string | undefined;
  chat: Store;
  compliance: ComplianceStore;
  /** Another compliance store on the same data (a second server of the pool). */
  openCompliance(): Promise<ComplianceStore>;
  close(): Promise<void>;
}

export async function complianceEnv(engine: 'sqlite' | 'postgres', suite: string): Promise<ComplianceEnv | undefined> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pchat-comp-'));
  let schema: PgSchema | undefined;
  let compSchema: string | undefined;
  if (engine === 'postgres') {
    schema = await pgSchema(suite);
    if (!schema) {
      rmSync(dataDir, { recursive: true, force: true });
      return undefined;
    }
    compSchema = `c_${randomBytes(6).toString('hex')}`;
  }
  const db = schema?.url;
  const chat = await openStore({ db, dataDir });
  const loc = { db, dataDir, ...(compSchema ? { pgSchema: compSchema } : {}) };
  // the server's way on PostgreSQL: through the chat store's connections (a second server opens its own pool)
  const compliance = await ComplianceStore.open(loc, { shareWith: chat });
  const extra: ComplianceStore[] = [];
  return {
    engine,
    dataDir,
    db,
    pgSchema: compSchema,
    chat,
    compliance,
    async openCompliance() {
      const s = await ComplianceStore.open(loc);
      extra.push(s);
      return s;
    },
    async close() {
      for (const s of extra) await s.close();
      await compliance.close();
      await chat.close();
      if (schema) {
        const c = new pg.Client({ connectionString: PG_BASE_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${compSchema} CASCADE`);
        await c.end();
        await schema.drop();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let xmllintMissingSaid = false;

/**
 * Validates an XML file against docs/compliance.xsd with xmllint; throws with xmllint's output on failure.
 * Without xmllint installed (Debian: libxml2-utils) the validation is skipped, and says so, outside CI; under CI
 * (CI=true, which `.ci/run` sets after installing it) a missing xmllint fails.
 */
export function xmllintValidate(file: string): void {
  if (!process.env.CI && spawnSync('xmllint', ['--version'], { stdio: 'ignore' }).error) {
    if (!xmllintMissingSaid)
      console.log('# SKIPPED XSD validation: xmllint is not installed (apt-get install libxml2-utils)');
    xmllintMissingSaid = true;
    return;
  }
  try {
    execFileSync('xmllint', ['--noout', '--schema', join(import.meta.dirname, '../../docs/compliance.xsd'), file], {
      stdio: 'pipe',
    });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`xmllint rejected ${file}: ${err.stderr?.toString() ?? err.message}`);
  }
}
