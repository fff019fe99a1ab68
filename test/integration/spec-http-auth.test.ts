// Specification: every authenticated HTTP route refuses a request that is not signed in by a user who may chat,
// with its documented code (docs/errors.md), and changes nothing. The table is generated from the server's own
// route list, so a route added later is checked without anyone remembering to add it here; a route meant to be
// public must be named in PUBLIC below, on purpose.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChatService } from '../../src/chat/chat-service.js';
import { loadConfig } from '../../src/config/config.js';
import { ERRORS, type ErrorCode } from '../../src/core/errors.js';
import { parseListEdit } from '../../src/core/principals.js';
import { FileStore } from '../../src/files/file-store.js';
import { createLogger } from '../../src/observability/log.js';
import { buildServer, type PchatServer } from '../../src/server.js';

/** Routes that answer without a token: health, readiness, metrics, the API description and signing in. */
const PUBLIC = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /api/openapi.json', 'POST /api/sessions']);

const PW = 'correct horse';
const list = (s: string) => parseListEdit(s, 'members');
const ALICE = 'sip:alice@contoso.com'; // administrator
const BOB = 'sip:bob@contoso.com'; // signs out: his token is revoked
const PAT = 'sip:pat@contoso.com'; // moved to a policy that turns chat off after signing in

interface Credential {
  name: string;
  header: () => Record<string, string>;
  code: ErrorCode;
}

describe('every authenticated route, without a valid token, answers its documented code and changes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pchat-auth-table-'));
  let srv: PchatServer;
  const tokens = { revoked: '', expired: '', otherPolicy: '', valid: '' };
  const ids = { room: '', category: '' };
  let before_: string;

  /** Everything a refused request could have changed, as one comparable text. */
  const snapshot = async () =>
    JSON.stringify({
      rooms: await srv.store.rooms.list(),
      categories: await srv.store.categories.list(),
      users: await srv.store.users.list(),
      groups: await srv.store.groups.list(),
      policies: await srv.store.policies.list(),
      config: await srv.store.config.get(),
      lastChange: await srv.store.changes.latestId(),
    });

  before(async () => {
    srv = await buildServer(loadConfig({ dataDir: dir, port: 0, host: '127.0.0.1', sip: { enabled: false } }, {}), {
      logger: createLogger('error'),
      env: {},
      pollMs: 20,
    });
    const { admin } = srv;
    await admin.setPolicy('global', { enablePersistentChat: true });
    await admin.newPolicy('tag:nochat', { enablePersistentChat: false });
    for (const u of [ALICE, BOB, PAT]) await admin.addUser(u, { password: PW, isAdmin: u === ALICE });
    await admin.addGroup('crew', { members: list(BOB) });
    const cat = await admin.newCategory({ name: 'Eng', allowedMembers: list('domain:contoso.com') });
    ids.category = cat.id;
    ids.room = (await admin.newRoom({ name: 'General', category: 'Eng', members: list(`${ALICE},${BOB},${PAT}`) })).id;
    await srv.chat.model.poll();

    tokens.valid = (await srv.chat.signIn(ALICE, PW)).token;
    tokens.revoked = (await srv.chat.signIn(BOB, PW)).token;
    await srv.chat.signOut(tokens.revoked);
    tokens.otherPolicy = (await srv.chat.signIn(PAT, PW)).token;
    await admin.grantPolicy(PAT, 'tag:nochat');
    await srv.chat.model.poll();
    // A token whose lifetime is over: minted by a service on the same store whose tokens expire at once.
    const minting = new ChatService(srv.store, new FileStore(join(dir, 'files')), {
      domain: 'contoso.com',
      tokenTtlSeconds: -60,
    });
    await minting.start();
    tokens.expired = (await minting.signIn(ALICE, PW)).token;
    await minting.stop();
    before_ = await snapshot();
  });

  after(async () => {
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A real value for each path parameter, so that a request that got through would find something to change. */
  const param = (path: string, name: string): string => {
    const byName: Record<string, string> = {
      id: ids.room,
      roomId: ids.room,
      key: path.startsWith('/api/admin/categories') ? 'Eng' : 'General',
      uri: ALICE,
      identity: 'global',
      name: 'crew',
      sipAddress: 'sip:chat@contoso.com',
      label: 'prefs',
    };
    return encodeURIComponent(byName[name] ?? 'x');
  };
  const concrete = (path: string) => path.replace(/:([A-Za-z]+)/g, (_, n: string) => param(path, n));

  const bearer = (t: () => string) => () => ({ authorization: `Bearer ${t()}` });
  const credentials: Credential[] = [
    { name: 'without a token', header: () => ({}), code: 'AUTH_REQUIRED' },
    { name: 'with an empty Bearer', header: () => ({ authorization: 'Bearer ' }), code: 'AUTH_REQUIRED' },
    { name: 'with another scheme', header: () => ({ authorization: `Basic ${tokens.valid}` }), code: 'AUTH_REQUIRED' },
    { name: 'with a token never issued', header: () => ({ authorization: 'Bearer forged' }), code: 'TOKEN_INVALID' },
    {
      name: 'with a valid token after another word',
      header: () => ({ authorization: `xBearer ${tokens.valid}` }),
      code: 'AUTH_REQUIRED',
    },
    {
      name: 'with a valid token followed by more',
      header: () => ({ authorization: `Bearer ${tokens.valid} more` }),
      code: 'AUTH_REQUIRED',
    },
    { name: 'with a revoked token', header: bearer(() => tokens.revoked), code: 'TOKEN_INVALID' },
    { name: 'with an expired token', header: bearer(() => tokens.expired), code: 'TOKEN_INVALID' },
    { name: 'as a user of a policy without chat', header: bearer(() => tokens.otherPolicy), code: 'POLICY_DISABLED' },
  ];

  test('the route list is the server’s, and every public route is still there', () => {
    const names = srv.routes().map((r) => `${r.method} ${r.path}`);
    assert.ok(names.length >= 40, `only ${names.length} routes listed`);
    for (const p of PUBLIC) assert.ok(names.includes(p), `${p} is listed as public but the server has no such route`);
    assert.equal(new Set(names).size, names.length, 'a route is registered twice');
  });

  test('every route not listed as public refuses every credential that is not valid', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const r of srv.routes()) {
      if (PUBLIC.has(`${r.method} ${r.path}`)) continue;
      const path = concrete(r.path);
      for (const c of credentials) {
        const hasBody = !['GET', 'DELETE', 'HEAD'].includes(r.method);
        const res = await fetch(srv.url + path, {
          method: r.method,
          headers: { ...c.header(), ...(hasBody ? { 'content-type': 'application/json' } : {}) },
          body: hasBody ? '{}' : undefined,
        });
        const text = await res.text();
        let code: unknown;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        } catch {
          code = `(not JSON: ${text.slice(0, 60)})`;
        }
        checked++;
        if (res.status !== ERRORS[c.code].status || code !== c.code) {
          failures.push(
            `${r.method} ${r.path} ${c.name}: ${res.status} ${String(code)}, want ${ERRORS[c.code].status} ${c.code}`,
          );
        }
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(checked >= 40 * credentials.length);
    assert.equal(await snapshot(), before_, 'a refused request changed something');
  });

  test('the token on a file link (?token=) is held to the same rules', async () => {
    const file = srv.routes().find((r) => r.method === 'GET' && r.path.startsWith('/api/files/'));
    assert.ok(file, 'the file download route exists');
    const path = concrete(file.path);
    const rows: { token: string; code: ErrorCode }[] = [
      { token: 'forged', code: 'TOKEN_INVALID' },
      { token: tokens.revoked, code: 'TOKEN_INVALID' },
      { token: tokens.expired, code: 'TOKEN_INVALID' },
      { token: tokens.otherPolicy, code: 'POLICY_DISABLED' },
    ];
    for (const r of rows) {
      const res = await fetch(`${srv.url}${path}?token=${encodeURIComponent(r.token)}`);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(res.status, ERRORS[r.code].status, r.code);
      assert.equal(body.error.code, r.code);
    }
  });

  test('the valid token of the same users gets through (the refusals above are about the credential)', async () => {
    // RFC 6750 §2.1: the scheme is case-insensitive; any run of spaces separates it from the token
    for (const authorization of [`Bearer ${tokens.valid}`, `bearer ${tokens.valid}`, `Bearer   ${tokens.valid}`]) {
      const res = await fetch(`${srv.url}/api/me`, { headers: { authorization } });
      assert.equal(res.status, 200, authorization);
      assert.equal(((await res.json()) as { user: string }).user, ALICE);
    }
    const rooms = await fetch(`${srv.url}/api/admin/rooms/General`, {
      headers: { authorization: `Bearer ${tokens.valid}` },
    });
    assert.equal(rooms.status, 200);
  });
});
