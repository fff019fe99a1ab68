// The HTTP platform against a real server (in this process, real sockets): every route refuses unknown fields
// and wrongly typed values with INVALID_VALUE naming the field; the CLI's verbs and options all exist in the
// admin API (read from the generated OpenAPI document); the per-user rate limit (shared budget, Retry-After);
// multipart uploads; aborted uploads leave no session or temp file; stale temp files are swept at start;
// oversized headers answer 431; static web files with cache headers, CSP and SPA fallback; a port in use.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { AdminService } from '../../src/admin/admin-service.js';
import { NOUNS } from '../../src/cli/main.js';
import { ConfigSchema } from '../../src/config/config.js';
import { silentLogger } from '../../src/observability/log.js';
import { buildServer, type PchatServer } from '../../src/server.js';
import { openStore } from '../../src/store/open.js';
import { type PgSchema, pgSchema } from '../support/pg.js';
import { DOMAIN, http, PASSWORD, type Seeded, seedStandard, signIn, tempDataDir, uri } from '../support/server.js';

type Doc = {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { in: string; name: string; schema: Record<string, unknown> }[];
        requestBody?: { content: Record<string, { schema: JsonSchema }> };
      }
    >
  >;
};
type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; $ref?: string; anyOf?: unknown };

async function start(dir: string, extra: Record<string, unknown> = {}, opts: Parameters<typeof buildServer>[1] = {}) {
  const config = ConfigSchema.parse({ dataDir: dir, port: 0, logLevel: 'silent', sip: { enabled: false }, ...extra });
  return buildServer(config, { logger: silentLogger, env: {}, pollMs: 50, ...opts });
}

/** Every route of the OpenAPI document: an unknown query parameter and body field, and a wrongly typed one. */
async function walkRoutes(server: PchatServer, alice: string): Promise<void> {
  const doc = server.openapi() as Doc;
  let routes = 0;
  let typed = 0;
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (method === 'head') continue;
      routes++;
      const url = path.replace(/\{[^}]+\}/g, 'x');
      const body = op.requestBody?.content['application/json']?.schema as
        | (JsonSchema & { required?: string[] })
        | undefined;
      // an unknown query parameter (Fastify checks the body first: give routes with a body an acceptable one)
      const minimal = Object.fromEntries(
        (body?.required ?? []).map((k) => {
          const t = body?.properties?.[k]?.type;
          const v = { string: 'x', integer: 0, number: 0, boolean: true, array: [] }[t ?? 'string'] ?? 'x';
          return [k, t === undefined ? 'x' : v];
        }),
      );
      const q = await http(server.url, method.toUpperCase(), `${url}?zzUnknown=1`, {
        token: alice,
        ...(body ? { body: minimal } : {}),
      });
      assert.equal(q.status, 400, `${method} ${path}?zzUnknown: ${JSON.stringify(q.body)}`);
      assert.deepEqual([q.body.error.code, q.body.error.field], ['INVALID_VALUE', 'zzUnknown'], `${method} ${path}`);
      // a wrongly typed query parameter: one with a pattern or a fixed set of values
      const typedParam = op.parameters?.find((p) => p.in === 'query' && (p.schema.pattern || p.schema.enum));
      if (typedParam) {
        const t = await http(server.url, method.toUpperCase(), `${url}?${typedParam.name}=zz%21`, {
          token: alice,
          ...(body ? { body: minimal } : {}),
        });
        assert.deepEqual(
          [t.status, t.body.error.code, t.body.error.field],
          [400, 'INVALID_VALUE', typedParam.name],
          `${method} ${path}?${typedParam.name}`,
        );
        typed++;
      }
      if (!body) continue;
      // an unknown body field
      const u = await http(server.url, method.toUpperCase(), url, { token: alice, body: { zzUnknown: 1 } });
      assert.deepEqual(
        [u.status, u.body.error.code, u.body.error.field],
        [400, 'INVALID_VALUE', 'zzUnknown'],
        `${method} ${path} body`,
      );
      // a wrongly typed body field: a string field gets a number, anything else gets a string
      const [name, prop] = Object.entries(body.properties ?? {}).find(([, p]) => p.type !== undefined) ?? [];
      if (name && prop) {
        const wrong = prop.type === 'string' ? 12345 : 'zz';
        const w = await http(server.url, method.toUpperCase(), url, { token: alice, body: { [name]: wrong } });
        assert.deepEqual(
          [w.status, w.body.error.code, w.body.error.field],
          [400, 'INVALID_VALUE', name],
          `${method} ${path} body.${name}`,
        );
        typed++;
      }
    }
  }
  assert.ok(routes >= 60, `walked ${routes} routes`);
  assert.ok(typed >= 30, `checked ${typed} wrongly typed values`);
}

async function typoChangesNothing(server: PchatServer, alice: string, category: string): Promise<void> {
  const before = await http(server.url, 'GET', `/api/admin/categories/${category}`, { token: alice });
  const r = await http(server.url, 'PATCH', `/api/admin/categories/${category}`, {
    token: alice,
    body: { deniedMember: ['sip:bob@pchat.local'] },
  });
  assert.equal(r.status, 400);
  assert.deepEqual(r.body, {
    error: { code: 'INVALID_VALUE', message: 'deniedMember: unknown field', field: 'deniedMember' },
  });
  const after = await http(server.url, 'GET', `/api/admin/categories/${category}`, { token: alice });
  assert.deepEqual(after.body, before.body);
}

describe('HTTP platform', () => {
  const data = tempDataDir('pchat-platform-');
  const web = tempDataDir('pchat-web-');
  let ids: Seeded;
  let server: PchatServer;
  let alice: string;

  before(async () => {
    ids = await seedStandard(data.dir);
    mkdirSync(join(web.dir, 'assets'));
    writeFileSync(join(web.dir, 'index.html'), '<!doctype html><title>pchat</title>');
    writeFileSync(join(web.dir, 'assets', 'app-3f9a1c2bde.js'), 'console.log(1)');
    server = await start(
      data.dir,
      { rateLimit: { perSecond: 1000, burst: 100000 } },
      { webDir: web.dir, rateLimit: { ratePerSecond: 1000, burst: 100000 } },
    );
    alice = await signIn(server.url, 'alice');
  });
  after(async () => {
    await server?.close();
    data.remove();
    web.remove();
  });

  test('every route refuses an unknown field and a wrongly typed value with INVALID_VALUE naming the field', () =>
    walkRoutes(server, alice));

  test('the typo of the issue: PATCH a category with deniedMember is refused and changes nothing', () =>
    typoChangesNothing(server, alice, ids.category));

  test('numbers beyond the safe range and malformed dates are refused at the edge', async () => {
    const cases: [string, string][] = [
      [`/api/rooms/${ids.open}/messages?before=99999999999999999999`, 'before'],
      [`/api/rooms/${ids.open}/messages?limit=1.5`, 'limit'],
      [`/api/rooms/${ids.open}/messages?after=-`, 'after'],
      ['/api/search?q=x&since=1e23', 'since'],
      ['/api/search?q=x&until=99999999999999999999', 'until'],
      ['/api/search?q=x&before=9007199254740993', 'before'],
      ['/api/invitations?after=abc', 'after'],
      ['/api/admin/rooms?resultSize=1e3', 'resultSize'],
      ['/api/admin/rooms?disabled=maybe', 'disabled'],
      ['/api/admin/rooms?privacy=public', 'privacy'],
    ];
    for (const [path, field] of cases) {
      const r = await http(server.url, 'GET', path, { token: alice });
      assert.deepEqual([r.status, r.body.error.code, r.body.error.field], [400, 'INVALID_VALUE', field], path);
    }
    const ok = await http(server.url, 'GET', '/api/search?q=x&since=2026-01-01T00:00:00Z&until=1796158159670', {
      token: alice,
    });
    assert.equal(ok.status, 200);
  });

  test('response schemas keep internal fields out: a user never carries a password hash', async () => {
    const r = await http(server.url, 'GET', '/api/admin/users', { token: alice });
    assert.equal(r.status, 200);
    for (const u of r.body.users) {
      assert.deepEqual(Object.keys(u).sort(), [
        'createdAt',
        'disabled',
        'displayName',
        'email',
        'isAdmin',
        'ou',
        'policy',
        'site',
        'uri',
      ]);
    }
  });

  test('every CLI verb and option has its place in the admin API', () => {
    const doc = server.openapi() as Doc;
    const norm = (s: string) => s.toLowerCase().replace(/-/g, '');
    const ALIAS: Record<string, string> = { admin: 'isadmin' };
    const SKIP = new Set(['json', 'data', 'db', 'help', 'identity', 'passwordstdin']);
    // noun verb → method and path of the API route that does the same
    const ROUTES: Record<string, [string, string]> = {
      'room new': ['post', '/api/admin/rooms'],
      'room set': ['patch', '/api/admin/rooms/{key}'],
      'room get': ['get', '/api/admin/rooms'],
      'room remove': ['delete', '/api/admin/rooms/{key}'],
      'category new': ['post', '/api/admin/categories'],
      'category set': ['patch', '/api/admin/categories/{key}'],
      'category get': ['get', '/api/admin/categories/{key}'],
      'category remove': ['delete', '/api/admin/categories/{key}'],
      'user add': ['post', '/api/admin/users'],
      'user set': ['patch', '/api/admin/users/{uri}'],
      'user get': ['get', '/api/admin/users'],
      'user remove': ['delete', '/api/admin/users/{uri}'],
      'group add': ['post', '/api/admin/groups'],
      'group set': ['patch', '/api/admin/groups/{name}'],
      'group get': ['get', '/api/admin/groups/{name}'],
      'group remove': ['delete', '/api/admin/groups/{name}'],
      'policy new': ['put', '/api/admin/policies/{identity}'],
      'policy set': ['put', '/api/admin/policies/{identity}'],
      'policy get': ['get', '/api/admin/policies/{identity}'],
      'policy remove': ['delete', '/api/admin/policies/{identity}'],
      'policy grant': ['post', '/api/admin/policy-grants'],
      'addin new': ['post', '/api/admin/addins'],
      'addin set': ['put', '/api/admin/addins/{name}'],
      'addin get': ['get', '/api/admin/addins/{name}'],
      'addin remove': ['delete', '/api/admin/addins/{name}'],
      'endpoint new': ['post', '/api/admin/endpoints'],
      'endpoint get': ['get', '/api/admin/endpoints/{sipAddress}'],
      'endpoint remove': ['delete', '/api/admin/endpoints/{sipAddress}'],
      'config get': ['get', '/api/admin/config'],
      'config set': ['patch', '/api/admin/config'],
      'principal eligible': ['get', '/api/admin/eligible'],
    };
    // verbs that work beside the server rather than through it have no API route, by design (each says why)
    const CLI_ONLY: Record<string, string> = {
      'migrate lync': "reads the legacy pool's CSV and XML files on the administrator's machine, pool stopped",
      'pool status': "the pool's control plane is on its NATS, so it answers while a server or the database is down",
      'pool active-servers': "the pool's control plane is on its NATS (as pool status)",
      'pool state': 'failover is set while the primary database is gone: on the NATS, not through a server',
    };
    let checked = 0;
    for (const noun of NOUNS) {
      for (const [verb, def] of Object.entries(noun.verbs)) {
        if (noun.name === 'serve' || CLI_ONLY[`${noun.name} ${verb}`]) continue;
        const route = ROUTES[`${noun.name} ${verb}`];
        assert.ok(route, `pchat ${noun.name} ${verb} has no API route in this walk`);
        const op = doc.paths[route[1]]?.[route[0]];
        assert.ok(op, `pchat ${noun.name} ${verb}: ${route[0].toUpperCase()} ${route[1]} is missing`);
        const names = new Set<string>();
        for (const p of op.parameters ?? []) names.add(norm(p.name));
        const body = op.requestBody?.content['application/json']?.schema;
        for (const k of Object.keys(body?.properties ?? {})) names.add(norm(k));
        for (const o of def.options) {
          const n = ALIAS[norm(o.name)] ?? norm(o.name);
          if (SKIP.has(n)) continue;
          // the key the verb acts on is the path parameter
          if (route[1].toLowerCase().includes(`{${n}}`)) continue;
          assert.ok(
            names.has(n),
            `pchat ${noun.name} ${verb} --${o.name}: not in ${route[0].toUpperCase()} ${route[1]}`,
          );
          checked++;
        }
      }
    }
    assert.ok(checked >= 60, `checked ${checked} options`);
  });

  test('admin room list filters: addin, invitations, resultSize', async () => {
    await http(server.url, 'POST', '/api/admin/addins', {
      token: alice,
      body: { name: 'wiki', url: 'https://wiki.example/' },
    });
    await http(server.url, 'PATCH', `/api/admin/rooms/${ids.open}`, {
      token: alice,
      body: { addin: 'wiki', invitations: 'false' },
    });
    const byAddin = await http(server.url, 'GET', '/api/admin/rooms?addin=wiki', { token: alice });
    assert.deepEqual(
      byAddin.body.rooms.map((r: { id: string }) => r.id),
      [ids.open],
    );
    const byInv = await http(server.url, 'GET', '/api/admin/rooms?invitations=false', { token: alice });
    assert.deepEqual(
      byInv.body.rooms.map((r: { id: string }) => r.id),
      [ids.open],
    );
    const sized = await http(server.url, 'GET', '/api/admin/rooms?resultSize=2', { token: alice });
    assert.equal(sized.body.rooms.length, 2);
  });

  test('multipart upload streams to the file store; the size limit holds while streaming', async () => {
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('hello multipart')], { type: 'text/plain' }), 'note.txt');
    const res = await fetch(`${server.url}/api/rooms/${ids.open}/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}` },
      body: form,
    });
    assert.equal(res.status, 201);
    const { message } = (await res.json()) as { message: { file: { id: string; name: string; size: number } } };
    assert.equal(message.file.name, 'note.txt');
    assert.equal(message.file.size, 15);
    const dl = await fetch(`${server.url}/api/files/${message.file.id}?token=${alice}`);
    assert.equal(await dl.text(), 'hello multipart');

    await http(server.url, 'PATCH', '/api/admin/config', { token: alice, body: { maxFileSizeKB: 64 } });
    const big = new FormData();
    big.append('file', new Blob([Buffer.alloc(200 * 1024, 7)]), 'big.bin');
    const refused = await fetch(`${server.url}/api/rooms/${ids.open}/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}` },
      body: big,
    });
    assert.equal(refused.status, 413);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'FILE_TOO_LARGE');
    assert.deepEqual(readdirSync(join(data.dir, 'files', 'tmp')), [], 'no temp file left');
    await http(server.url, 'PATCH', '/api/admin/config', { token: alice, body: { maxFileSizeKB: 20000 } });
  });

  test('20 uploads cut off part-way leave no session and no temp file behind', async () => {
    const sessionsBefore = server.chat.stats().sessions;
    const { port } = new URL(server.url);
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve, reject) => {
        const sock = tcpConnect(Number(port), '127.0.0.1');
        sock.on('error', () => resolve());
        sock.once('connect', () => {
          sock.write(
            `POST /api/rooms/${ids.open}/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\n` +
              'X-File-Name: cut.bin\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n',
          );
          sock.write(Buffer.alloc(20 * 1024, 1), () => setTimeout(() => sock.destroy(), 30));
        });
        sock.once('close', () => resolve());
        setTimeout(() => reject(new Error('socket did not close')), 5000).unref();
      });
    }
    // the server notices each close on its own schedule: wait for the sessions and temp files to go
    const deadline = Date.now() + 5000;
    const tmp = join(data.dir, 'files', 'tmp');
    while (Date.now() < deadline) {
      if (server.chat.stats().sessions === sessionsBefore && readdirSync(tmp).length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(server.chat.stats().sessions, sessionsBefore, 'sessions reclaimed');
    assert.deepEqual(readdirSync(tmp), [], 'temp files removed');
    assert.equal((await http(server.url, 'GET', '/healthz')).status, 200);
  });

  test('oversized headers answer 431 with the error body', async () => {
    const { port } = new URL(server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = tcpConnect(Number(port), '127.0.0.1');
      let got = '';
      sock.on('error', reject);
      sock.on('data', (d) => {
        got += d.toString();
      });
      sock.on('close', () => resolve(got));
      sock.once('connect', () => sock.write(`GET /api/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    });
    assert.match(answer, /^HTTP\/1\.1 431 /);
    assert.match(answer, /"code":"HEADERS_TOO_LARGE"/);
  });

  test('static web files: cache headers, CSP, SPA fallback; unknown API paths stay JSON 404', async () => {
    const index = await fetch(`${server.url}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const asset = await fetch(`${server.url}/assets/app-3f9a1c2bde.js`);
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const deep = await fetch(`${server.url}/rooms/some/deep/link`);
    assert.equal(deep.status, 200);
    assert.match(await deep.text(), /<title>pchat<\/title>/);
    const api = await http(server.url, 'GET', '/api/no-such-thing', { token: alice });
    assert.equal(api.status, 404);
    assert.equal(api.body.error.code, 'BAD_REQUEST');
  });

  test('the port in use says which port and how to change it', async () => {
    const port = new URL(server.url).port;
    await assert.rejects(start(tempDataDir('pchat-port-').dir, { port }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'INVALID_VALUE');
      assert.match(e.message, new RegExp(`:${port} is already in use`));
      assert.match(e.message, /--port or PCHAT_PORT/);
      return true;
    });
  });
});

describe('per-user rate limit shared by REST and WebSocket', () => {
  const data = tempDataDir('pchat-rate-');
  let server: PchatServer;
  before(async () => {
    await seedStandard(data.dir);
    server = await start(data.dir, {}, { rateLimit: { ratePerSecond: 1, burst: 5 } });
  });
  after(async () => {
    await server?.close();
    data.remove();
  });

  test('REST answers 429 RATE_LIMITED with Retry-After once the budget is spent, and other users are not affected', async () => {
    const bob = await signIn(server.url, 'bob');
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await http(server.url, 'GET', '/api/me', { token: bob }));
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(limited.length >= 2, `${limited.length} refused`);
    assert.equal(limited[0]?.body.error.code, 'RATE_LIMITED');
    assert.match(limited[0]?.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    const carol = await signIn(server.url, 'carol');
    assert.equal((await http(server.url, 'GET', '/api/me', { token: carol })).status, 200);
    const m = (await http(server.url, 'GET', '/metrics')).body as string;
    assert.match(m, /pchat_rate_limited_total\{door="http"\} [1-9]/);
    assert.match(m, /pchat_requests_refused_total\{door="http",code="RATE_LIMITED"\} [1-9]/);
  });

  test('the WebSocket draws on the same budget', async () => {
    const dave = await signIn(server.url, 'dave');
    for (let i = 0; i < 5; i++) await http(server.url, 'GET', '/api/me', { token: dave });
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=${dave}`);
    const frames: { type: string; code?: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onerror = () => reject(new Error('ws error'));
      ws.onopen = () => resolve();
    });
    ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
    ws.send(JSON.stringify({ id: 1, type: 'ping' }));
    const deadline = Date.now() + 3000;
    while (frames.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    assert.equal(frames[0]?.code, 'RATE_LIMITED', JSON.stringify(frames));
  });
});

describe('start-up sweep of temp files', () => {
  test('a temp file left by a killed upload is removed at start; a fresh one (another server writing) stays', async () => {
    const data = tempDataDir('pchat-sweep-');
    try {
      const tmp = join(data.dir, 'files', 'tmp');
      mkdirSync(tmp, { recursive: true });
      writeFileSync(join(tmp, 'dead'), 'x');
      const old = new Date(Date.now() - 60 * 60 * 1000);
      utimesSync(join(tmp, 'dead'), old, old);
      writeFileSync(join(tmp, 'live'), 'y');
      const server = await start(data.dir);
      await server.close();
      assert.deepEqual(readdirSync(tmp), ['live']);
    } finally {
      data.remove();
    }
  });
});

describe('HTTP platform on PostgreSQL', () => {
  const data = tempDataDir('pchat-platform-pg-');
  let pgs: PgSchema | undefined;
  let server: PchatServer;
  let alice: string;
  let category: string;

  before(async () => {
    pgs = await pgSchema('HTTP platform on PostgreSQL');
    if (!pgs) return;
    const store = await openStore({ db: pgs.url, dataDir: data.dir });
    try {
      const admin = new AdminService(store, { realm: 'pchat', domain: DOMAIN, pool: DOMAIN });
      await admin.setPolicy('global', { enablePersistentChat: true });
      await admin.addUser(uri('alice'), { password: PASSWORD, isAdmin: true });
      category = (await admin.newCategory({ name: 'Eng', allowedMembers: { replace: [`domain:${DOMAIN}`] } })).id;
      await admin.newRoom({ name: 'open', category, privacy: 'open' });
    } finally {
      await store.close();
    }
    server = await start(data.dir, { db: pgs.url }, { rateLimit: { ratePerSecond: 1000, burst: 100000 } });
    alice = await signIn(server.url, 'alice');
  });
  after(async () => {
    await server?.close();
    await pgs?.drop();
    data.remove();
  });

  test('every route refuses unknown and wrongly typed fields the same way', async (t) => {
    if (!pgs) return t.skip('PostgreSQL not reachable');
    await walkRoutes(server, alice);
  });

  test('the deniedMember typo is refused and changes nothing', async (t) => {
    if (!pgs) return t.skip('PostgreSQL not reachable');
    await typoChangesNothing(server, alice, category);
  });

  test('numbers beyond the safe range are refused before they reach PostgreSQL', async (t) => {
    if (!pgs) return t.skip('PostgreSQL not reachable');
    for (const path of ['/api/search?q=x&before=99999999999999999999', '/api/search?q=x&since=1e23']) {
      const r = await http(server.url, 'GET', path, { token: alice });
      assert.deepEqual([r.status, r.body.error.code], [400, 'INVALID_VALUE'], path);
    }
  });
});
