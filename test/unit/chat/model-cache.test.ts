// The model cache: the chat service's picture of rooms, categories, add-ins, configuration and directory,
// loaded from the store and kept current by polling its change stream. Each change kind refreshes what it
// touches (a removal drops it), listeners hear each batch of changes after the picture has been updated, long
// backlogs are read in pages, and the timer polls on its own until stopped. SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ChangeListener, ModelCache } from '../../../src/chat/model-cache.js';
import type { Room } from '../../../src/core/model.js';
import type { ChangeEvent } from '../../../src/store/port.js';
import { engineUnavailable } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES, until, uri } from './fixture.js';

for (const engine of ENGINES) {
  describe(`model cache (${engine})`, () => {
    let fx: ChatFixture | undefined;
    let cache: ModelCache;
    const heard: ChangeEvent[][] = [];
    before(async () => {
      fx = await chatFixture(engine, () => {});
      if (!fx) return;
      cache = new ModelCache(fx.store);
      await cache.load();
      cache.onChange((changes) => void heard.push(changes));
    });
    after(async () => {
      cache?.stop();
      await fx?.close();
    });

    test('load reads the whole model and the newest change id', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      assert.deepEqual([...cache.rooms.keys()].sort(), Object.values(fx.rooms).sort());
      assert.deepEqual(
        [...cache.categories.values()].map((c) => c.name),
        ['Eng'],
      );
      assert.equal(cache.addins.size, 0);
      assert.deepEqual(cache.config, await fx.store.config.get());
      assert.deepEqual([...cache.directory.users.keys()].sort(), ['alice', 'bob', 'carol', 'dave', 'erin'].map(uri));
      assert.equal(cache.seenChangeId, await fx.store.changes.latestId());
    });

    test('each kind of change refreshes what it touches; a removal drops it', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const f = fx;
      let roomId = '';
      let catId = '';
      const cases: { what: string; act: () => Promise<unknown>; check: () => boolean }[] = [
        {
          what: 'a new room',
          act: async () => {
            roomId = (await f.admin.newRoom({ name: 'Cached', category: 'Eng' })).id;
          },
          check: () => cache.rooms.get(roomId)?.name === 'Cached',
        },
        {
          what: 'a changed room',
          act: () => f.admin.setRoom(roomId, { description: 'now described' }),
          check: () => cache.rooms.get(roomId)?.description === 'now described',
        },
        { what: 'a removed room', act: () => f.admin.removeRoom(roomId), check: () => !cache.rooms.has(roomId) },
        {
          what: 'a new category',
          act: async () => {
            catId = (await f.admin.newCategory({ name: 'Ops' })).id;
          },
          check: () => cache.categories.get(catId)?.name === 'Ops',
        },
        {
          what: 'a changed category',
          act: () => f.admin.setCategory(catId, { chatHistory: false }),
          check: () => cache.categories.get(catId)?.chatHistory === false,
        },
        {
          what: 'a removed category',
          act: () => f.admin.removeCategory(catId),
          check: () => !cache.categories.has(catId),
        },
        {
          what: 'a new add-in',
          act: () => f.admin.newAddin({ name: 'Board', url: 'https://board.contoso.com/' }),
          check: () => cache.addins.get('Board')?.url === 'https://board.contoso.com/',
        },
        {
          what: 'a changed add-in',
          act: () => f.admin.setAddin('Board', { url: 'https://board2.contoso.com/' }),
          check: () => cache.addins.get('Board')?.url === 'https://board2.contoso.com/',
        },
        { what: 'a removed add-in', act: () => f.admin.removeAddin('Board'), check: () => !cache.addins.has('Board') },
        {
          what: 'the configuration',
          act: () => f.admin.setConfig({ defaultChatHistory: 7 }),
          check: () => cache.config.defaultChatHistory === 7,
        },
        {
          what: 'a new user (the directory)',
          act: () => f.admin.addUser(uri('frank'), { displayName: 'Frank' }),
          check: () => cache.directory.users.get(uri('frank'))?.displayName === 'Frank',
        },
        {
          what: 'a changed user',
          act: () => f.admin.setUser(uri('frank'), { displayName: 'Franklin' }),
          check: () => cache.directory.users.get(uri('frank'))?.displayName === 'Franklin',
        },
        {
          what: 'a new group',
          act: () => f.admin.addGroup('ops-team', { members: undefined }),
          check: () => cache.directory.groups.has('ops-team'),
        },
        {
          what: 'a new policy',
          act: () => f.admin.newPolicy('tag:quiet', { enablePersistentChat: false }),
          check: () => cache.directory.policies.has('tag:quiet'),
        },
        {
          what: 'a removed user',
          act: () => f.admin.removeUser(uri('frank')),
          check: () => !cache.directory.users.has(uri('frank')),
        },
      ];
      for (const c of cases) {
        await c.act();
        assert.equal(c.check(), false, `${c.what}: not in the picture before a poll`);
        heard.length = 0;
        await cache.poll();
        assert.ok(c.check(), `${c.what}: in the picture after a poll`);
        assert.equal(cache.seenChangeId, await f.store.changes.latestId(), c.what);
        assert.equal(heard.length, 1, `${c.what}: the listeners heard the batch`);
        assert.equal(heard[0]?.at(-1)?.id, cache.seenChangeId);
      }
      heard.length = 0;
      await cache.poll();
      assert.deepEqual(heard, [], 'no new change: the listeners are not called');
    });

    test('listeners run in order, after the picture is updated, and are awaited before a poll settles', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const order: string[] = [];
      const local = new ModelCache(fx.store);
      await local.load();
      let seen: Room | undefined;
      const first: ChangeListener = async (changes) => {
        seen = local.rooms.get(changes[0]?.subject as string);
        await new Promise((r) => setTimeout(r, 20));
        order.push('first');
      };
      local.onChange(first);
      local.onChange(() => void order.push('second'));
      const r = await fx.admin.newRoom({ name: 'Listened', category: 'Eng' });
      await local.poll();
      assert.equal(seen?.name, 'Listened', 'the first listener saw the room already in the picture');
      assert.deepEqual(order, ['first', 'second']);
      await fx.admin.removeRoom(r.id);
    });

    test('polls called while one is running settle with every change written before them applied, each heard once', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const local = new ModelCache(fx.store);
      await local.load();
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const batches: string[][] = [];
      local.onChange(async (changes) => {
        batches.push(changes.map((c) => c.type));
        if (batches.length === 1) await gate;
      });
      const a = await fx.admin.newRoom({ name: 'First poll', category: 'Eng' });
      const p1 = local.poll();
      await until(() => batches.length === 1, 'the first poll to reach its listener');
      const b = await fx.admin.newRoom({ name: 'Second poll', category: 'Eng' });
      const p2 = local.poll();
      const p3 = local.poll();
      release();
      await Promise.all([p2, p3]);
      assert.ok(local.rooms.has(b.id), 'the change written before the second call is applied when it settles');
      await p1;
      assert.ok(local.rooms.has(a.id));
      assert.deepEqual(batches, [['room.put'], ['room.put']], 'each change heard once');
      await fx.admin.removeRoom(a.id);
      await fx.admin.removeRoom(b.id);
    });

    test('a backlog longer than a page (500 changes) is read to its end in one poll, page by page', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const local = new ModelCache(fx.store);
      await local.load();
      const sizes: number[] = [];
      local.onChange((changes) => void sizes.push(changes.length));
      const base = (await fx.store.rooms.get(fx.rooms.general)) as Room;
      const ids = Array.from({ length: 620 }, (_, i) => `bulk-${engine}-${i}`);
      await fx.store.atomically(async (tx) => {
        for (const [i, id] of ids.entries()) await tx.rooms.put({ ...base, id, name: `Bulk ${i}` });
      });
      await local.poll();
      assert.ok(
        ids.every((id) => local.rooms.has(id)),
        'every room of the backlog',
      );
      assert.equal(local.seenChangeId, await fx.store.changes.latestId());
      assert.deepEqual(sizes, [500, 120]);
    });

    test('started, it polls on its own every interval; stopped, it no longer does', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const local = new ModelCache(fx.store);
      await local.load();
      local.start(10);
      const a = await fx.admin.newRoom({ name: 'Timer on', category: 'Eng' });
      await until(() => local.rooms.has(a.id), 'the timer to apply the change');
      local.stop();
      await new Promise((r) => setTimeout(r, 30));
      const b = await fx.admin.newRoom({ name: 'Timer off', category: 'Eng' });
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(local.rooms.has(b.id), false, 'no poll after stop');
    });
  });
}
