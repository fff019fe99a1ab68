// Migrations are applied by version, not "above the highest": a step numbered below one already applied
// (helpers number their steps apart and merge in any order) is still applied.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/open.js';

test('a missing lower-numbered step is applied after a higher one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pchat-mig-'));
  try {
    await (await openStore({ dataDir: dir })).close();
    // as if step 4 had been merged after step 5 was already applied
    const db = new Database(join(dir, 'pchat.db'));
    db.exec(`DROP TRIGGER messages_fts_upd; DROP TRIGGER messages_bigram_upd; DROP INDEX messages_ts;
      DROP INDEX files_room; DROP TABLE retention; DROP TABLE holds; DROP TABLE leases;
      DELETE FROM schema_version WHERE version = 4`);
    db.close();
    const store = await openStore({ dataDir: dir });
    try {
      assert.equal(await store.schemaVersion(), Math.max(...MIGRATIONS.map((m) => m.version)));
      await store.moderation.setRetention('global', 30);
      assert.deepEqual([...(await store.moderation.retention())], [['global', 30]]);
    } finally {
      await store.close();
    }
    const check = new Database(join(dir, 'pchat.db'), { readonly: true });
    const versions = check.prepare('SELECT version FROM schema_version ORDER BY version').all() as {
      version: number;
    }[];
    check.close();
    assert.deepEqual(
      versions.map((v) => v.version),
      MIGRATIONS.map((m) => m.version).sort((a, b) => a - b),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
