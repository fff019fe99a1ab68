// The reader's modules, on SQLite and PostgreSQL: message search (search.ts), follows and unread counts
// (follows.ts) and the room directory's own rules (room-directory.ts).
//   - A search without a room covers exactly the rooms the user may read (open rooms included, closed and secret
//     ones only as a member, none behind a category wall or disabled); with a room it needs read access to that
//     room, refused with the rule's code naming 'room'; the door is 'rest' unless named. Text is a string of at
//     most 1000 characters of storable text, refused naming 'text'; authors are SIP URIs in any spelling. The
//     page is 50 messages or SearchLimit when that is smaller; an asked limit is cut to SearchLimit.
//   - Following a room needs read access to it (nothing is stored when refused); unfollowing never does. A read
//     mark needs read access (checked before the id), then a whole number from 0 to the largest safe integer.
//     The list of follows leaves out rooms the user may no longer read (the follow is kept and shows again with
//     its count when access comes back); joining the followed rooms joins those the user may join.
//   - A room search text is storable text, refused naming 'q'. A user's rooms as member are the rooms they are a
//     member of and may see; as manager, those they manage and may manage (an administrator manages rooms behind
//     a category wall that keeps them out as a member, and a disabled room stays on its manager's list).
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Follows } from '../../../src/chat/follows.js';
import { RoomDirectory } from '../../../src/chat/room-directory.js';
import { MessageSearch } from '../../../src/chat/search.js';
import type { SearchQuery } from '../../../src/chat/types.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, uri } from './fixture.js';

const members = (...users: string[]) => parseListEdit(users.map(uri).join(','), 'members');

/** How `p` was refused ({ code, field, message }); 'accepted' when it was not. */
const refusal = async (p: Promise<unknown> | (() => unknown)): Promise<unknown> => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    const { code, field, message } = e as { code?: string; field?: string; message: string };
    return { code: code ?? String(e), field, message };
  }
  return 'accepted';
};

const sorted = (ids: readonly string[]) => [...ids].sort();

for (const engine of ENGINES) {
  describe(`search, follows and the room directory [${engine}]`, { timeout: 120_000 }, () => {
    let fx: ChatFixture | undefined;
    let search: MessageSearch;
    let follows: Follows;
    let directory: RoomDirectory;
    let searchedRooms: string[][] = [];
    let doors: string[] = [];
    let closedDown = '';
    before(async () => {
      fx = await chatFixture(engine, (core) => {
        search = new MessageSearch(core);
        follows = new Follows(core);
        directory = new RoomDirectory(core);
        core.events.on('search.before', (e) => {
          searchedRooms.push([...e.roomIds]);
          doors.push(e.who.door);
        });
      });
      if (!fx) return;
      // besides General (closed: alice, bob), Secret (secret: alice), Town hall (open auditorium: alice presents)
      closedDown = (
        await fx.admin.newRoom({
          name: 'Closed down',
          category: 'Eng',
          members: members('alice', 'bob'),
          disabled: true,
        })
      ).id;
      await fx.core.model.poll();
    });
    after(async () => fx?.close());
    const it = fixtureTest(engine, () => fx);

    // ---- search ----------------------------------------------------------------------------------------------

    it('a search without a room covers exactly the rooms the user may read; the door is rest unless named', async (fx) => {
      const { general, secret, audit } = fx.rooms;
      const rows: [user: string, rooms: string[]][] = [
        ['alice', [general, secret, audit]],
        ['bob', [general, audit]], // the disabled room is left out
        ['carol', [audit]], // open rooms need no membership; closed and secret ones do
        ['erin', []], // the category keeps her out
      ];
      for (const [user, rooms] of rows) {
        searchedRooms = [];
        await search.search(uri(user), { text: 'anything' });
        assert.deepEqual(searchedRooms.map(sorted), [sorted(rooms)], user);
      }
      searchedRooms = [];
      doors = [];
      await search.search(uri('carol'), { text: 'anything', roomId: audit });
      await search.search(uri('carol'), { text: 'anything', roomId: audit }, 'xccos');
      assert.deepEqual(searchedRooms, [[audit], [audit]], 'with a room, that room only');
      assert.deepEqual(doors, ['rest', 'xccos'], 'the door: rest unless named');
    });

    it('a search in one room needs read access to it, refused with the rule’s code naming room', async (fx) => {
      const rows: [user: string, room: string, code: string][] = [
        ['bob', fx.rooms.secret, 'ROOM_NOT_FOUND'],
        ['carol', fx.rooms.general, 'NOT_A_MEMBER'],
        ['erin', fx.rooms.audit, 'NOT_IN_CATEGORY_SCOPE'],
        ['bob', closedDown, 'ROOM_DISABLED'],
        ['bob', 'no-such-room', 'ROOM_NOT_FOUND'],
      ];
      for (const [user, room, code] of rows) {
        searchedRooms = [];
        const got = (await refusal(search.search(uri(user), { text: 'x', roomId: room }))) as { code: string };
        assert.deepEqual([got.code, (got as { field?: string }).field], [code, 'room'], `${user} in ${room}`);
        assert.deepEqual(searchedRooms, [], `${user} in ${room}: no search was run`);
      }
    });

    it('search text is a string of at most 1000 characters of storable text, refused naming text', async () => {
      const bob = uri('bob');
      const rows: [what: string, text: unknown, message: string | null][] = [
        ['null', null, 'text: must be a string'],
        ['true', true, 'text: must be a string'],
        ['an object', { words: 'x' }, 'text: must be a string'],
        ['1001 blanks', ' '.repeat(1001), 'text: at most 1000 characters'],
        ['1001 letters', 'b'.repeat(1001), 'text: at most 1000 characters'],
        ['999 letters and a NUL', `${'b'.repeat(999)}\u0000`, 'text: must not contain U+0000 or an unpaired surrogate'],
        ['a lone low surrogate', 'a\uDC00', 'text: must not contain U+0000 or an unpaired surrogate'],
        ['exactly 1000 letters', 'b'.repeat(1000), null],
        ['exactly 1000 blanks', ' '.repeat(1000), null],
        ['the empty text', '', null],
        ['no text at all', undefined, null],
      ];
      for (const [what, text, message] of rows) {
        const got = await refusal(search.search(bob, { text } as SearchQuery));
        assert.deepEqual(got, message === null ? 'accepted' : { code: 'INVALID_VALUE', field: 'text', message }, what);
      }
    });

    it('authors are SIP URIs in any spelling; a bad one is refused naming authors', async (fx) => {
      const alice = fx.open('alice');
      const bob = fx.open('bob');
      const a = await fx.core.post(alice, fx.rooms.general, { text: 'plugh by alice' });
      const b = await fx.core.post(bob, fx.rooms.general, { text: 'plugh by bob' });
      const rows: [authors: string[], ids: number[]][] = [
        [[' Alice@Contoso.com '], [a.id]],
        [['SIP:BOB@contoso.com'], [b.id]],
        [
          ['bob@contoso.com', 'sip:alice@contoso.com'],
          [b.id, a.id],
        ],
        [['carol@contoso.com'], []],
      ];
      for (const [authors, ids] of rows) {
        const found = await search.search(uri('bob'), { text: 'plugh', authors });
        assert.deepEqual(
          found.messages.map((m) => m.id),
          ids,
          authors.join(' '),
        );
      }
      assert.deepEqual(await refusal(search.search(uri('bob'), { text: 'plugh', authors: ['alice'] })), {
        code: 'INVALID_VALUE',
        field: 'authors',
        message: 'authors: "alice" is not a SIP URI such as sip:alice@contoso.com',
      });
      fx.core.closeSession(alice);
      fx.core.closeSession(bob);
    });

    it('the page is 50 messages or SearchLimit when smaller; an asked limit is cut to SearchLimit', async (fx) => {
      const alice = fx.open('alice');
      for (let i = 0; i < 61; i++) await fx.core.post(alice, fx.rooms.general, { text: `pagetest ${i}` });
      const rows: [searchLimit: number, limit: number | undefined, page: number, count: number, exceeded: boolean][] = [
        [20, undefined, 20, 20, true],
        [20, 30, 20, 20, true],
        [49, undefined, 49, 49, true],
        [50, undefined, 50, 50, true],
        [51, undefined, 50, 51, true],
        [60, undefined, 50, 60, true],
        [60, 55, 55, 60, true],
        [60, 61, 60, 60, true],
        [999, undefined, 50, 61, false],
        [999, 61, 61, 61, false],
      ];
      try {
        for (const [searchLimit, limit, page, count, exceeded] of rows) {
          if (fx.core.model.config.searchLimit !== searchLimit) {
            await fx.admin.setConfig({ searchLimit });
            await fx.core.model.poll();
          }
          const r = await search.search(uri('bob'), { text: 'pagetest', ...(limit ? { limit } : {}) });
          assert.deepEqual(
            [r.messages.length, r.count, r.exceededLimit],
            [page, count, exceeded],
            `SearchLimit ${searchLimit}, limit ${limit ?? 'not given'}`,
          );
          assert.equal(r.messages[0]?.text, 'pagetest 60', 'newest first');
        }
      } finally {
        await fx.admin.setConfig({ searchLimit: 999 });
        await fx.core.model.poll();
        fx.core.closeSession(alice);
      }
    });

    // ---- follows ---------------------------------------------------------------------------------------------

    it('following a room needs read access to it and stores nothing when refused; unfollowing needs none', async (fx) => {
      const followed = async (user: string) => (await fx.store.follows.list(uri(user))).map((f) => f.roomId);
      const rows: [user: string, room: string, code: string | null][] = [
        ['carol', fx.rooms.audit, null], // open: no membership needed
        ['carol', fx.rooms.general, 'NOT_A_MEMBER'],
        ['carol', fx.rooms.secret, 'ROOM_NOT_FOUND'],
        ['erin', fx.rooms.audit, 'NOT_IN_CATEGORY_SCOPE'],
        ['bob', closedDown, 'ROOM_DISABLED'],
        ['bob', 'no-such-room', 'ROOM_NOT_FOUND'],
      ];
      for (const [user, room, code] of rows) {
        const before = await followed(user);
        const got = (await refusal(follows.follow(uri(user), room, true))) as { code?: string; field?: string };
        if (code === null) {
          assert.equal(got, 'accepted', `${user} follows ${room}`);
          assert.deepEqual(sorted(await followed(user)), sorted([...before, room]));
        } else {
          assert.deepEqual([got.code, got.field], [code, 'room'], `${user} may not follow ${room}`);
          assert.deepEqual(await followed(user), before, `${user}: nothing stored`);
        }
        // unfollowing is always allowed, where one may read or not
        assert.equal(await refusal(follows.follow(uri(user), room, false)), 'accepted', `${user} unfollows ${room}`);
        assert.equal((await followed(user)).includes(room), false);
      }
    });

    it('a read mark needs read access, checked before the id; the id is a whole number from 0 to the largest safe one', async (fx) => {
      const bob = uri('bob');
      const room = (await fx.admin.newRoom({ name: 'Marks', category: 'Eng', members: members('bob') })).id;
      await fx.core.model.poll();
      await follows.follow(bob, room, true);
      const mark = async () => (await fx.store.follows.list(bob)).find((f) => f.roomId === room)?.lastReadId;
      const bad = { code: 'INVALID_VALUE', field: 'messageId', message: 'messageId: must be a message id' };
      const rows: [what: string, user: string, id: unknown, want: unknown, mark: number][] = [
        ['0', 'bob', 0, 'accepted', 0],
        ['1', 'bob', 1, 'accepted', 1],
        ['-1', 'bob', -1, bad, 1],
        ['1.5', 'bob', 1.5, bad, 1],
        ['NaN', 'bob', Number.NaN, bad, 1],
        ['Infinity', 'bob', Number.POSITIVE_INFINITY, bad, 1],
        ['2^53', 'bob', 2 ** 53, bad, 1],
        ['a numeric string', 'bob', '5', bad, 1],
        // the room is checked first: a bad id where one may not read is the room's refusal
        ['carol, not a member, with a bad id', 'carol', -1, { code: 'NOT_A_MEMBER', field: 'room' }, 1],
        ['erin, walled off', 'erin', 5, { code: 'NOT_IN_CATEGORY_SCOPE', field: 'room' }, 1],
        ['the largest safe integer', 'bob', Number.MAX_SAFE_INTEGER, 'accepted', Number.MAX_SAFE_INTEGER],
      ];
      for (const [what, user, id, want, stored] of rows) {
        const got = await refusal(follows.markRead(uri(user), room, id as number));
        if (typeof want === 'object' && want !== null && !('message' in want)) {
          const { code, field } = got as { code?: string; field?: string };
          assert.deepEqual({ code, field }, want, what);
        } else assert.deepEqual(got, want, what);
        assert.equal(await mark(), stored, `${what}: the mark`);
      }
      const [f] = (await follows.follows(bob)).filter((x) => x.room.id === room);
      assert.deepEqual([f?.lastReadId, f?.unread], [Number.MAX_SAFE_INTEGER, 0]);
    });

    it('the list of follows leaves out rooms one may no longer read and shows them again, count kept, when access returns', async (fx) => {
      const dave = uri('dave');
      const room = (await fx.admin.newRoom({ name: 'Follow me', category: 'Eng', members: members('dave') })).id;
      const gone = (await fx.admin.newRoom({ name: 'Going away', category: 'Eng', privacy: 'open' })).id;
      await fx.core.model.poll();
      await follows.follow(dave, room, true);
      await follows.follow(dave, gone, true);
      await follows.follow(dave, fx.rooms.audit, true);
      const s = fx.open('dave');
      await fx.core.post(s, room, { text: 'one' });
      await fx.core.post(s, room, { text: 'two' });
      fx.core.closeSession(s);
      const listed = async () =>
        Object.fromEntries((await follows.follows(dave)).map((f) => [f.room.name, [f.unread, f.lastReadId]]));
      assert.deepEqual(await listed(), { 'Follow me': [2, 0], 'Going away': [0, 0], 'Town hall': [0, 0] });
      await fx.admin.setRoom(room, { members: parseListEdit(`-${dave}`, 'members') });
      await fx.admin.removeRoom(gone);
      await fx.core.model.poll();
      assert.deepEqual(await listed(), { 'Town hall': [0, 0] }, 'no longer readable, or no longer there');
      assert.deepEqual(
        sorted((await fx.store.follows.list(dave)).map((f) => f.roomId)),
        sorted([room, gone, fx.rooms.audit]),
        'the follows are kept',
      );
      await fx.admin.setRoom(room, { members: parseListEdit(`+${dave}`, 'members') });
      await fx.core.model.poll();
      assert.deepEqual(await listed(), { 'Follow me': [2, 0], 'Town hall': [0, 0] }, 'back, with its count');
      const [f] = (await follows.follows(dave)).filter((x) => x.room.id === room);
      assert.deepEqual([f?.room.member, f?.room.categoryName], [true, 'Eng'], 'the room as dave sees it');
    });

    it('joining the followed rooms joins those one may join and skips the others', async (fx) => {
      const carol = uri('carol');
      const later = (await fx.admin.newRoom({ name: 'Later off', category: 'Eng', members: members('carol') })).id;
      const dropped = (await fx.admin.newRoom({ name: 'Later not', category: 'Eng', members: members('carol') })).id;
      const kept = (await fx.admin.newRoom({ name: 'Kept', category: 'Eng', members: members('carol') })).id;
      await fx.core.model.poll();
      for (const r of [later, dropped, kept, fx.rooms.audit]) await follows.follow(carol, r, true);
      await fx.admin.setRoom(later, { disabled: true });
      await fx.admin.setRoom(dropped, { members: parseListEdit(`-${carol}`, 'members') });
      await fx.core.model.poll();
      const s = fx.open('carol');
      const outcomes = await follows.joinFollowed(s);
      assert.deepEqual(
        sorted(outcomes.map((o) => (o.ok ? o.joined.room.id : `refused ${o.roomId}`))),
        sorted([kept, fx.rooms.audit]),
      );
      assert.deepEqual(fx.core.participants(kept), [carol]);
      assert.deepEqual(fx.core.participants(later), []);
      fx.core.closeSession(s);
    });

    // ---- the room directory -----------------------------------------------------------------------------------

    it('a room search text must be storable text, refused naming q', async () => {
      const rows: [query: unknown, message: string][] = [
        ['gen\u0000', 'q: must not contain U+0000 or an unpaired surrogate'],
        ['\uD800', 'q: must not contain U+0000 or an unpaired surrogate'],
        [42, 'q: must be text'],
      ];
      for (const [query, message] of rows) {
        assert.deepEqual(
          await refusal(() => directory.searchRooms(uri('bob'), { query: query as string })),
          { code: 'INVALID_VALUE', field: 'q', message },
          JSON.stringify(query),
        );
      }
    });

    it('as member one has the rooms one is a member of and may see; as manager those one manages and may manage', async (fx) => {
      await fx.admin.addUser(uri('root'), { displayName: 'Root', isAdmin: true });
      await fx.admin.addGroup('walled', { members: members('dave') });
      await fx.admin.newCategory({
        name: 'Walled',
        allowedMembers: parseListEdit('domain:contoso.com', 'members'),
        deniedMembers: parseListEdit('group:walled', 'members'),
      });
      await fx.admin.newRoom({
        name: 'Behind the wall',
        category: 'Walled',
        members: members('root', 'bob'),
        managers: members('root'),
      });
      // root stays on the room's lists, but joins the group the category denies
      await fx.admin.setGroup('walled', { members: parseListEdit(`+${uri('root')}`, 'members') });
      await fx.admin.newRoom({
        name: 'Root runs it',
        category: 'Eng',
        members: members('bob'),
        managers: members('root'),
        disabled: true,
      });
      await fx.admin.newRoom({ name: 'Root is in', category: 'Eng', members: members('root') });
      await fx.core.model.poll();
      const names = (rs: { name: string }[]) => rs.map((r) => r.name);
      const rows: [user: string, role: 'member' | 'manager', rooms: string[]][] = [
        // the wall keeps the administrator out of the conversation, not from managing the room
        ['root', 'member', ['Root is in']],
        ['root', 'manager', ['Behind the wall', 'Root runs it']],
        ['bob', 'manager', []],
      ];
      for (const [user, role, rooms] of rows) {
        assert.deepEqual(names(directory.associations(uri(user), role)), rooms, `${user} as ${role}`);
      }
      // bob is a member of both rooms: he may see the walled one, not the disabled one
      const bobs = names(directory.associations(uri('bob'), 'member'));
      assert.ok(bobs.includes('Behind the wall') && bobs.includes('General'), `bob as member: ${bobs}`);
      assert.ok(!bobs.includes('Root runs it') && !bobs.includes('Closed down'), `bob as member: ${bobs}`);
    });
  });
}
