// Specification: what a user reads through the chat service's side doors (topic feeds, follows, search) is
// limited to rooms they may read *now*, and losing membership through a group takes them out of a room they
// are in. On SQLite and PostgreSQL, through the admin service (as the CLI and REST API change things).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { AdminService } from '../../src/admin/admin-service.js';
import { ChatService } from '../../src/chat/chat-service.js';
import type { ChatEvent, Session } from '../../src/chat/types.js';
import { parseListEdit } from '../../src/core/principals.js';
import { FileStore } from '../../src/files/file-store.js';
import type { Store } from '../../src/store/port.js';
import { forEachEngine } from '../support/spec-engines.js';

const PW = 'correct horse';
const list = (s: string) => parseListEdit(s, 'members');
const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';
const CAROL = 'sip:carol@contoso.com';

forEachEngine('chat access specification', ({ store, dir, storeTest }) => {
  let admin: AdminService;
  let chat: ChatService;
  const rooms: Record<'lobby' | 'board' | 'vault' | 'crew', string> = { lobby: '', board: '', vault: '', crew: '' };
  const sessions: Session[] = [];
  const open = (user: string) => {
    const got: ChatEvent[] = [];
    const s = chat.openSession(user, (e) => got.push(e), 'ws');
    sessions.push(s);
    return { s, got };
  };
  // a case that gets the store: it fails when SQLite did not open, skips only an unreachable PostgreSQL
  const it = (title: string, fn: () => Promise<void>) => storeTest(title, fn);

  before(async () => {
    const st = store();
    if (!st) return;
    admin = new AdminService(st as Store, { realm: 'pchat', domain: 'contoso.com', pool: 'pool1' });
    for (const u of [ALICE, BOB, CAROL]) await admin.addUser(u, { password: PW });
    await admin.setPolicy('global', { enablePersistentChat: true });
    await admin.addGroup('board', { members: list(`${BOB}`) });
    await admin.addGroup('crew', { members: list(`${BOB},${CAROL}`) });
    await admin.newCategory({ name: 'Eng', allowedMembers: list('domain:contoso.com') });
    rooms.lobby = (await admin.newRoom({ name: 'Lobby', category: 'Eng', privacy: 'open', members: list(ALICE) })).id;
    rooms.board = (await admin.newRoom({ name: 'Board', category: 'Eng', members: list(`${ALICE},group:board`) })).id;
    rooms.vault = (await admin.newRoom({ name: 'Vault', category: 'Eng', privacy: 'secret', members: list(ALICE) })).id;
    rooms.crew = (await admin.newRoom({ name: 'Crew', category: 'Eng', members: list(`${ALICE},group:crew`) })).id;
    chat = new ChatService(st as Store, new FileStore(join(dir, 'files')), {
      domain: 'contoso.com',
      tokenTtlSeconds: 3600,
      pollMs: 20,
    });
    await chat.start();
    const a = open(ALICE);
    await chat.join(a.s, Object.values(rooms));
    for (const [name, id] of Object.entries(rooms)) {
      await chat.post(a.s, id, { text: `launch news in ${name}` });
    }
  });

  after(async () => {
    if (!store()) return;
    for (const s of sessions) chat.closeSession(s);
    await chat.stop();
  });

  const roomName = (id: string) => Object.entries(rooms).find(([, v]) => v === id)?.[0];

  // Bob may read Lobby (open) and Board (through group board); never Vault (secret, not a member).
  const feeds: { name: string; roomIds: () => string[]; want: string[] }[] = [
    { name: 'no room list: every room bob may read', roomIds: () => [], want: ['board', 'crew', 'lobby'] },
    { name: 'only a secret room he is not in', roomIds: () => [rooms.vault], want: [] },
    { name: 'a secret room and a readable one', roomIds: () => [rooms.vault, rooms.lobby], want: ['lobby'] },
    { name: 'a closed room he is in through a group', roomIds: () => [rooms.board], want: ['board'] },
    { name: 'a room that does not exist', roomIds: () => ['no-such-room'], want: [] },
  ];
  for (const f of feeds) {
    it(`topic feed restricted by roomIds (${f.name}) → ${f.want.join(', ') || 'nothing'}`, async () => {
      const feed = await chat.putFeed(BOB, { name: f.name, keywords: ['launch'], roomIds: f.roomIds() });
      const got = await chat.feed(BOB, feed.id);
      assert.deepEqual(got.map((m) => roomName(m.roomId)).sort(), f.want);
      // what the feed holds is what a search of the same rooms finds for him
      for (const m of got)
        assert.equal(
          (await chat.history(BOB, m.roomId)).some((h) => h.id === m.id),
          true,
        );
      await chat.removeFeed(BOB, feed.id);
    });
  }

  it('follows lists a room only while the user may read it, and comes back with the access', async () => {
    await chat.follow(CAROL, rooms.crew, true);
    await chat.follow(CAROL, rooms.lobby, true);
    const followed = async () => (await chat.follows(CAROL)).map((f) => roomName(f.room.id)).sort();
    assert.deepEqual(await followed(), ['crew', 'lobby']);
    const unread = (await chat.follows(CAROL)).find((f) => f.room.id === rooms.crew)?.unread;
    assert.equal(unread, 1);

    await admin.setGroup('crew', { members: list(`-${CAROL}`) });
    await chat.model.poll();
    assert.deepEqual(await followed(), ['lobby'], 'crew is no longer readable for carol');
    await assert.rejects(chat.history(CAROL, rooms.crew), { code: 'NOT_A_MEMBER' });
    await assert.rejects(chat.search(CAROL, { roomId: rooms.crew, text: 'launch' }), { code: 'NOT_A_MEMBER' });
    const everywhere = await chat.search(CAROL, { text: 'launch' });
    assert.deepEqual(everywhere.messages.map((m) => roomName(m.roomId)).sort(), ['lobby']);

    await admin.setGroup('crew', { members: list(`+${CAROL}`) });
    await chat.model.poll();
    assert.deepEqual(await followed(), ['crew', 'lobby'], 'the follow was kept, only hidden');
  });

  it('following a secret room one may not see is refused as if it did not exist', async () => {
    await assert.rejects(chat.follow(BOB, rooms.vault, true), { code: 'ROOM_NOT_FOUND' });
    await assert.rejects(chat.follow(BOB, 'no-such-room', true), { code: 'ROOM_NOT_FOUND' });
    assert.equal((await chat.follows(BOB)).length, 0);
  });

  it('removing a user from the group that makes him a member takes him out of the room he is in', async () => {
    const a = open(ALICE);
    const b = open(BOB);
    await chat.join(a.s, [rooms.board]);
    const [joined] = await chat.join(b.s, [rooms.board, rooms.lobby]);
    assert.equal(joined?.ok, true);
    assert.ok(chat.participants(rooms.board).includes(BOB));

    await admin.setGroup('board', { members: list(`-${BOB}`) });
    await chat.model.poll();

    assert.deepEqual(
      b.got.filter((e) => e.type === 'removed'),
      [
        {
          type: 'removed',
          roomId: rooms.board,
          code: 'NOT_A_MEMBER',
          message: 'Only members of this room may do this.',
        },
      ],
    );
    assert.equal(b.s.rooms.has(rooms.board), false);
    assert.equal(b.s.rooms.has(rooms.lobby), true, 'the open room he may still be in is kept');
    assert.equal(chat.participants(rooms.board).includes(BOB), false);
    assert.ok(a.got.some((e) => e.type === 'part' && e.user === BOB && e.roomId === rooms.board));
    await assert.rejects(chat.post(b.s, rooms.board, { text: 'still here?' }), { code: 'NOT_A_MEMBER' });
    const [again] = await chat.join(b.s, [rooms.board]);
    assert.equal(again?.ok, false);

    await admin.setGroup('board', { members: list(`+${BOB}`) });
    await chat.model.poll();
    const [back] = await chat.join(b.s, [rooms.board]);
    assert.equal(back?.ok, true);
  });
});
