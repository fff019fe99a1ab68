// The REST API against a real server process: sign-in and policy, error mapping, health/readiness/metrics,
// posting and reading, follows with unread counts, invitations, feeds, preferences and the admin API; and
// a first start that creates its administrator from the environment.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type PchatApiError, PchatClient } from '../../src/client/index.js';
import {
  http,
  PASSWORD,
  type Seeded,
  type ServerProcess,
  seedStandard,
  signIn,
  startServer,
  tempDataDir,
  uri,
  withAdmin,
} from '../support/server.js';

describe('REST API', () => {
  const data = tempDataDir();
  let ids: Seeded;
  let server: ServerProcess;
  let alice: string;
  let bob: string;

  before(async () => {
    ids = await seedStandard(data.dir);
    server = await startServer(data.dir);
    alice = await signIn(server.url, 'alice');
    bob = await signIn(server.url, 'bob');
  });
  after(async () => {
    await server?.stop();
    data.remove();
  });

  test('sign-in: good password gives a token; wrong password, unknown user and chat-disabled policy are refused', async () => {
    const ok = await http(server.url, 'POST', '/api/sessions', { body: { user: uri('carol'), password: PASSWORD } });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.user, uri('carol'));
    assert.ok(ok.body.token.length > 20 && ok.body.expiresAt > Date.now());
    const wrong = await http(server.url, 'POST', '/api/sessions', {
      body: { user: uri('carol'), password: 'nope-nope' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'AUTH_FAILED');
    const ghost = await http(server.url, 'POST', '/api/sessions', { body: { user: uri('ghost'), password: PASSWORD } });
    assert.equal(ghost.body.error.code, 'AUTH_FAILED');
    const eve = await http(server.url, 'POST', '/api/sessions', { body: { user: uri('eve'), password: PASSWORD } });
    assert.equal(eve.status, 403);
    assert.equal(eve.body.error.code, 'POLICY_DISABLED');
    const missing = await http(server.url, 'POST', '/api/sessions', { body: { user: uri('carol') } });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, 'INVALID_VALUE');
    assert.equal(missing.body.error.field, 'password');

    const me = await http(server.url, 'GET', '/api/me', { token: ok.body.token });
    assert.deepEqual(me.body, { user: uri('carol'), displayName: 'Carol', isAdmin: false });
    assert.equal((await http(server.url, 'DELETE', '/api/sessions/current', { token: ok.body.token })).status, 204);
    const after = await http(server.url, 'GET', '/api/me', { token: ok.body.token });
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'TOKEN_INVALID');
    assert.equal((await http(server.url, 'GET', '/api/me')).body.error.code, 'AUTH_REQUIRED');
  });

  test('errors: unknown route 404, wrong method 405, bad JSON 400, body too large 413', async () => {
    const nf = await http(server.url, 'GET', '/api/nothing-here', { token: alice });
    assert.equal(nf.status, 404);
    assert.equal(nf.body.error.code, 'BAD_REQUEST');
    const m = await http(server.url, 'PATCH', '/api/me', { token: alice });
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'GET');
    const bad = await http(server.url, 'POST', `/api/rooms/${ids.open}/messages`, {
      token: alice,
      raw: '{"text": nope',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'BAD_REQUEST');
    const big = await http(server.url, 'POST', `/api/rooms/${ids.open}/messages`, {
      token: alice,
      raw: JSON.stringify({ text: 'z'.repeat(2 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'FRAME_TOO_LARGE');
    // the same without a Content-Length (chunked): refused while reading, and the answer still arrives
    const chunk = new TextEncoder().encode('z'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent === 0) c.enqueue(new TextEncoder().encode('{"text":"'));
        if (sent++ < 40) c.enqueue(chunk);
        else {
          c.enqueue(new TextEncoder().encode('"}'));
          c.close();
        }
      },
    });
    const chunked = await fetch(`${server.url}/api/rooms/${ids.open}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.equal(((await chunked.json()) as { error: { code: string } }).error.code, 'FRAME_TOO_LARGE');
    const hist = await http(server.url, 'GET', `/api/rooms/${ids.open}/messages`, { token: alice });
    assert.deepEqual(hist.body.messages, [], 'nothing was posted');
    const q = await http(server.url, 'GET', `/api/rooms/${ids.open}/messages?limit=abc`, { token: alice });
    assert.equal(q.body.error.field, 'limit');
  });

  test('health, readiness, metrics and the OpenAPI document', async () => {
    assert.deepEqual((await http(server.url, 'GET', '/healthz')).body, { status: 'ok' });
    assert.deepEqual((await http(server.url, 'GET', '/readyz')).body, { status: 'ready' });
    await http(server.url, 'POST', `/api/rooms/${ids.open}/messages`, { token: alice, body: { text: 'count me' } });
    const metrics = await http(server.url, 'GET', '/metrics');
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = metrics.body as string;
    for (const name of [
      'pchat_connections',
      'pchat_rooms_joined',
      'pchat_messages_posted_total',
      'pchat_messages_per_second',
      'pchat_fanout_seconds_bucket',
      'pchat_store_commit_seconds_count',
    ])
      assert.ok(text.includes(`\n${name}`), `metrics lack ${name}`);
    assert.match(text, /^pchat_messages_posted_total [1-9]\d*$/m);
    assert.match(text, /^pchat_store_commit_seconds_count [1-9]\d*$/m);
    const doc = await http(server.url, 'GET', '/api/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.1.0');
    assert.ok(doc.body.paths['/api/rooms/{id}/messages']);
  });

  test('rooms, posting and history over REST; closed rooms refuse outsiders', async () => {
    const c = new PchatClient(server.url, { token: alice });
    const rooms = await c.rooms({ q: 'room' });
    assert.deepEqual(rooms.map((r) => r.name).sort(), ['auditorium-room', 'closed-room', 'open-room', 'secret-room']);
    const closed = await c.room(ids.closed);
    assert.equal(closed.privacy, 'closed');
    assert.equal(closed.member, true);
    assert.equal(closed.uri, `ma-chan://pchat.local/${ids.closed}`);
    assert.deepEqual((await c.associations('member')).map((r) => r.name).sort(), [
      'auditorium-room',
      'closed-room',
      'secret-room',
    ]);
    const m1 = await c.post(ids.closed, { text: 'first http://example.com/x' });
    const m2 = await c.post(ids.closed, { kind: 'story', title: 'T', text: 'second' });
    assert.equal(m1.links[0]?.href, 'http://example.com/x');
    assert.deepEqual(
      (await c.history(ids.closed, { after: m1.id })).map((m) => m.id),
      [m2.id],
    );
    const carol = new PchatClient(server.url, { token: await signIn(server.url, 'carol') });
    await assert.rejects(
      carol.history(ids.closed),
      (e: PchatApiError) => e.code === 'NOT_A_MEMBER' && e.status === 403,
    );
    await assert.rejects(carol.room(ids.secret), (e: PchatApiError) => e.code === 'ROOM_NOT_FOUND' && e.status === 404);
    await assert.rejects(carol.post(ids.closed, { text: 'x' }), { code: 'NOT_A_MEMBER' });
    const found = await c.search({ text: 'second', room: ids.closed });
    assert.deepEqual(
      found.messages.map((m) => m.id),
      [m2.id],
    );
    const byAuthor = await c.search({ authors: [uri('bob')] });
    assert.equal(byAuthor.count, 0);
  });

  test('follows with unread counts and mark-read', async () => {
    const b = new PchatClient(server.url, { token: bob });
    const a = new PchatClient(server.url, { token: alice });
    await b.follow(ids.open);
    assert.deepEqual(await b.following(ids.secret), { following: false, roomId: ids.secret });
    const start = (await b.follows()).find((f) => f.room.id === ids.open);
    assert.ok(start);
    const posted = [];
    for (let i = 0; i < 3; i++) posted.push(await a.post(ids.open, { text: `unread ${i}` }));
    const f1 = (await b.follows()).find((f) => f.room.id === ids.open);
    assert.equal(f1?.unread, start.unread + 3);
    await b.markRead(ids.open, posted[1]?.id as number);
    const f2 = await b.following(ids.open);
    assert.equal(f2.unread, 1);
    assert.equal(f2.lastReadId, posted[1]?.id);
    await b.unfollow(ids.open);
    assert.equal((await b.follows()).length, 0);
    const carol = new PchatClient(server.url, { token: await signIn(server.url, 'carol') });
    await assert.rejects(carol.follow(ids.closed), { code: 'NOT_A_MEMBER' });
  });

  test('feeds CRUD, feed messages and preferences', async () => {
    const b = new PchatClient(server.url, { token: bob });
    const f = await b.createFeed({ name: 'kw', keywords: ['zebra'] });
    assert.equal(f.alert, true);
    assert.deepEqual(
      (await b.feeds()).map((x) => x.id),
      [f.id],
    );
    const upd = await b.updateFeed(f.id, { name: 'kw2', keywords: ['zebra'], alert: false });
    assert.equal(upd.name, 'kw2');
    assert.equal((await b.getFeed(f.id)).alert, false);
    const a = new PchatClient(server.url, { token: alice });
    const m = await a.post(ids.open, { text: 'a zebra crossing' });
    await a.post(ids.closed, { text: 'a zebra in a room bob can read too' });
    const msgs = await b.feedMessages(f.id);
    assert.ok(msgs.some((x) => x.id === m.id));
    await assert.rejects(b.createFeed({ name: 'empty' }), { code: 'INVALID_VALUE' });
    await b.deleteFeed(f.id);
    await assert.rejects(b.deleteFeed(f.id), { code: 'FILTER_NOT_FOUND' });
    assert.equal(await b.getPref('layout'), null);
    await b.setPref('layout', '{"dense":true}');
    assert.equal(await b.getPref('layout'), '{"dense":true}');
    await assert.rejects(b.setPref('bad label!', 'x'), { code: 'INVALID_VALUE', field: 'label' });
  });

  test('invitations since an id over REST', async () => {
    const dave = new PchatClient(server.url, { token: await signIn(server.url, 'dave') });
    assert.deepEqual(await dave.invitations(), []);
    await withAdmin(data.dir, (admin) => admin.setRoom(ids.open, { members: { add: [uri('dave')], remove: [] } }));
    const list = await (async () => {
      for (let i = 0; i < 100; i++) {
        const l = await dave.invitations();
        if (l.length > 0) return l;
        await new Promise((r) => setTimeout(r, 50));
      }
      return [];
    })();
    assert.equal(list.length, 1);
    assert.equal(list[0]?.roomName, 'open-room');
    assert.deepEqual(await dave.invitations(list[0]?.id), []);
  });

  test('admin API: admins manage rooms, categories, users and config; others get NOT_ADMIN', async () => {
    const a = new PchatClient(server.url, { token: alice });
    const b = new PchatClient(server.url, { token: bob });
    await assert.rejects(b.admin.users(), (e: PchatApiError) => e.code === 'NOT_ADMIN' && e.status === 403);
    await assert.rejects(b.admin.setConfig({ searchLimit: 10 }), { code: 'NOT_ADMIN' });
    await assert.rejects(b.admin.newRoom({ name: 'bobs', category: 'Engineering' }), { code: 'NOT_A_CREATOR' });

    const cat = await a.admin.newCategory({
      name: 'Ops',
      allowedMembers: ['domain:pchat.local'],
      creators: [uri('bob')],
    });
    assert.equal(cat.name, 'Ops');
    const room = await a.admin.newRoom({ name: 'ops-room', category: 'Ops', members: [uri('alice')] });
    assert.equal(room.privacy, 'closed');
    const edited = await a.admin.setRoom('ops-room', { members: { add: [uri('bob')] }, managers: [uri('bob')] });
    assert.deepEqual(edited.members.sort(), [uri('alice'), uri('bob')]);
    // bob manages it now: he may change it (AdminService decides), not delete it
    const byBob = await b.admin.setRoom(room.id, { description: 'by bob' });
    assert.equal(byBob.description, 'by bob');
    await assert.rejects(b.admin.removeRoom(room.id), { code: 'NOT_ADMIN' });
    await assert.rejects(a.admin.setRoom(room.id, { members: ['sip:nobody@pchat.local'] }), {
      code: 'PRINCIPAL_NOT_FOUND',
      field: 'members',
    });
    assert.equal((await a.admin.getRoom(room.id)).members.length, 2, 'a refused edit changed nothing');
    await assert.rejects(a.admin.removeCategory('Ops'), { code: 'CATEGORY_NOT_EMPTY' });
    await a.admin.removeRoom(room.id);
    await a.admin.removeCategory('Ops');
    const u = await a.admin.addUser({ uri: 'sip:gina@pchat.local', displayName: 'Gina', password: PASSWORD });
    assert.equal(u.displayName, 'Gina');
    assert.ok((await a.admin.users('gina')).some((x) => x.uri === 'sip:gina@pchat.local'));
    const cfg = await a.admin.setConfig({ searchLimit: 500 });
    assert.equal(cfg.searchLimit, 500);
    await assert.rejects(a.admin.setConfig({ defaultChatHistory: 100000 }), { code: 'INVALID_VALUE' });
    assert.equal((await a.admin.config()).searchLimit, 500);
    assert.ok((await a.admin.policies()).some((p) => p.identity === 'global' && p.enablePersistentChat));
  });

  test('admin API: groups, add-ins, policy grants, legacy endpoints and eligible principals', async () => {
    const a = new PchatClient(server.url, { token: alice });
    const b = new PchatClient(server.url, { token: bob });
    await assert.rejects(b.admin.groups(), { code: 'NOT_ADMIN' });
    await assert.rejects(b.admin.newAddin({ name: 'x', url: 'https://x.example' }), { code: 'NOT_ADMIN' });

    const g = await a.admin.newGroup({ name: 'ops-team', members: [uri('carol')] });
    assert.deepEqual(g.members, [uri('carol')]);
    assert.deepEqual((await a.admin.setGroup('ops-team', { members: { add: [uri('dave')] } })).members, [
      uri('carol'),
      uri('dave'),
    ]);
    await assert.rejects(a.admin.setGroup('ops-team', { members: ['group:ops-team'] }), { code: 'GROUP_CYCLE' });
    assert.ok((await a.admin.groups()).some((x) => x.name === 'ops-team'));

    await assert.rejects(a.admin.newAddin({ name: 'bad', url: 'ftp://x.example' }), {
      code: 'INVALID_VALUE',
      field: 'url',
    });
    assert.equal((await a.admin.newAddin({ name: 'wiki', url: 'https://wiki.example' })).url, 'https://wiki.example');
    assert.deepEqual(
      (await a.admin.addins()).map((x) => x.name),
      ['wiki'],
    );
    await a.admin.removeAddin('wiki');
    assert.deepEqual(await a.admin.addins(), []);

    await a.admin.setPolicy('tag:quiet', { enablePersistentChat: false });
    assert.equal((await a.admin.grantPolicy(uri('frank'), 'quiet')).policy, 'quiet');
    await assert.rejects(new PchatClient(server.url).signIn(uri('frank'), PASSWORD), { code: 'POLICY_DISABLED' });
    assert.equal((await a.admin.grantPolicy(uri('frank'), null)).policy, null);
    await a.admin.removePolicy('tag:quiet');

    // one legacy endpoint per pool: the default one is named in the refusal, and must go first
    await assert.rejects(a.admin.newEndpoint({ sipAddress: 'sip:groupchat@pchat.local' }), {
      code: 'ENDPOINT_EXISTS',
      message: /sip:ocschat@pchat\.local/,
    });
    await a.admin.removeEndpoint('sip:ocschat@pchat.local');
    const e = await a.admin.newEndpoint({ sipAddress: 'sip:groupchat@pchat.local', displayName: 'Old Group Chat' });
    assert.equal(e.sipAddress, 'sip:groupchat@pchat.local');
    assert.ok((await a.admin.endpoints()).some((x) => x.sipAddress === 'sip:groupchat@pchat.local'));
    // the endpoint's address cannot become a user's; --pool / pool is the pool FQDN
    await assert.rejects(a.admin.addUser({ uri: 'sip:groupchat@pchat.local', password: PASSWORD }), {
      code: 'NAME_TAKEN',
    });
    await assert.rejects(a.admin.newEndpoint({ sipAddress: 'sip:x@pchat.local', pool: 'not a pool' }), {
      code: 'INVALID_VALUE',
    });
    await a.admin.removeEndpoint('sip:groupchat@pchat.local');
    await assert.rejects(a.admin.removeEndpoint('sip:groupchat@pchat.local'), { code: 'ENDPOINT_NOT_FOUND' });

    const eligible = await a.admin.eligible({ room: ids.closed, presenters: true });
    assert.deepEqual(eligible.map((u) => u.uri).sort(), [uri('alice'), uri('bob')]);
    await a.admin.removeGroup('ops-team');
  });
});

describe('first start', () => {
  test('an empty store with PCHAT_ADMIN_USER/PASSWORD creates the administrator and is usable at once', async () => {
    const data = tempDataDir();
    const server = await startServer(data.dir, {
      env: { PCHAT_ADMIN_USER: 'sip:root@pchat.local', PCHAT_ADMIN_PASSWORD: 'rootpass123' },
    });
    try {
      const c = new PchatClient(server.url);
      await c.signIn('sip:root@pchat.local', 'rootpass123');
      assert.equal((await c.me()).isAdmin, true);
      const cat = await c.admin.newCategory({ name: 'General', allowedMembers: ['domain:pchat.local'] });
      const room = await c.admin.newRoom({ name: 'welcome', category: cat.id, privacy: 'open' });
      const m = await c.post(room.id, { text: 'hello world' });
      assert.equal(m.roomId, room.id);
    } finally {
      await server.stop();
      data.remove();
    }
  });

  test('an empty store without them says how to create the first administrator', async () => {
    const data = tempDataDir();
    const server = await startServer(data.dir);
    try {
      assert.match(server.stderr(), /pchat user add .*--admin --password/);
      assert.match(server.stderr(), /pchat policy set global --enable-persistent-chat true/);
      const r = await http(server.url, 'POST', '/api/sessions', {
        body: { user: 'sip:x@pchat.local', password: 'whatever1' },
      });
      assert.equal(r.body.error.code, 'AUTH_FAILED');
    } finally {
      await server.stop();
      data.remove();
    }
  });
});
