// Issue #9, "done when": generated hostile JSON, strings and numbers thrown at every REST route (read from
// docs/openapi.json) and every WebSocket request type, on SQLite and on PostgreSQL. Every answer must be a
// success or a documented 4xx (a code of the one registry, with that code's status), never a 5xx; the server
// must keep answering; and a refused request must leave everything stored exactly as it was.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { AdminService } from '../../src/admin/admin-service.js';
import { ERRORS, isErrorCode } from '../../src/core/errors.js';
import type { Db } from '../../src/store/db.js';
import { openPgDb } from '../../src/store/postgres.js';
import { openSqliteDb } from '../../src/store/sqlite.js';
import { DIALECTS, type Engine, freshEngine } from '../support/engines.js';
import { DOMAIN, http, PASSWORD, type ServerProcess, signIn, startServer, uri } from '../support/server.js';
import { engineUnavailable } from '../support/spec-engines.js';

const RUNS = Number(process.env.PCHAT_PROPERTY_RUNS ?? 120);
const ROOT = join(import.meta.dirname, '..', '..');

// ---- what may be thrown ----------------------------------------------------------------------------------

const SPECIAL_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\u202eybboL',
  'Lob\u200bby',
  '../../etc/passwd',
  '%00',
  '%',
  '%%',
  '%zz',
  "' OR 1=1 --",
  '"; DROP TABLE messages; --',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-Infinity',
  '99999999999999999999',
  '1e23',
  '-1',
  '0',
  '-0',
  '1.5',
  '0x10',
  '1_000',
  '9007199254740993',
  '2026-13-45T99:99:99Z',
  'sip:',
  'sip:@',
  'sip:alice@pchat.local',
  'group:',
  '😀'.repeat(300),
  'x'.repeat(5000),
];
const SPECIAL_NUMBERS = [1e20, 1e23, -1, 0, -0, 1.5, 2 ** 53 + 2, -(2 ** 63), 1e308, 5e-324];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
);
const hostileNumber = fc.oneof(fc.constantFrom(...SPECIAL_NUMBERS), fc.double(), fc.integer());
const hostileScalar = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null));
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileScalar },
  { weight: 1, arbitrary: fc.array(hostileScalar, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, hostileScalar, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
/** An object with some of `names` (a route's own fields) and some random keys, each a hostile value. */
const hostileObject = (names: string[]) =>
  fc
    .tuple(
      names.length > 0
        ? fc.subarray(names).chain((keys) => fc.tuple(...keys.map((k) => fc.tuple(fc.constant(k), hostileValue))))
        : fc.constant([] as [string, unknown][]),
      fc.array(fc.tuple(hostileString, hostileValue), { maxLength: 2 }),
    )
    .map(([own, extra]) => Object.fromEntries([...own, ...extra]));

/** A body as raw text: JSON of a hostile value, or text that is not JSON at all. */
const hostileBody = (names: string[]) =>
  fc.oneof(
    { weight: 5, arbitrary: hostileObject(names).map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: hostileValue.map((v) => JSON.stringify(v) ?? 'null') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{',
        '{"a":',
        '[]',
        'null',
        '"text"',
        '{"__proto__":{"isAdmin":true}}',
        '{"constructor":{"prototype":{"x":1}}}',
        `${'['.repeat(3000)}${']'.repeat(3000)}`,
        `{"text":"${'x'.repeat(70_000)}"}`,
        '\u0000',
        '{"a":1,"a":2}',
      ),
    },
  );

// ---- the routes ------------------------------------------------------------------------------------------

interface Route {
  method: string;
  path: string;
  query: string[];
  body: string[] | null;
}

function routesFromOpenApi(): Route[] {
  const doc = JSON.parse(readFileSync(join(ROOT, 'docs', 'openapi.json'), 'utf8')) as {
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: unknown }>>;
  };
  const out: Route[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      // signing out would end the session every later request uses; sign-out is tested elsewhere
      if (method === 'delete' && path === '/api/sessions/current') continue;
      const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const props = JSON.stringify(op.requestBody ?? {}).match(/"properties":\{(.*)/)?.[1] ?? '';
      const bodyNames = [...props.matchAll(/"([A-Za-z]+)":\{/g)].map((m) => m[1] as string);
      out.push({
        method: method.toUpperCase(),
        path,
        query: [...new Set([...query, 'before', 'after', 'since', 'until', 'limit', 'q', 'text'])],
        body: method === 'get' || method === 'delete' ? null : [...new Set(bodyNames)],
      });
    }
  }
  return out;
}

// The WebSocket request types of docs/protocol.md, and the fields they take.
const WS_TYPES: Record<string, string[]> = {
  auth: ['token'],
  ping: [],
  me: [],
  server: [],
  join: ['rooms', 'room', 'followed'],
  part: ['room'],
  post: ['room', 'text', 'kind', 'title', 'rich'],
  history: ['room', 'before', 'after', 'limit'],
  search: ['text', 'room', 'authors', 'since', 'until', 'exact', 'case', 'before', 'limit'],
  rooms: ['q', 'limit'],
  associations: ['role'],
  room: ['room'],
  follow: ['room'],
  unfollow: ['room'],
  follows: [],
  markRead: ['room', 'messageId'],
  invitations: ['after', 'limit'],
  feeds: [],
  'feed.put': ['feed'],
  'feed.remove': ['feed'],
  'feed.messages': ['feed', 'before', 'limit'],
  'pref.get': ['label'],
  'pref.set': ['label', 'content'],
};

/** A path segment, percent-encoded; lone surrogates go out as the (invalid) UTF-8 bytes of a surrogate. */
function encodeSegment(s: string): string {
  return [...s]
    .map((ch) => {
      try {
        return encodeURIComponent(ch);
      } catch {
        return '%ED%A0%80';
      }
    })
    .join('');
}

// ---- what counts as a documented answer --------------------------------------------------------------------

function documented(status: number, code: unknown): string | undefined {
  if (status < 400) return undefined;
  if (status >= 500) return `a ${status}`;
  if (!isErrorCode(code)) return `an undocumented code ${String(code)}`;
  const expected = ERRORS[code].status;
  if (expected === status) return undefined;
  // unknown routes, wrong methods, overlong paths and media types are BAD_REQUEST with their own statuses
  // (docs/protocol.md, Errors)
  if (code === 'BAD_REQUEST' && [404, 405, 414, 415].includes(status)) return undefined;
  return `${code} with status ${status} (documented: ${expected})`;
}

// Everything stored that a request could change (tokens and sign-in failures change on sign-in by design).
const TABLES = [
  'users',
  'groups_',
  'categories',
  'rooms',
  'addins',
  'policies',
  'endpoints',
  'config',
  'changes',
  'messages',
  'follows',
  'invitations',
  'feeds',
  'files',
  'prefs',
];

async function fingerprint(db: Db): Promise<string> {
  const h = createHash('sha256');
  for (const t of TABLES) {
    const rows = (await db.all(`SELECT * FROM ${t}`)).map((r) => JSON.stringify(r)).sort();
    h.update(`${t}:${rows.length}:${rows.join('\n')}`);
  }
  return h.digest('hex');
}

for (const dialect of DIALECTS) {
  describe(`hostile input, generated: ${dialect}`, { timeout: 600_000 }, () => {
    let engine: Engine | undefined;
    let server: ServerProcess | undefined;
    let db: Db | undefined;
    let token = '';
    const ids: string[] = [];

    before(async () => {
      engine = await freshEngine(dialect, 'hostile input, generated');
      if (!engine) return;
      const store = await engine.open();
      try {
        const admin = new AdminService(store, { realm: 'pchat', domain: DOMAIN, pool: DOMAIN });
        await admin.setPolicy('global', { enablePersistentChat: true });
        await admin.addUser(uri('alice'), { password: PASSWORD, isAdmin: true });
        await admin.addUser(uri('bob'), { password: PASSWORD });
        const cat = await admin.newCategory({ name: 'Engineering', allowedMembers: { replace: [`domain:${DOMAIN}`] } });
        const members = { replace: [uri('alice'), uri('bob')] };
        const closed = await admin.newRoom({ name: 'closed', category: cat.id, members });
        const secret = await admin.newRoom({
          name: 'secret',
          category: cat.id,
          privacy: 'secret',
          members: { replace: [uri('alice')] },
        });
        const open = await admin.newRoom({ name: 'open', category: cat.id, privacy: 'open' });
        ids.push(closed.id, secret.id, open.id, cat.id, 'closed', 'secret', uri('alice'), uri('bob'));
        const msgs = await store.messages.append([
          {
            roomId: closed.id,
            author: uri('alice'),
            ts: 1,
            kind: 'regular',
            text: 'hello',
            title: null,
            rich: null,
            file: null,
            logged: true,
          },
        ]);
        ids.push(String(msgs[0]?.id));
      } finally {
        await store.close();
      }
      server = await startServer(engine.location.dataDir, {
        env: {
          ...(engine.location.db ? { PCHAT_DB: engine.location.db } : {}),
          PCHAT_TEST_WS_RATE: '100000',
          PCHAT_TEST_WS_BURST: '100000',
          PCHAT_RATE_LIMIT_PER_SECOND: '100000',
          PCHAT_RATE_LIMIT_BURST: '100000',
        },
      });
      token = await signIn(server.url, 'bob');
      db = engine.location.db
        ? await openPgDb(engine.location.db)
        : openSqliteDb(join(engine.location.dataDir, 'pchat.db'));
    });
    after(async () => {
      await db?.close();
      await server?.stop();
      await engine?.cleanup();
    });

    const pathValue = () =>
      fc.oneof(
        { weight: 2, arbitrary: hostileString },
        { weight: 1, arbitrary: fc.constantFrom(...(ids.length ? ids : ['x'])) },
      );

    test('every REST route: documented answers only, the server keeps answering, refusals change nothing', async (t) => {
      if (!server || !db) return engineUnavailable(t, dialect);
      const base = server.url;
      const store = db;
      const routes = routesFromOpenApi();
      assert.ok(routes.length > 30, 'the OpenAPI document lists the routes');
      let baseline = await fingerprint(store);
      // the cases of the issue first, on every route that takes them: NUL in text, numbers beyond the safe range
      const room = ids[0] as string;
      const examples: [string, string, unknown?][] = [
        ['GET', '/api/search?q=%00'],
        ['GET', '/api/search?q=a%00b&room=' + room],
        ['GET', `/api/search?q=x&before=99999999999999999999`],
        ['GET', `/api/search?q=x&since=1e23`],
        ['GET', `/api/search?q=x&until=-1e23`],
        ['GET', `/api/search?q=x&since=99999999999999999999`],
        ['GET', `/api/search?q=x&limit=99999999999999999999`],
        ['GET', `/api/rooms/${room}/messages?before=99999999999999999999`],
        ['GET', `/api/rooms/${room}/messages?after=99999999999999999999`],
        ['GET', `/api/rooms/${room}/messages?after=1e23`],
        ['GET', `/api/rooms/${room}/messages?limit=1e23`],
        ['GET', '/api/invitations?after=99999999999999999999'],
        ['GET', '/api/rooms?q=%00'],
        ['POST', `/api/rooms/${room}/messages`, { text: 'a\u0000b' }],
        ['POST', `/api/rooms/${room}/messages`, { text: '\ud800' }],
        ['POST', `/api/follows/${room}/read`, { messageId: 1e20 }],
        ['POST', `/api/follows/${room}/read`, { messageId: 1e23 }],
        ['PUT', '/api/prefs/x', { content: 'a\u0000b' }],
        ['PUT', '/api/prefs/x%00', { content: 'a' }],
        ['POST', '/api/feeds', { name: 'f', keywords: ['a\u0000b'] }],
        ['POST', '/api/feeds', { name: 'f\u0000', keywords: ['a'] }],
        ['POST', '/api/sessions', { user: 'sip:bob@pchat.local\u0000', password: 'x' }],
      ];
      for (const [method, path, body] of examples) {
        const r = await http(base, method, path, {
          token,
          ...(body !== undefined ? { raw: JSON.stringify(body) } : {}),
          headers: body !== undefined ? { 'content-type': 'application/json' } : {},
        });
        const problem = documented(r.status, r.body?.error?.code);
        assert.equal(problem, undefined, `${problem}: ${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
        assert.ok(r.status >= 400, `${method} ${path} must be refused: ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(await fingerprint(store), baseline, `${method} ${path} changed the store`);
      }
      const seen = new Set<string>();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...routes),
          fc.array(pathValue(), { minLength: 4, maxLength: 4 }),
          fc.dictionary(fc.string({ maxLength: 8 }), hostileString, { maxKeys: 2 }),
          fc.nat(),
          fc.constantFrom('bob', 'bob', 'bob', 'none', 'garbage'),
          async (route, pathValues, extraQuery, seed, who) => {
            let i = 0;
            const path = route.path.replace(/\{[^}]+\}/g, () => encodeSegment(String(pathValues[i++ % 4] ?? '')));
            const query = new URLSearchParams();
            const gen = fc.sample(
              fc.tuple(
                fc.subarray(route.query, { maxLength: 3 }),
                fc.array(hostileString, { minLength: 3, maxLength: 3 }),
              ),
              { seed, numRuns: 1 },
            )[0] as [string[], string[]];
            gen[0].forEach((name, k) => {
              query.set(name, gen[1][k] ?? '');
            });
            for (const [k, v] of Object.entries(extraQuery)) query.set(k, v);
            const qs = query.toString();
            const raw = route.body
              ? (fc.sample(hostileBody(route.body), { seed, numRuns: 1 })[0] as string)
              : undefined;
            const headers: Record<string, string> = raw !== undefined ? { 'content-type': 'application/json' } : {};
            const r = await http(base, route.method, `${path}${qs ? `?${qs}` : ''}`, {
              ...(who === 'bob' ? { token } : who === 'garbage' ? { token: 'not-a-token' } : {}),
              ...(raw !== undefined ? { raw } : {}),
              headers,
            });
            seen.add(`${route.method} ${route.path}`);
            const code = r.body?.error?.code;
            const what = `${route.method} ${path}?${qs} body ${raw?.slice(0, 200)} → ${r.status} ${JSON.stringify(r.body)?.slice(0, 300)}`;
            const problem = documented(r.status, code);
            assert.equal(problem, undefined, `${problem}: ${what}`);
            const now = await fingerprint(store);
            if (r.status >= 400) assert.equal(now, baseline, `a refused request changed the store: ${what}`);
            baseline = now;
          },
        ),
        { numRuns: RUNS * 3, endOnFailure: true, includeErrorInReport: true },
      );
      assert.equal((await http(base, 'GET', '/healthz')).status, 200);
      assert.equal((await http(base, 'GET', '/api/me', { token })).status, 200, 'bob is still signed in');
      assert.ok(seen.size > routes.length / 2, `reached ${seen.size} of ${routes.length} routes`);
    });

    test('every WebSocket request type: documented answers only, the socket stays, refusals change nothing', async (t) => {
      if (!server || !db) return engineUnavailable(t, dialect);
      const store = db;
      const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`);
      ws.on('error', () => {
        /* reported through close below */
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('close', (c) => reject(new Error(`closed ${c}`)));
      });
      const waiting = new Map<string, (f: Record<string, unknown>) => void>();
      let nullAnswer: ((f: Record<string, unknown>) => void) | undefined;
      let closedWith: number | undefined;
      ws.on('close', (c) => {
        closedWith = c;
      });
      ws.on('message', (data) => {
        const f = JSON.parse(String(data)) as Record<string, unknown>;
        if (f.type === 'event') return;
        if (f.id === null || f.id === undefined) nullAnswer?.(f);
        else waiting.get(String(f.id))?.(f);
      });
      const ask = (frame: string, id: string | null): Promise<Record<string, unknown>> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no answer to ${frame.slice(0, 200)}`)), 15_000);
          const done = (f: Record<string, unknown>) => {
            clearTimeout(timer);
            nullAnswer = undefined;
            if (id !== null) waiting.delete(id);
            resolve(f);
          };
          // a frame the server cannot read as a request (no usable type) is answered with id null
          nullAnswer = done;
          if (id !== null) waiting.set(id, done);
          ws.send(frame);
        });
      let baseline = await fingerprint(store);
      let n = 0;
      const types = Object.keys(WS_TYPES);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...types) }, { weight: 1, arbitrary: hostileString }),
            fc.nat(),
            fc.boolean(),
            async (type, seed, realIds) => {
              n += 1;
              const id = `q${n}`;
              const fields = WS_TYPES[type] ?? ['room', 'text'];
              const obj = fc.sample(hostileObject(fields), { seed, numRuns: 1 })[0] as Record<string, unknown>;
              if (realIds && 'room' in obj) obj.room = ids[seed % ids.length];
              const frame = JSON.stringify({ ...obj, id, type });
              const f = await ask(frame, id);
              const what = `${frame.slice(0, 300)} → ${JSON.stringify(f).slice(0, 300)}`;
              assert.ok(f.type === 'result' || f.type === 'error', what);
              if (f.type === 'error') {
                assert.ok(isErrorCode(f.code) && ERRORS[f.code].status < 500, `undocumented or 5xx: ${what}`);
                assert.equal(await fingerprint(store), baseline, `a refused frame changed the store: ${what}`);
              } else baseline = await fingerprint(store);
              assert.equal(closedWith, undefined, `the socket closed: ${what}`);
            },
          ),
          { numRuns: RUNS * 2, endOnFailure: true, includeErrorInReport: true },
        );
        // frames that are not requests at all answer BAD_REQUEST with id null and change nothing
        for (const raw of ['{', '[]', '"x"', '42', 'null', '{"id":1}', '{"type":""}', '\u0000']) {
          const f = await ask(raw, raw === '{"id":1}' ? '1' : null);
          assert.equal(f.type, 'error', raw);
          assert.ok(isErrorCode(f.code) && ERRORS[f.code].status === 400, `${raw} → ${JSON.stringify(f)}`);
        }
        assert.equal(await fingerprint(store), baseline);
        const pong = await ask(JSON.stringify({ id: 'last', type: 'ping' }), 'last');
        assert.equal(pong.type, 'result');
      } finally {
        ws.close();
      }
    });
  });
}
