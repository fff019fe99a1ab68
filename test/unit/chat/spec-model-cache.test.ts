// The chat service's picture of the model (model-cache.ts) and what it reads to keep it, on SQLite and
// PostgreSQL:
//   - the add-ins in the store when the picture loads are found by their names;
//   - a change to a user, a group or a policy (password changes and removals included) loads the directory
//     again, once per batch however many such changes it holds; a change of any other kind (rooms, categories,
//     add-ins, the configuration, retention periods) keeps the directory as it was;
//   - a removed room, category or add-in is dropped from the picture without reading it from the store, while a
//     new or changed one is read;
//   - the timer starts no poll while one is running (its ticks are skipped, not queued), polls asked for
//     together read the change once, and a stopped timer reads nothing more.
import assert from 'node:assert/strict';
import { after, before, describe, mock } from 'node:test';
import { ModelCache } from '../../../src/chat/model-cache.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { DirectorySnapshot } from '../../../src/directory/snapshot.js';
import type { ChangeEvent } from '../../../src/store/port.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, until, uri } from './fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const engine of ENGINES) {
  describe(`the model picture and what it reads [${engine}]`, { timeout: 120_000 }, () => {
    let fx: ChatFixture | undefined;
    before(async () => {
      // the core's own picture polls only when asked, so the store calls counted here are the cache's
      fx = await chatFixture(engine, () => {}, { pollMs: 3_600_000 });
    });
    after(async () => fx?.close());
    const it = fixtureTest(engine, () => fx);

    const loaded = async (f: ChatFixture) => {
      const cache = new ModelCache(f.store);
      await cache.load();
      return cache;
    };

    it('the add-ins in the store when the picture loads are found by their names', async (fx) => {
      await fx.admin.newAddin({ name: 'Board', url: 'https://board.contoso.com/' });
      await fx.admin.newAddin({ name: 'Wiki', url: 'https://wiki.contoso.com/' });
      const cache = await loaded(fx);
      assert.deepEqual([...cache.addins.keys()].sort(), ['Board', 'Wiki']);
      for (const name of ['Board', 'Wiki']) assert.deepEqual(cache.addins.get(name), await fx.store.addins.get(name));
      await fx.admin.removeAddin('Board');
      await fx.admin.removeAddin('Wiki');
    });

    it('a user, group or policy change loads the directory again; a change of another kind keeps it', async (fx) => {
      const cache = await loaded(fx);
      const rows: [what: string, act: () => Promise<unknown>, reloads: boolean][] = [
        ['a new room', () => fx.admin.newRoom({ name: 'Dir keeps', category: 'Eng' }), false],
        ['a changed room', () => fx.admin.setRoom('Dir keeps', { description: 'changed' }), false],
        ['a new category', () => fx.admin.newCategory({ name: 'Dir cat' }), false],
        ['a new add-in', () => fx.admin.newAddin({ name: 'Dir addin', url: 'https://a.contoso.com/' }), false],
        ['the configuration', () => fx.admin.setConfig({ defaultChatHistory: 12 }), false],
        ['a retention period', () => fx.store.moderation.setRetention('global', 30), false],
        ['a removed room', () => fx.admin.removeRoom('Dir keeps'), false],
        ['a new user', () => fx.admin.addUser(uri('kim'), { displayName: 'Kim' }), true],
        ['a changed user', () => fx.admin.setUser(uri('kim'), { displayName: 'Kimberly' }), true],
        ['a password change', () => fx.store.users.setPasswordHash(uri('kim'), 'x'), true],
        ['a new group', () => fx.admin.addGroup('dir-crew', { members: parseListEdit(uri('kim'), 'members') }), true],
        ['a new policy', () => fx.admin.newPolicy('tag:dir', { enablePersistentChat: false }), true],
        ['a changed policy', () => fx.admin.setPolicy('tag:dir', { enablePersistentChat: true }), true],
        ['a removed group', () => fx.admin.removeGroup('dir-crew'), true],
        ['a removed user', () => fx.admin.removeUser(uri('kim')), true],
        ['a retention period removed', () => fx.store.moderation.setRetention('global', null), false],
      ];
      for (const [what, act, reloads] of rows) {
        await act();
        const before = cache.directory;
        const seen = cache.seenChangeId;
        await cache.poll();
        assert.ok(cache.seenChangeId > seen, `${what}: a change was read`);
        assert.equal(cache.directory !== before, reloads, `${what}: ${reloads ? 'reloads' : 'keeps'} the directory`);
      }
      assert.equal(cache.directory.users.has(uri('kim')), false, 'the reloaded directory is the store’s');
      await fx.admin.removeCategory('Dir cat');
      await fx.admin.removeAddin('Dir addin');
    });

    it('the directory is loaded once for a batch, however many directory changes it holds', async (fx) => {
      const cache = await loaded(fx);
      const heard: ChangeEvent[][] = [];
      cache.onChange((c) => void heard.push(c));
      await fx.admin.addUser(uri('lee'), { displayName: 'Lee' });
      await fx.admin.addUser(uri('max'), { displayName: 'Max' });
      await fx.admin.newRoom({ name: 'Batch room', category: 'Eng' });
      await fx.admin.addGroup('batch-crew', { members: parseListEdit(uri('lee'), 'members') });
      const load = mock.method(DirectorySnapshot, 'load');
      try {
        await cache.poll();
        assert.equal(load.mock.callCount(), 1);
      } finally {
        load.mock.restore();
      }
      assert.deepEqual(
        heard.map((b) => b.map((c) => c.type)),
        [['user.put', 'user.put', 'room.put', 'group.put']],
        'one batch',
      );
      assert.ok(cache.directory.users.has(uri('lee')) && cache.directory.users.has(uri('max')));
      assert.ok(cache.directory.groups.has('batch-crew'));
      await fx.admin.removeRoom('Batch room');
    });

    it('a removed room, category or add-in is dropped without reading it; a new or changed one is read', async (fx) => {
      const cache = await loaded(fx);
      const rooms = mock.method(fx.store.rooms, 'get');
      const categories = mock.method(fx.store.categories, 'get');
      const addins = mock.method(fx.store.addins, 'get');
      const rows = [
        {
          what: 'a room',
          read: rooms,
          map: () => cache.rooms,
          put: async () => (await fx.admin.newRoom({ name: 'Dropped room', category: 'Eng' })).id,
          change: (key: string) => fx.admin.setRoom(key, { description: 'changed' }),
          remove: (key: string) => fx.admin.removeRoom(key),
        },
        {
          what: 'a category',
          read: categories,
          map: () => cache.categories,
          put: async () => (await fx.admin.newCategory({ name: 'Dropped category' })).id,
          change: (key: string) => fx.admin.setCategory(key, { description: 'changed' }),
          remove: (key: string) => fx.admin.removeCategory(key),
        },
        {
          what: 'an add-in',
          read: addins,
          map: () => cache.addins,
          put: async () => (await fx.admin.newAddin({ name: 'Dropped', url: 'https://d.contoso.com/' })).name,
          change: (key: string) => fx.admin.setAddin(key, { url: 'https://d2.contoso.com/' }),
          remove: (key: string) => fx.admin.removeAddin(key),
        },
      ];
      try {
        for (const r of rows) {
          const key = await r.put();
          r.read.mock.resetCalls();
          await cache.poll();
          assert.deepEqual(
            r.read.mock.calls.map((c) => c.arguments),
            [[key]],
            `${r.what}: a new one is read`,
          );
          assert.ok(r.map().has(key), `${r.what}: in the picture`);
          await r.change(key);
          r.read.mock.resetCalls();
          await cache.poll();
          assert.equal(r.read.mock.callCount(), 1, `${r.what}: a changed one is read`);
          await r.remove(key);
          r.read.mock.resetCalls();
          await cache.poll();
          assert.equal(r.map().has(key), false, `${r.what}: dropped`);
          assert.equal(r.read.mock.callCount(), 0, `${r.what}: a removed one is not read`);
        }
      } finally {
        rooms.mock.restore();
        categories.mock.restore();
        addins.mock.restore();
      }
    });

    it('the timer skips its ticks while a poll is running, polls asked for together read once, and a stopped timer reads nothing', async (fx) => {
      const cache = await loaded(fx);
      cache.stop(); // stopping a timer never started is harmless
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const batches: string[][] = [];
      cache.onChange(async (changes) => {
        batches.push(changes.map((c) => c.type));
        if (batches.length === 1) await gate;
      });
      const since = mock.method(fx.store.changes, 'since');
      try {
        const room = await fx.admin.newRoom({ name: 'Held poll', category: 'Eng' });
        cache.start(5);
        await until(() => batches.length === 1, 'the first poll to reach its listener');
        await sleep(80); // ticks go by while the listener holds the poll
        assert.equal(since.mock.callCount(), 1, 'one read so far: the held poll’s');
        cache.stop();
        release();
        // a poll asked for now waits for the held one and reads once more: 1 + the held poll's last read + its own
        await cache.poll();
        assert.equal(since.mock.callCount(), 3, 'the skipped ticks left no polls behind');
        assert.ok(cache.rooms.has(room.id));
        await sleep(40);
        assert.equal(since.mock.callCount(), 3, 'stopped: no more reads');
        // polls asked for together: the change is read and heard once
        const other = await fx.admin.newRoom({ name: 'Together', category: 'Eng' });
        await Promise.all([cache.poll(), cache.poll(), cache.poll()]);
        assert.ok(cache.rooms.has(other.id));
        assert.deepEqual(batches, [['room.put'], ['room.put']], 'each change heard once');
        await fx.admin.removeRoom(room.id);
        await fx.admin.removeRoom(other.id);
      } finally {
        cache.stop();
        since.mock.restore();
      }
    });

    it('a listener that fails on a batch is logged; the listeners after it still get the batch, and the next batch too', async (fx) => {
      await fx.core.model.poll(); // what the cases before left unread
      const cause = new Error('a live effect failed');
      const heard: string[][] = [];
      let failing = true;
      fx.core.model.onChange(() => {
        if (failing) throw cause;
      });
      fx.core.model.onChange((changes) => void heard.push(changes.map((c) => c.type)));
      const from = fx.logs.length;
      const room = await fx.admin.newRoom({ name: 'Heard anyway', category: 'Eng' });
      await fx.core.model.poll();
      assert.deepEqual(heard, [['room.put']], 'the listener after the failing one got the batch');
      assert.ok(fx.core.model.rooms.has(room.id), 'the change is applied');
      const logged = fx.logs.slice(from);
      assert.equal(logged.length, 1);
      assert.equal(logged[0]?.msg, 'applying a change failed');
      assert.equal(logged[0]?.fields?.err, cause);
      assert.equal(logged[0]?.fields?.firstChangeId, logged[0]?.fields?.lastChangeId, 'one change in the batch');
      failing = false;
      await fx.admin.removeRoom(room.id);
      await fx.core.model.poll();
      assert.deepEqual(heard, [['room.put'], ['room.removed']]);
      assert.equal(fx.logs.length, from + 1, 'nothing more logged');
    });
  });
}
