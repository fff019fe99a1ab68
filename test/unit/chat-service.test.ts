// The chat service on a real SQLite store, without a transport: sessions are plain event collectors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { AdminService } from '../../src/admin/admin-service.js';
import { ChatService, THROTTLE_DEFAULTS } from '../../src/chat/chat-service.js';
import type { ChatEvent, Session } from '../../src/chat/types.js';
import { parseListEdit } from '../../src/core/principals.js';
import { scryptCount } from '../../src/directory/passwords.js';
import { FileStore } from '../../src/files/file-store.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/port.js';

const PW = 'correct horse';
const list = (s: string) => parseListEdit(s, 'members');

describe('chat service', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pchat-chat-'));
  let store: Store;
  let admin: AdminService;
  let chat: ChatService;
  let roomId: string;
  let secretId: string;
  let auditId: string;

  const events = new Map<string, ChatEvent[]>();
  const open = (user: string): Session => {
    const key = `${user}#${events.size}`;
    const got: ChatEvent[] = [];
    events.set(key, got);
    const s = chat.openSession(user, (e) => got.push(e), 'ws');
    (s as Session & { got?: ChatEvent[] }).got = got;
    return s;
  };
  const got = (s: Session) => (s as Session & { got: ChatEvent[] }).got;

  before(async () => {
    store = await openStore({ dataDir: dir });
    admin = new AdminService(store, { realm: 'pchat', domain: 'contoso.com', pool: 'pool1' });
    for (const u of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      await admin.addUser(`sip:${u}@contoso.com`, { password: PW, displayName: u[0]?.toUpperCase() + u.slice(1) });
    }
    await admin.setPolicy('global', { enablePersistentChat: true });
    await admin.newCategory({
      name: 'Eng',
      allowedMembers: list('domain:contoso.com'),
      deniedMembers: list('sip:erin@contoso.com'),
    });
    roomId = (
      await admin.newRoom({
        name: 'General',
        category: 'Eng',
        members: list('sip:alice@contoso.com,sip:bob@contoso.com'),
      })
    ).id;
    secretId = (
      await admin.newRoom({
        name: 'Secret',
        category: 'Eng',
        privacy: 'secret',
        members: list('sip:alice@contoso.com'),
      })
    ).id;
    auditId = (
      await admin.newRoom({
        name: 'Town hall',
        category: 'Eng',
        privacy: 'open',
        type: 'auditorium',
        members: list('sip:alice@contoso.com'),
        presenters: list('sip:alice@contoso.com'),
      })
    ).id;
    chat = new ChatService(store, new FileStore(join(dir, 'files')), {
      domain: 'contoso.com',
      tokenTtlSeconds: 3600,
      pollMs: 20,
      // a delay long enough that the test cannot outrun it on a slow machine
      throttle: { baseDelayMs: 10 * 60_000 },
    });
    await chat.start();
  });

  after(async () => {
    await chat.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('signs in with a password, and refuses a wrong one', async () => {
    const { token, user } = await chat.signIn('alice@contoso.com', PW);
    assert.equal(user, 'sip:alice@contoso.com');
    assert.equal(await chat.authenticate(token), 'sip:alice@contoso.com');
    await assert.rejects(chat.signIn('sip:alice@contoso.com', 'wrong password'), { code: 'AUTH_FAILED' });
    await assert.rejects(chat.signIn('sip:nobody@contoso.com', PW), { code: 'AUTH_FAILED' });
    await assert.rejects(chat.authenticate('not-a-token'), { code: 'TOKEN_INVALID' });
  });

  test('repeated wrong passwords from one address slow that user down there, and only there', async () => {
    const stranger = '198.51.100.7';
    for (let i = 0; i < THROTTLE_DEFAULTS.free; i++) {
      await assert.rejects(chat.signIn('sip:dave@contoso.com', `wrong ${i}`, stranger), { code: 'AUTH_FAILED' });
    }
    await assert.rejects(chat.signIn('sip:dave@contoso.com', PW, stranger), { code: 'RATE_LIMITED' });
    // dave from his own address, and another user from the stranger's, are not affected
    assert.equal((await chat.signIn('sip:dave@contoso.com', PW, '192.0.2.1')).user, 'sip:dave@contoso.com');
    assert.equal((await chat.signIn('sip:carol@contoso.com', PW, stranger)).user, 'sip:carol@contoso.com');
  });

  test('an unknown user, a malformed name and a wrong password cost the same scrypt work', async () => {
    const work = async (user: string, password: string) => {
      const n = scryptCount();
      await assert.rejects(chat.signIn(user, password, '192.0.2.99'), { code: 'AUTH_FAILED' });
      return scryptCount() - n;
    };
    const known = await work('sip:carol@contoso.com', 'wrong password');
    assert.equal(known, 1);
    assert.equal(await work('sip:nobody@contoso.com', 'wrong password'), known);
    assert.equal(await work('not a sip uri at all', 'wrong password'), known);
    assert.equal(await work('sip:eve@contoso.com', 'wrong password'), known);
  });

  test('members join with history and roster; posts reach everyone, the sender included, after commit', async () => {
    const a = open('sip:alice@contoso.com');
    const b = open('sip:bob@contoso.com');
    const [ja] = await chat.join(a, [roomId]);
    assert.equal(ja?.ok, true);
    const [jb] = await chat.join(b, [roomId]);
    assert.ok(jb?.ok);
    assert.deepEqual(jb.joined.roster?.map((r) => r.uri).sort(), ['sip:alice@contoso.com', 'sip:bob@contoso.com']);
    assert.deepEqual(
      got(a).map((e) => e.type),
      ['join'],
    );
    const posted = await Promise.all([
      chat.post(a, roomId, { text: 'hello https://example.com/x.' }),
      chat.post(b, roomId, { text: 'hi alice', kind: 'alert' }),
    ]);
    assert.equal(posted[1].id, posted[0].id + 1);
    assert.deepEqual(posted[0].links, [{ kind: 'url', text: 'https://example.com/x', href: 'https://example.com/x' }]);
    for (const s of [a, b]) {
      assert.deepEqual(
        got(s)
          .filter((e) => e.type === 'message')
          .map((e) => (e.type === 'message' ? e.message.text : '')),
        ['hello https://example.com/x.', 'hi alice'],
      );
    }
    const stored = await store.messages.get(posted[0].id);
    assert.equal(stored?.text, 'hello https://example.com/x.');
    // a late joiner gets the history
    const b2 = open('sip:bob@contoso.com');
    const [jb2] = await chat.join(b2, [roomId]);
    assert.ok(jb2?.ok);
    assert.deepEqual(
      jb2.joined.history.slice(-2).map((m) => m.text),
      ['hello https://example.com/x.', 'hi alice'],
    );
    chat.part(b, roomId);
    assert.equal(
      got(a).filter((e) => e.type === 'part').length,
      0,
      'bob still has a session in the room, so no part notice yet',
    );
    chat.closeSession(b2);
    assert.deepEqual(
      got(a).filter((e) => e.type === 'part'),
      [{ type: 'part', roomId, user: 'sip:bob@contoso.com' }],
    );
    chat.closeSession(a);
  });

  test('non-members cannot see or join closed and secret rooms; denied users are walled off', async () => {
    const c = open('sip:carol@contoso.com');
    const [closed, secret] = await chat.join(c, [roomId, secretId]);
    assert.deepEqual(closed && !closed.ok && closed.code, 'NOT_A_MEMBER');
    assert.deepEqual(secret && !secret.ok && secret.code, 'ROOM_NOT_FOUND');
    const names = chat.searchRooms('sip:carol@contoso.com').map((r) => r.name);
    assert.deepEqual(names, ['General', 'Town hall']);
    assert.deepEqual(chat.searchRooms('sip:erin@contoso.com'), [], 'erin is denied by the category');
    await assert.rejects(chat.search('sip:carol@contoso.com', { roomId }), { code: 'NOT_A_MEMBER' });
    chat.closeSession(c);
  });

  test('only presenters post in an auditorium; anyone in scope joins an open room', async () => {
    const c = open('sip:carol@contoso.com');
    const [j] = await chat.join(c, [auditId]);
    assert.ok(j?.ok);
    assert.equal(j.joined.room.canPost, false);
    await assert.rejects(chat.post(c, auditId, { text: 'may I?' }), { code: 'NOT_A_PRESENTER' });
    const a = open('sip:alice@contoso.com');
    await chat.join(a, [auditId]);
    const m = await chat.post(a, auditId, { text: 'welcome', kind: 'story', title: 'Agenda' });
    assert.equal(m.title, 'Agenda');
    assert.equal(got(c).filter((e) => e.type === 'message').length, 1);
    chat.closeSession(a);
    chat.closeSession(c);
  });

  test('message and story size limits, and bad input, change nothing', async () => {
    const a = open('sip:alice@contoso.com');
    await chat.join(a, [roomId]);
    const before = await store.messages.latestId();
    const limit = chat.model.config.messageSizeLimit;
    await assert.rejects(chat.post(a, roomId, { text: 'x'.repeat(limit + 1) }), { code: 'MESSAGE_TOO_LARGE' });
    await assert.rejects(chat.post(a, roomId, { text: '   ' }), { code: 'INVALID_VALUE' });
    await assert.rejects(chat.post(a, roomId, { text: 'x', kind: 'story' }), { code: 'INVALID_VALUE' });
    await assert.rejects(chat.post(a, roomId, { text: 'x', kind: 'file' }), { code: 'INVALID_VALUE' });
    await assert.rejects(chat.post(a, 'no-such-room', { text: 'x' }), { code: 'ROOM_NOT_FOUND' });
    assert.equal(await store.messages.latestId(), before);
    chat.closeSession(a);
  });

  test('live effects: a removed member and a disabled room are removed at once with a notice', async () => {
    const a = open('sip:alice@contoso.com');
    const b = open('sip:bob@contoso.com');
    await chat.join(a, [roomId]);
    await chat.join(b, [roomId]);
    await admin.setRoom('General', { members: list('-sip:bob@contoso.com') });
    await chat.model.poll();
    assert.deepEqual(
      got(b).filter((e) => e.type === 'removed'),
      [{ type: 'removed', roomId, code: 'NOT_A_MEMBER', message: 'Only members of this room may do this.' }],
    );
    assert.ok(got(a).some((e) => e.type === 'part' && e.user === 'sip:bob@contoso.com'));
    assert.equal(b.rooms.has(roomId), false);
    await admin.setRoom('General', { disabled: true });
    await chat.model.poll();
    assert.ok(got(a).some((e) => e.type === 'removed' && e.code === 'ROOM_DISABLED'));
    assert.equal(
      chat.searchRooms('sip:alice@contoso.com').some((r) => r.id === roomId),
      false,
    );
    await admin.setRoom('General', { disabled: false, members: list('+sip:bob@contoso.com') });
    await chat.model.poll();
    chat.closeSession(a);
    chat.closeSession(b);
  });

  test('large rooms stop roster notices above ParticipantUpdateLimit and recover below 80 %', async () => {
    await admin.setConfig({ participantUpdateLimit: 3 });
    await chat.model.poll();
    const users = ['alice', 'bob', 'carol', 'dave'].map((u) => `sip:${u}@contoso.com`);
    const sessions = users.map((u) => open(u));
    for (const s of sessions) await chat.join(s, [auditId]);
    const watcher = sessions[0] as Session;
    const joinsSeen = got(watcher).filter((e) => e.type === 'join').length;
    assert.equal(joinsSeen, 2, 'bob and carol were announced; dave made the room large');
    const [late] = await chat.join(open('sip:erin@contoso.com'), [auditId]);
    assert.equal(late?.ok, false, 'erin is denied by the category');
    chat.closeSession(sessions[3] as Session); // 3 left: still large (>= 80 % of 3)
    assert.equal(got(watcher).filter((e) => e.type === 'part').length, 0);
    chat.closeSession(sessions[2] as Session); // 2 left: below 80 % of 3 → recovers
    chat.closeSession(sessions[1] as Session);
    assert.equal(got(watcher).filter((e) => e.type === 'part').length, 1);
    chat.closeSession(watcher);
    await admin.setConfig({ participantUpdateLimit: 75 });
    await chat.model.poll();
  });

  test('invitations are created for new members and delivered live', async () => {
    const d = open('sip:dave@contoso.com');
    await admin.setRoom('General', { members: list('+sip:dave@contoso.com') });
    await chat.model.poll();
    await chat.model.poll();
    const inv = got(d).filter((e) => e.type === 'invitation');
    assert.equal(inv.length, 1);
    const stored = await chat.invitations('sip:dave@contoso.com', 0);
    assert.deepEqual(
      stored.map((i) => i.roomName),
      ['General'],
    );
    chat.closeSession(d);
  });

  test('keyword alerts fire for readable rooms; feeds query across rooms', async () => {
    const a = open('sip:alice@contoso.com');
    const b = open('sip:bob@contoso.com');
    await chat.join(a, [roomId, secretId]);
    const f = await chat.putFeed('sip:bob@contoso.com', {
      name: 'outage',
      keywords: ['故障', 'outage'],
      authors: [],
      roomIds: [],
      alert: true,
    });
    await chat.post(a, roomId, { text: '数据库故障已修复' });
    await chat.post(a, secretId, { text: 'secret outage' }); // bob may not read the secret room
    await chat.post(a, roomId, { text: 'nothing to see' });
    const alerts = got(b).filter((e) => e.type === 'alert');
    assert.deepEqual(
      alerts.map((e) => (e.type === 'alert' ? e.message.text : '')),
      ['数据库故障已修复'],
    );
    const feed = await chat.feed('sip:bob@contoso.com', f.id);
    assert.deepEqual(
      feed.map((m) => m.text),
      ['数据库故障已修复'],
    );
    chat.closeSession(a);
    chat.closeSession(b);
  });

  test('files: upload within the limit, download with read permission only', async () => {
    const a = open('sip:alice@contoso.com');
    await chat.join(a, [roomId]);
    const m = await chat.upload(a, {
      roomId,
      name: 'notes.txt',
      contentType: 'text/plain',
      body: Readable.from([Buffer.from('hello '), Buffer.from('file')]),
    });
    assert.equal(m.kind, 'file');
    assert.equal(m.file?.size, 10);
    const dl = await chat.download('sip:bob@contoso.com', m.file?.id as string);
    const chunks: Buffer[] = [];
    for await (const c of dl.body) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'hello file');
    await assert.rejects(chat.download('sip:carol@contoso.com', m.file?.id as string), { code: 'NOT_A_MEMBER' });
    await admin.setConfig({ maxFileSizeKB: 1 });
    await chat.model.poll();
    const before = await store.messages.latestId();
    await assert.rejects(
      chat.upload(a, {
        roomId,
        name: 'big.bin',
        contentType: 'application/octet-stream',
        body: Readable.from([Buffer.alloc(2048)]),
      }),
      { code: 'FILE_TOO_LARGE' },
    );
    assert.equal(await store.messages.latestId(), before);
    await admin.setConfig({ maxFileSizeKB: 20000 });
    await chat.model.poll();
    chat.closeSession(a);
  });

  test('events to rooms above the slice size go out a slice per turn, in order, exactly once', async () => {
    const sliced = new ChatService(store, new FileStore(join(dir, 'files')), {
      domain: 'contoso.com',
      tokenTtlSeconds: 3600,
      pollMs: 1000,
      fanoutSlice: 2,
    });
    await sliced.start();
    try {
      const users = ['alice', 'bob', 'carol', 'dave'].map((u) => `sip:${u}@contoso.com`);
      const seen = new Map<Session, string[]>();
      const sessions = users.map((u) => {
        const got: string[] = [];
        const s = sliced.openSession(u, (e) => got.push(e.type === 'message' ? e.message.text : e.type), 'ws');
        seen.set(s, got);
        return s;
      });
      for (const s of sessions) await sliced.join(s, [auditId]);
      // the join notices themselves went out in slices, ahead of anything later: the i-th joiner hears the
      // joins of the 3 - i after it (waited for, not timed: slices go out a turn at a time on a busy machine)
      const joinsOf = (i: number) => (seen.get(sessions[i] as Session) ?? []).filter((t) => t === 'join').length;
      for (let until = Date.now() + 5000; [0, 1, 2].some((i) => joinsOf(i) < 3 - i) && Date.now() < until; )
        await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(seen.get(sessions[0] as Session), ['join', 'join', 'join']);
      assert.deepEqual([1, 2, 3].map(joinsOf), [2, 1, 0]);
      const alice = sessions[0] as Session;
      const dave = sessions[3] as Session;
      for (const got of seen.values()) got.length = 0;
      const posted = Promise.all([1, 2, 3].map((i) => sliced.post(alice, auditId, { text: `m${i}` })));
      // dave leaves before the slices reach him: he gets nothing more
      await new Promise((r) => setImmediate(r));
      sliced.part(dave, auditId);
      await posted;
      await new Promise((r) => setTimeout(r, 50));
      for (const s of sessions.slice(0, 3)) assert.deepEqual(seen.get(s), ['m1', 'm2', 'm3', 'part'], s.user);
      assert.equal(
        (seen.get(dave) ?? []).filter((t) => t.startsWith('m')).length < 3,
        true,
        'dave left before his slice of at least one message',
      );
      for (const s of sessions) sliced.closeSession(s);
    } finally {
      await sliced.stop();
    }
  });

  test('chat history off: messages are delivered but not kept', async () => {
    await admin.newCategory({ name: 'Ephemeral', allowedMembers: list('domain:contoso.com'), chatHistory: false });
    const r = await admin.newRoom({ name: 'Lounge', category: 'Ephemeral', privacy: 'open' });
    await chat.model.poll();
    const a = open('sip:alice@contoso.com');
    await chat.join(a, [r.id]);
    const m = await chat.post(a, r.id, { text: 'off the record' });
    assert.ok(got(a).some((e) => e.type === 'message' && e.message.id === m.id));
    assert.deepEqual(await chat.history('sip:alice@contoso.com', r.id), []);
    chat.closeSession(a);
  });
});
