// The `pchat` command line against PostgreSQL: the same verbs as cli-sqlite.test.ts, each a real process (tsx),
// with the store named by --db and by PCHAT_DB. Under CI=true an unreachable server fails the suite (test/support/pg.ts).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { all, CONTOSO, failed, json, names, ok, pchatOn, type CliResult as Result, uris } from '../support/cli.js';
import { type PgSchema, pgSchema } from '../support/pg.js';

const { A, B } = CONTOSO;

describe('pchat CLI', () => {
  describe('PostgreSQL', { concurrency: 1 }, () => {
    let schema: PgSchema | undefined;
    let dir: string;
    before(async () => {
      schema = await pgSchema('pchat CLI: postgres');
      dir = mkdtempSync(join(tmpdir(), 'pchat-cli-pg-'));
    });
    after(async () => {
      await schema?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('the same verbs against PostgreSQL (--db and PCHAT_DB)', async (t) => {
      if (!schema) return t.skip('PostgreSQL not reachable (see the SKIPPED line above)');
      const url = schema.url;
      // --data is given too: --db must win, so no SQLite file may appear there.
      const run = pchatOn(['--db', url, '--data', dir]);
      ok(await run(['user', 'add', A, '--admin', '--ou', 'Contoso/Eng']), 'user add');
      await all([
        () => run(['user', 'add', B]),
        () => run(['category', 'new', 'Engineering', '--allowed-members', 'domain:contoso.com']),
        () => run(['policy', 'set', 'global', '--enable-persistent-chat', 'true']),
      ]).then((rs) => rs.map((r, i) => ok(r, `pg setup ${i}`)));
      ok(await run(['room', 'new', 'General', '--category', 'Engineering', '--members', A]), 'room new');
      const edited = json(await run(['room', 'set', 'General', '--members', `+${B}`, '--json']), 'room set');
      assert.deepEqual(edited.members, [A, B]);

      const before = await run(['room', 'get', '--json']);
      const [bad, viaEnv, eligible] = await all([
        () => run(['room', 'set', 'General', '--description', 'x', '--privacy', 'bogus']),
        () => pchatOn(['--data', dir])(['room', 'get', '--member', B, '--json'], { env: { PCHAT_DB: url } }),
        () => run(['principal', 'eligible', '--room', 'General', '--json']),
      ]);
      failed(bad as Result, 1, 'INVALID_VALUE', /^privacy:/, 'bad privacy on PostgreSQL');
      assert.deepEqual(names(json(viaEnv as Result, 'PCHAT_DB')), ['General']);
      assert.deepEqual(uris(json(eligible as Result, 'eligible')), [A, B]);
      assert.equal((await run(['room', 'get', '--json'])).stdout, before.stdout);
      assert.equal(existsSync(join(dir, 'pchat.db')), false, 'no SQLite store was created');
    });
  });
});
