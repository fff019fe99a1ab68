// The recent messages a join answers (backchat.ts on the core): the newest DefaultChatHistory messages of the room,
// oldest first, kept in memory while the room has sessions and trimmed to that many as messages arrive, the
// newest kept. A room whose category keeps no chat history answers none, whatever was logged before, and what is
// posted while a category keeps none never shows up in the recent messages later; a message an administrator
// removed, replaced or cleared, or retention purged, is never answered from memory, and a new DefaultChatHistory
// applies at once. History paging names the offending field. Messages arriving in rooms nobody has joined are no
// error. SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Backchat } from '../../../src/chat/backchat.js';
import type { ChatEvents } from '../../../src/chat/events.js';
import type { JoinOutcome, Session } from '../../../src/chat/types.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { engineUnavailable, newMessage } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES, uri } from './fixture.js';

const list = (s: string) => parseListEdit(s, 'members');
const texts = (r: JoinOutcome | undefined) => {
  assert.ok(r?.ok, JSON.stringify(r));
  return r.joined.history.map((m) => m.text);
};

for (const engine of ENGINES) {
  describe(`recent messages on join (${engine})`, () => {
    let fx: ChatFixture | undefined;
    let archive = '';
    let backchat: Backchat;
    const viewed: ChatEvents['history.viewed'][] = [];
    before(async () => {
      // the change stream is read when a case asks (no timer), so changes written together are read together
      fx = await chatFixture(
        engine,
        (core) => {
          backchat = new Backchat(core).register();
          core.events.on('history.viewed', (e) => void viewed.push(e));
        },
        { pollMs: 3_600_000 },
      );
      if (!fx) return;
      archive = (await fx.admin.newCategory({ name: 'Archive', allowedMembers: list('domain:contoso.com') })).id;
    });
    after(async () => fx?.close());

    const newRoom = async (name: string, category = 'Eng') => {
      const f = fx as ChatFixture;
      const id = (await f.admin.newRoom({ name, category, members: list(`${uri('alice')},${uri('bob')}`) })).id;
      await f.core.model.poll();
      return id;
    };
    const close = (...sessions: Session[]) => {
      for (const s of sessions) (fx as ChatFixture).core.closeSession(s);
    };

    test('the recent messages are the newest DefaultChatHistory, oldest first, as messages keep arriving', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const room = await newRoom('Busy');
      const alice = fx.open('alice');
      assert.deepEqual(texts((await fx.core.join(alice, [room]))[0]), []);
      for (const text of ['m1', 'm2', 'm3', 'm4', 'm5']) await fx.core.post(alice, room, { text });
      const bob = fx.open('bob');
      assert.deepEqual(texts((await fx.core.join(bob, [room]))[0]), ['m1', 'm2', 'm3', 'm4', 'm5'], 'default: 30');
      // a smaller DefaultChatHistory applies at once, also when read with other changes in one poll
      await fx.admin.setConfig({ defaultChatHistory: 3 });
      await fx.admin.setRoom(room, { description: 'read in the same poll' });
      await fx.core.model.poll();
      const alice2 = fx.open('alice');
      assert.deepEqual(texts((await fx.core.join(alice2, [room]))[0]), ['m3', 'm4', 'm5'], 'the new limit');
      await fx.core.post(bob, room, { text: 'm6' });
      await fx.core.post(bob, room, { text: 'm7' });
      const bob2 = fx.open('bob');
      assert.deepEqual(texts((await fx.core.join(bob2, [room]))[0]), ['m5', 'm6', 'm7'], 'trimmed, the newest kept');
      close(alice, bob, alice2, bob2);
      // nobody left in the room: the next join reads the store, with the same answer
      const again = fx.open('bob');
      assert.deepEqual(texts((await fx.core.join(again, [room]))[0]), ['m5', 'm6', 'm7'], 'read again from the store');
      close(again);
      await fx.admin.setConfig({ defaultChatHistory: 30 });
      await fx.core.model.poll();
    });

    test('a message removed, replaced, cleared or purged is not among the recent messages of a later join', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const f = fx;
      const cases: { what: string; act: (roomId: string, ids: number[]) => Promise<unknown>; want: string[] }[] = [
        {
          what: 'removed',
          act: (id, ids) => f.store.moderation.rewrite(id, ids.slice(1, 2), null, uri('admin')),
          want: ['first', 'third'],
        },
        {
          what: 'replaced',
          act: (id, ids) => f.store.moderation.rewrite(id, ids.slice(1, 2), 'redacted', uri('admin')),
          want: ['first', 'redacted', 'third'],
        },
        {
          what: 'cleared',
          act: (id) => f.store.moderation.clearRoom(id, 1500, uri('admin'), 500),
          want: ['third'],
        },
        { what: 'purged', act: (_id, ids) => f.store.moderation.purge(ids.slice(0, 1)), want: ['second', 'third'] },
      ];
      for (const c of cases) {
        const room = await newRoom(`Moderated ${c.what}`);
        const stored = await f.store.messages.append([
          newMessage(room, 'first', { ts: 1000 }),
          newMessage(room, 'second', { ts: 1000 }),
          newMessage(room, 'third', { ts: 2000 }),
        ]);
        const alice = f.open('alice');
        assert.deepEqual(texts((await f.core.join(alice, [room]))[0]), ['first', 'second', 'third'], c.what);
        await c.act(
          room,
          stored.map((m) => m.id),
        );
        await f.core.model.poll();
        const bob = f.open('bob');
        assert.deepEqual(texts((await f.core.join(bob, [room]))[0]), c.want, c.what);
        close(alice, bob);
      }
    });

    test('history paging names the offending field, and reports the door it was asked through', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      for (const [q, field] of [
        [{ beforeId: 1.5 }, 'before'],
        [{ afterId: 2 ** 60 }, 'after'],
      ] as const) {
        await assert.rejects(
          backchat.history(uri('bob'), fx.rooms.general, q),
          { code: 'INVALID_VALUE', field, message: /whole number/ },
          JSON.stringify(q),
        );
      }
      viewed.length = 0;
      await backchat.history(uri('bob'), fx.rooms.general);
      assert.equal(viewed[0]?.who.door, 'rest', 'no door given: the REST API');
    });

    test('a room whose category keeps no chat history answers none, whatever was logged before', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const room = await newRoom('Was logged', 'Archive');
      await fx.store.messages.append([newMessage(room, 'logged once'), newMessage(room, 'logged twice')]);
      const alice = fx.open('alice');
      assert.deepEqual(texts((await fx.core.join(alice, [room]))[0]), ['logged once', 'logged twice']);
      await fx.admin.setCategory(archive, { chatHistory: false });
      await fx.core.model.poll();
      const bob = fx.open('bob');
      assert.deepEqual(texts((await fx.core.join(bob, [room]))[0]), [], 'the room is live and its messages cached');
      close(alice, bob);
      const later = fx.open('bob');
      assert.deepEqual(texts((await fx.core.join(later, [room]))[0]), [], 'nobody in the room');
      close(later);
      await fx.admin.setCategory(archive, { chatHistory: true });
      await fx.core.model.poll();
    });

    test('what is posted while the category keeps no history never shows up among the recent messages', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const room = await newRoom('Off the record', 'Archive');
      const alice = fx.open('alice');
      await fx.core.post(alice, room, { text: 'on the record' });
      assert.deepEqual(texts((await fx.core.join(alice, [room]))[0]), ['on the record']);
      await fx.admin.setCategory(archive, { chatHistory: false });
      await fx.core.model.poll();
      await fx.core.post(alice, room, { text: 'off the record' });
      await fx.admin.setCategory(archive, { chatHistory: true });
      await fx.core.model.poll();
      await fx.core.post(alice, room, { text: 'back on the record' });
      const bob = fx.open('bob');
      assert.deepEqual(texts((await fx.core.join(bob, [room]))[0]), ['on the record', 'back on the record']);
      close(alice, bob);
    });

    test('messages posted in rooms nobody has joined are no error', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const alice = fx.open('alice');
      await fx.core.post(alice, fx.rooms.general, { text: 'to an empty room' });
      const bob = fx.open('bob');
      assert.deepEqual(texts((await fx.core.join(bob, [fx.rooms.general]))[0]), ['to an empty room']);
      close(alice, bob);
      assert.deepEqual(fx.logs, [], 'nothing was logged along the way');
    });
  });
}
