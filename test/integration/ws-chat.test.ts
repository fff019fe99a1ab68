// Chat over the WebSocket against a real server process: members chat in a closed room, outsiders cannot see
// or join it, alerts, invitations, live admin effects, large-room rosters, and history/search after a restart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PchatClient, type PchatConnection } from '../../src/client/index.js';
import type { ChatEvent } from '../../src/client/types.js';
import {
  PASSWORD,
  type Seeded,
  type ServerProcess,
  seedStandard,
  startServer,
  tempDataDir,
  uri,
  withAdmin,
} from '../support/server.js';

describe('websocket chat', () => {
  const data = tempDataDir();
  let ids: Seeded;
  let server: ServerProcess;
  const conns: PchatConnection[] = [];

  async function connect(name: string): Promise<{ client: PchatClient; conn: PchatConnection; events: ChatEvent[] }> {
    const client = new PchatClient(server.url);
    await client.signIn(uri(name), PASSWORD);
    const conn = await client.connect({ reconnect: false });
    const events: ChatEvent[] = [];
    conn.on('event', (e) => events.push(e));
    conns.push(conn);
    return { client, conn, events };
  }

  before(async () => {
    ids = await seedStandard(data.dir, { participantUpdateLimit: 2 });
    server = await startServer(data.dir);
  });
  after(async () => {
    for (const c of conns) await c.close();
    await server?.stop();
    data.remove();
  });

  test('two members chat in a closed room; an outsider cannot see or join it', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const carol = await connect('carol');

    const [ja] = await alice.conn.join(ids.closed);
    assert.equal(ja?.ok, true);
    const bobJoinSeen = alice.conn.next('join', (e) => e.roomId === ids.closed && e.user === uri('bob'));
    const [jb] = await bob.conn.join([ids.closed]);
    assert.ok(jb?.ok);
    assert.deepEqual(jb.joined.roster?.map((r) => r.uri).sort(), [uri('alice'), uri('bob')]);
    await bobJoinSeen;

    const atBob = bob.conn.next('message', (m) => m.text === 'hello bob');
    const sent = await alice.conn.post(ids.closed, { text: 'hello bob' });
    assert.equal(sent.author, uri('alice'));
    const got = await atBob;
    assert.equal(got.id, sent.id);
    assert.equal(got.authorName, 'Alice');
    const atAlice = alice.conn.next('message', (m) => m.text === 'hi alice');
    await bob.conn.post(ids.closed, { text: 'hi alice' });
    await atAlice;

    // carol is not a member: closed → NOT_A_MEMBER, secret → ROOM_NOT_FOUND (its existence is not revealed)
    const outcomes = await carol.conn.join([ids.closed, ids.secret]);
    assert.deepEqual(
      outcomes.map((o) => (o.ok ? 'ok' : o.code)),
      ['NOT_A_MEMBER', 'ROOM_NOT_FOUND'],
    );
    await assert.rejects(carol.conn.history(ids.closed), { code: 'NOT_A_MEMBER' });
    await assert.rejects(carol.conn.room(ids.secret), { code: 'ROOM_NOT_FOUND' });
    await assert.rejects(carol.conn.post(ids.closed, { text: 'let me in' }), { code: 'NOT_A_MEMBER' });
    const visible = (await carol.conn.rooms()).map((r) => r.id);
    assert.ok(visible.includes(ids.closed), 'a closed room is visible in the directory');
    assert.ok(!visible.includes(ids.secret), 'a secret room is not');
    assert.equal((await carol.conn.search({ text: 'hello' })).count, 0);
    assert.equal(
      carol.events.filter((e) => e.type === 'message').length,
      0,
      'the outsider received no message of the room',
    );
    assert.ok(!(await alice.conn.history(ids.closed)).some((m) => m.text === 'let me in'));
    await carol.conn.close();
  });

  test('a post the user may not make is refused and stores nothing', async () => {
    const bob = await connect('bob');
    await assert.rejects(bob.conn.post(ids.auditorium, { text: 'not a presenter' }), { code: 'NOT_A_PRESENTER' });
    await assert.rejects(bob.conn.post(ids.open, { text: '' }), { code: 'INVALID_VALUE', field: 'text' });
    await assert.rejects(bob.conn.post(ids.open, { text: 'x'.repeat(8001) }), { code: 'MESSAGE_TOO_LARGE' });
    await assert.rejects(bob.conn.post('no-such-room', { text: 'hello?' }), { code: 'ROOM_NOT_FOUND' });
    const hist = await bob.conn.history(ids.auditorium);
    assert.equal(hist.length, 0);
    const open = await bob.conn.history(ids.open);
    assert.ok(!open.some((m) => m.text.startsWith('x')));
  });

  test('a keyword alert fires live for a room the user has not joined', async () => {
    const bob = await connect('bob');
    const alice = await connect('alice');
    const feed = await bob.conn.putFeed({ name: 'deploys', keywords: ['deploy'], alert: true });
    const alert = bob.conn.next('alert', (e) => e.filterId === feed.id);
    await alice.conn.post(ids.open, { text: 'unrelated chatter' });
    const m = await alice.conn.post(ids.open, { text: 'We DEPLOY the new build at noon' });
    const a = await alert;
    assert.equal(a.message.id, m.id);
    assert.equal(a.filterName, 'deploys');
    const feedMsgs = await bob.conn.feedMessages(feed.id);
    assert.deepEqual(
      feedMsgs.map((x) => x.id),
      [m.id],
    );
  });

  test('adding a member to a room with invitations sends a live invitation, fetchable since an id', async () => {
    const dave = await connect('dave');
    const before = await dave.conn.invitations();
    const invited = dave.conn.next('invitation', (e) => e.invitation.roomId === ids.closed);
    await withAdmin(data.dir, (admin) => admin.setRoom(ids.closed, { members: { add: [uri('dave')], remove: [] } }));
    const ev = await invited;
    assert.equal(ev.invitation.roomName, 'closed-room');
    const all = await dave.client.invitations(0);
    assert.equal(all.length, before.length + 1);
    assert.ok(all.some((i) => i.id === ev.invitation.id && i.roomId === ids.closed));
    assert.deepEqual(await dave.client.invitations(ev.invitation.id), []);
    const [j] = await dave.conn.join(ids.closed);
    assert.equal(j?.ok, true, 'the new member may join');
  });

  test('live admin effects: a disabled room removes its participants and leaves search; a removed member is removed', async () => {
    const room = await withAdmin(data.dir, (admin) =>
      admin.newRoom({
        name: 'doomed-room',
        category: ids.category,
        privacy: 'closed',
        members: { replace: [uri('alice'), uri('bob'), uri('frank')] },
      }),
    );
    const alice = await connect('alice');
    const bob = await connect('bob');
    const frank = await connect('frank');
    for (const c of [alice, bob, frank]) assert.equal((await c.conn.join(room.id))[0]?.ok, true);

    const frankRemoved = frank.conn.next('removed', (e) => e.roomId === room.id);
    await withAdmin(data.dir, (admin) => admin.setRoom(room.id, { members: { add: [], remove: [uri('frank')] } }));
    assert.equal((await frankRemoved).code, 'NOT_A_MEMBER');
    await assert.rejects(frank.conn.post(room.id, { text: 'still here?' }), { code: 'NOT_A_MEMBER' });

    const removedA = alice.conn.next('removed', (e) => e.roomId === room.id);
    const removedB = bob.conn.next('removed', (e) => e.roomId === room.id);
    await withAdmin(data.dir, (admin) => admin.setRoom(room.id, { disabled: true }));
    assert.equal((await removedA).code, 'ROOM_DISABLED');
    assert.equal((await removedB).code, 'ROOM_DISABLED');
    assert.ok(!(await alice.client.rooms({ q: 'doomed' })).some((r) => r.id === room.id));
    await assert.rejects(alice.conn.post(room.id, { text: 'anyone?' }), { code: 'ROOM_DISABLED' });
    assert.ok(!alice.conn.joined.has(room.id));
  });

  test('a large room (above ParticipantUpdateLimit) sends no roster and no join/part notices', async () => {
    const room = await withAdmin(data.dir, (admin) =>
      admin.newRoom({ name: 'lobby-room', category: ids.category, privacy: 'open' }),
    );
    const alice = await connect('alice');
    const bob = await connect('bob');
    const carol = await connect('carol');
    const dave = await connect('dave');
    const ja = await alice.conn.join(room.id);
    assert.ok(ja[0]?.ok);
    assert.equal(ja[0].joined.large, false);
    assert.deepEqual(
      ja[0].joined.roster?.map((r) => r.uri),
      [uri('alice')],
    );
    const jb = await bob.conn.join(room.id);
    assert.ok(jb[0]?.ok);
    assert.equal(jb[0].joined.roster?.length, 2);
    const jc = await carol.conn.join(room.id);
    assert.ok(jc[0]?.ok);
    assert.equal(jc[0].joined.large, true, 'three participants with a limit of 2 is a large room');
    assert.equal(jc[0].joined.roster, null);
    await dave.conn.join(room.id);
    await bob.conn.part(room.id);
    // messages still flow; join/part of carol, dave and bob were not announced
    const seen = alice.conn.next('message', (m) => m.roomId === room.id);
    await dave.conn.post(room.id, { text: 'big room hello' });
    await seen;
    const notices = alice.events.filter(
      (e) => (e.type === 'join' || e.type === 'part') && e.roomId === room.id && e.user !== uri('alice'),
    );
    assert.deepEqual(
      notices.map((e) => (e.type === 'join' || e.type === 'part' ? `${e.type}:${e.user}` : '')),
      [`join:${uri('bob')}`],
    );
  });

  test('join {followed: true} joins every followed room at once (bjoin at sign-in)', async () => {
    const frank = await connect('frank');
    await frank.client.follow(ids.open);
    // a closed room frank is not a member of cannot be followed: NOT_A_MEMBER, and nothing is stored
    await assert.rejects(frank.client.follow(ids.closed), { code: 'NOT_A_MEMBER' });
    const bob = await connect('bob');
    await bob.client.follow(ids.open);
    await bob.client.follow(ids.auditorium);
    const ofBob = await bob.conn.joinFollowed();
    assert.deepEqual(ofBob.map((r) => (r.ok ? r.joined.room.id : r.code)).sort(), [ids.auditorium, ids.open].sort());
    const ofFrank = await frank.conn.joinFollowed();
    assert.deepEqual(
      ofFrank.map((r) => (r.ok ? r.joined.room.id : r.code)),
      [ids.open],
    );
  });

  test('history and search (CJK too) return what was posted, after a server restart', async () => {
    const alice = await connect('alice');
    const cjk = await alice.conn.post(ids.closed, { text: '我们在持久聊天室里讨论架构' });
    const story = await alice.conn.post(ids.closed, { kind: 'story', title: 'Design notes', text: 'The long story' });
    for (const c of conns.splice(0)) await c.close();
    assert.equal(await server.stop(), 0, 'a clean shutdown');
    server = await startServer(data.dir);

    const client = new PchatClient(server.url);
    await client.signIn(uri('bob'), PASSWORD);
    const hist = await client.history(ids.closed);
    const texts = hist.map((m) => m.text);
    assert.ok(texts.includes('hello bob') && texts.includes('hi alice'));
    assert.deepEqual(
      hist.slice(-2).map((m) => m.id),
      [cjk.id, story.id],
    );
    assert.equal(hist.at(-1)?.title, 'Design notes');
    const found = await client.search({ text: '持久聊天' });
    assert.deepEqual(
      found.messages.map((m) => m.id),
      [cjk.id],
    );
    const inRoom = await client.search({ text: 'hello', room: ids.closed });
    assert.ok(inRoom.messages.some((m) => m.text === 'hello bob'));
    const page = await client.history(ids.closed, { before: cjk.id, limit: 1 });
    assert.equal(page.length, 1);
    assert.ok((page[0]?.id ?? 0) < cjk.id);
  });
});
