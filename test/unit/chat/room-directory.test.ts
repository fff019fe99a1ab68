// The room directory over the core's model: browse and search by name or description (case-insensitive,
// trimmed) among the rooms the caller may see, sorted by name, paged by limit; a user's rooms as member or as
// manager (getassociations); one room's details. Secret rooms show only to their members and managers; a
// category's denied users see nothing; a disabled room is listed to its managers only. SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RoomDirectory } from '../../../src/chat/room-directory.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { engineUnavailable } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES, uri } from './fixture.js';

const list = (users: string[]) => parseListEdit(users.map(uri).join(','), 'members');

for (const engine of ENGINES) {
  describe(`room directory (${engine})`, () => {
    let fx: ChatFixture | undefined;
    let dir: RoomDirectory;
    const ids: Record<string, string> = {};
    before(async () => {
      fx = await chatFixture(engine, (core) => {
        dir = new RoomDirectory(core);
      });
      if (!fx) return;
      // besides General (closed: alice, bob), Secret (secret: alice) and Town hall (open auditorium: alice)
      ids.deploys = (
        await fx.admin.newRoom({
          name: 'Deploys',
          category: 'Eng',
          privacy: 'open',
          description: 'Release Train coordination',
          members: list(['carol']),
          managers: list(['dave']),
        })
      ).id;
      ids.alpha = (await fx.admin.newRoom({ name: 'alpha ops', category: 'Eng', members: list(['bob', 'carol']) })).id;
      ids.hidden = (
        await fx.admin.newRoom({
          name: 'Hidden board',
          category: 'Eng',
          privacy: 'secret',
          members: list(['bob']),
          managers: list(['dave']),
        })
      ).id;
      await fx.core.model.poll();
    });
    after(async () => fx?.close());

    const names = (rs: { name: string }[]) => rs.map((r) => r.name);

    test('browsing lists the rooms the caller may see, by name; secret rooms only to members and managers', (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const cases: [user: string, rooms: string[]][] = [
        ['alice', ['alpha ops', 'Deploys', 'General', 'Secret', 'Town hall']],
        ['bob', ['alpha ops', 'Deploys', 'General', 'Hidden board', 'Town hall']],
        ['carol', ['alpha ops', 'Deploys', 'General', 'Town hall']],
        ['dave', ['alpha ops', 'Deploys', 'General', 'Hidden board', 'Town hall']],
        ['erin', []], // denied by the category
      ];
      for (const [user, rooms] of cases) assert.deepEqual(names(dir.searchRooms(uri(user))), rooms, user);
    });

    test('a search matches the name or the description, case-insensitive and trimmed', (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const cases: [user: string, query: string, rooms: string[]][] = [
        ['carol', 'train', ['Deploys']], // in the description only
        ['carol', 'RELEASE train', ['Deploys']],
        ['carol', '  gen  ', ['General']],
        ['carol', 'o', ['alpha ops', 'Deploys', 'Town hall']],
        ['carol', '', ['alpha ops', 'Deploys', 'General', 'Town hall']],
        ['carol', '   ', ['alpha ops', 'Deploys', 'General', 'Town hall']],
        ['carol', 'secret', []], // not revealed
        ['alice', 'secret', ['Secret']],
        ['dave', 'board', ['Hidden board']],
        ['carol', 'no such room', []],
      ];
      for (const [user, query, rooms] of cases)
        assert.deepEqual(names(dir.searchRooms(uri(user), { query })), rooms, `${user}: "${query}"`);
    });

    test('the limit keeps the first rooms by name: 100 by default, at most 1000, at least 1', (t) => {
      if (!fx) return engineUnavailable(t, engine);
      assert.deepEqual(names(dir.searchRooms(uri('carol'), { limit: 2 })), ['alpha ops', 'Deploys']);
      assert.deepEqual(names(dir.searchRooms(uri('carol'), { limit: 1, query: 'o' })), ['alpha ops']);
      assert.equal(dir.searchRooms(uri('carol'), { limit: 5000 }).length, 4, 'a large limit is capped, not refused');
      for (const limit of [0, -1, 1.5]) {
        assert.throws(() => dir.searchRooms(uri('carol'), { limit }), { code: 'INVALID_VALUE' }, `limit ${limit}`);
      }
      assert.throws(() => dir.searchRooms(uri('carol'), { query: 'a\u0000b' }), { code: 'INVALID_VALUE' });
    });

    test("the rooms found are described as the caller sees them (category, privacy, the caller's relation)", (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const [d] = dir.searchRooms(uri('dave'), { query: 'deploys' });
      assert.deepEqual(
        {
          id: d?.id,
          name: d?.name,
          description: d?.description,
          categoryName: d?.categoryName,
          privacy: d?.privacy,
          member: d?.member,
          manager: d?.manager,
        },
        {
          id: ids.deploys,
          name: 'Deploys',
          description: 'Release Train coordination',
          categoryName: 'Eng',
          privacy: 'open',
          member: false,
          manager: true,
        },
      );
      const [c] = dir.searchRooms(uri('carol'), { query: 'deploys' });
      assert.deepEqual([c?.member, c?.manager], [true, false]);
    });

    test("a user's rooms as member or as manager, by name; a denied user has none", (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const cases: [user: string, role: 'member' | 'manager' | undefined, rooms: string[]][] = [
        ['alice', undefined, ['General', 'Secret', 'Town hall']],
        ['bob', 'member', ['alpha ops', 'General', 'Hidden board']],
        ['carol', 'member', ['alpha ops', 'Deploys']],
        ['dave', 'member', []],
        ['dave', 'manager', ['Deploys', 'Hidden board']],
        ['carol', 'manager', []],
        ['erin', 'member', []], // denied by the category
      ];
      for (const [user, role, rooms] of cases)
        assert.deepEqual(names(dir.associations(uri(user), role)), rooms, `${user} as ${role ?? 'member (default)'}`);
    });

    test('a room is described to whoever may see it; a secret one is not found by others', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      assert.equal(dir.roomDetails(uri('carol'), fx.rooms.general).name, 'General');
      assert.equal(dir.roomDetails(uri('dave'), ids.hidden as string).name, 'Hidden board');
      assert.throws(() => dir.roomDetails(uri('carol'), ids.hidden as string), { code: 'ROOM_NOT_FOUND' });
      assert.throws(() => dir.roomDetails(uri('erin'), fx?.rooms.general as string), { code: 'NOT_IN_CATEGORY_SCOPE' });
      assert.throws(() => dir.roomDetails(uri('carol'), 'no-such-room'), { code: 'ROOM_NOT_FOUND' });
    });

    test("a disabled room leaves the browse list and its members' rooms but stays among its managers' rooms", async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      await fx.admin.setRoom(ids.deploys as string, { disabled: true });
      await fx.core.model.poll();
      try {
        assert.deepEqual(names(dir.searchRooms(uri('carol'))), ['alpha ops', 'General', 'Town hall']);
        assert.deepEqual(names(dir.associations(uri('carol'))), ['alpha ops']);
        assert.deepEqual(names(dir.associations(uri('dave'), 'manager')), ['Deploys', 'Hidden board']);
        assert.throws(() => dir.roomDetails(uri('carol'), ids.deploys as string), { code: 'ROOM_DISABLED' });
      } finally {
        await fx.admin.setRoom(ids.deploys as string, { disabled: false });
        await fx.core.model.poll();
      }
    });

    test('without a limit a browse answers the first 100 rooms by name', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      // carol sees 4 rooms; 100 more open ones, named to sort after them
      for (let i = 0; i < 100; i++)
        await fx.admin.newRoom({ name: `zz room ${String(i).padStart(3, '0')}`, category: 'Eng', privacy: 'open' });
      await fx.core.model.poll();
      const page = names(dir.searchRooms(uri('carol')));
      assert.equal(page.length, 100);
      assert.deepEqual(page.slice(0, 4), ['alpha ops', 'Deploys', 'General', 'Town hall']);
      assert.equal(page.at(-1), 'zz room 095');
      assert.equal(dir.searchRooms(uri('carol'), { limit: 1000 }).length, 104);
    });
  });
}
