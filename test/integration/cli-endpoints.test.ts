// The legacy-endpoint rules and the per-scheme credentials through the real `pchat` command line, on SQLite and
// PostgreSQL: one endpoint per pool (a second is refused, naming the first), --pool takes the pool FQDN, an
// endpoint's address and a user's never coincide, and a password gets a Digest HA1 / NT hash only for the
// schemes sip.auth turns on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseCredential } from '../../src/directory/passwords.js';
import { openStore } from '../../src/store/open.js';
import { type CliResult, runPchat } from '../support/cli.js';
import { type PgSchema, pgSchema } from '../support/pg.js';

/** `pchat ...args ...store` in a contoso.com deployment; `env` goes on top. */
const pchat = (store: string[], args: string[], env: Record<string, string> = {}) =>
  runPchat([...args, ...store], { PCHAT_DOMAIN: 'contoso.com', ...env });

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
  return r;
}

function refused(r: CliResult, code: string, text: RegExp, what: string): void {
  assert.equal(r.code, 1, `${what}: exit ${r.code}, stdout ${r.stdout}`);
  assert.equal(r.stdout, '', what);
  assert.match(r.stderr.trim(), new RegExp(`^pchat: error ${code}: `), what);
  assert.match(r.stderr, text, what);
}

async function scenario(store: string[], open: () => ReturnType<typeof openStore>): Promise<void> {
  const run = (args: string[], env?: Record<string, string>) => pchat(store, args, env);
  ok(await run(['user', 'add', 'sip:alice@contoso.com', '--password', 'alice-password']), 'user add alice');
  const ep = JSON.parse(
    ok(
      await run([
        'endpoint',
        'new',
        '--sip-address',
        'sip:GroupChat@contoso.com',
        '--display-name',
        'Group Chat',
        '--pool',
        'Contoso.com',
        '--json',
      ]),
      'endpoint new',
    ).stdout,
  );
  assert.deepEqual(ep, { sipAddress: 'sip:groupchat@contoso.com', displayName: 'Group Chat', pool: 'contoso.com' });

  refused(
    await run(['endpoint', 'new', '--sip-address', 'sip:ocschat@contoso.com']),
    'ENDPOINT_EXISTS',
    /pool contoso\.com already has the legacy endpoint sip:groupchat@contoso\.com/,
    'a second endpoint for the pool',
  );
  refused(
    await run(['endpoint', 'new', '--sip-address', 'sip:ocschat@contoso.com', '--pool', 'pchat.fabrikam.com']),
    'INVALID_VALUE',
    /^pchat: error INVALID_VALUE: pool: unknown pool "pchat\.fabrikam\.com"/,
    'another pool',
  );
  refused(
    await run(['endpoint', 'new', '--sip-address', 'sip:ocschat@contoso.com', '--pool', 'not a pool']),
    'INVALID_VALUE',
    /pool: "not a pool" is not a pool FQDN/,
    '--pool not an FQDN',
  );
  refused(
    await run(['user', 'add', 'sip:groupchat@contoso.com']),
    'NAME_TAKEN',
    /is the address of a legacy chat endpoint/,
    'a user on the endpoint address',
  );
  ok(await run(['endpoint', 'remove', '--sip-address', 'sip:groupchat@contoso.com']), 'endpoint remove');
  refused(
    await run(['endpoint', 'new', '--sip-address', 'sip:alice@contoso.com']),
    'NAME_TAKEN',
    /is a user/,
    'an endpoint on a user address',
  );
  ok(await run(['endpoint', 'new', '--sip-address', 'sip:ocschat@contoso.com']), 'the old address after the remove');

  // Credentials per scheme: NT hash only for NTLM, HA1 only for Digest, both by default.
  ok(await run(['user', 'add', 'sip:nt@contoso.com', '--password', 'nt-password'], { PCHAT_SIP_AUTH: 'ntlm' }), 'nt');
  ok(await run(['user', 'add', 'sip:dg@contoso.com', '--password', 'dg-password'], { PCHAT_SIP_AUTH: 'digest' }), 'dg');
  const s = await open();
  try {
    const cred = async (u: string) => parseCredential(await s.users.getPasswordHash(u));
    const both = await cred('sip:alice@contoso.com');
    assert.match(both?.ha1 ?? '', /^[0-9a-f]{32}$/);
    assert.match(both?.nt ?? '', /^[0-9a-f]{32}$/);
    const nt = await cred('sip:nt@contoso.com');
    assert.equal(nt?.ha1, undefined);
    assert.match(nt?.nt ?? '', /^[0-9a-f]{32}$/);
    const dg = await cred('sip:dg@contoso.com');
    assert.match(dg?.ha1 ?? '', /^[0-9a-f]{32}$/);
    assert.equal(dg?.nt, undefined);
    assert.deepEqual(
      (await s.endpoints.list()).map((e) => e.sipAddress),
      ['sip:ocschat@contoso.com'],
    );
  } finally {
    await s.close();
  }
}

describe('pchat endpoint rules and per-scheme credentials', { concurrency: true }, () => {
  test('SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pchat-cli-ep-'));
    try {
      await scenario(['--data', dir], () => openStore({ dataDir: dir }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('PostgreSQL', () => {
    let schema: PgSchema | undefined;
    before(async () => {
      schema = await pgSchema('pchat endpoint rules: postgres');
    });
    after(async () => {
      await schema?.drop();
    });
    test('PostgreSQL', async (t) => {
      if (!schema) return t.skip('PostgreSQL not reachable (see the SKIPPED line above)');
      const url = schema.url;
      const dir = mkdtempSync(join(tmpdir(), 'pchat-cli-ep-pg-'));
      try {
        await scenario(['--db', url, '--data', dir], () => openStore({ dataDir: dir, db: url }));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
