// Backchat and search, each loaded alone on the core: recent messages on join, history paging with its veto
// and notify events, search with its events; hostile numbers and text get INVALID_VALUE. SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Backchat } from '../../../src/chat/backchat.js';
import type { ChatEvents } from '../../../src/chat/events.js';
import { MessageSearch } from '../../../src/chat/search.js';
import { PchatError } from '../../../src/core/errors.js';
import { engineUnavailable } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES, uri } from './fixture.js';

for (const engine of ENGINES) {
  describe(`backchat and search modules (${engine})`, () => {
    let fx: ChatFixture | undefined;
    let backchat: Backchat;
    let search: MessageSearch;
    const viewed: ChatEvents['history.viewed'][] = [];
    const searched: ChatEvents['searched'][] = [];
    before(async () => {
      fx = await chatFixture(engine, (core) => {
        backchat = new Backchat(core).register();
        search = new MessageSearch(core);
        core.events.on('history.viewed', (e) => void viewed.push(e));
        core.events.on('searched', (e) => void searched.push(e));
        core.events.on('history.before', (e) => {
          if (e.query.limit === 13) throw new PchatError('ROOM_DISABLED', 'refused by a module');
        });
      });
    });
    after(async () => fx?.close());

    test('join answers recent history, kept current as messages arrive', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const alice = fx.open('alice');
      await fx.core.post(alice, fx.rooms.general, { text: 'first words' });
      const [r] = await fx.core.join(alice, [fx.rooms.general]);
      assert.ok(r?.ok);
      assert.deepEqual(
        r.joined.history.map((m) => m.text),
        ['first words'],
      );
      await fx.core.post(alice, fx.rooms.general, { text: 'second words' });
      const bob = fx.open('bob');
      const [r2] = await fx.core.join(bob, [fx.rooms.general]);
      assert.ok(r2?.ok);
      assert.deepEqual(
        r2.joined.history.map((m) => m.text),
        ['first words', 'second words'],
      );
      fx.core.closeSession(alice);
      fx.core.closeSession(bob);
    });

    test('history pages by id, fires history.viewed with who and door, and can be vetoed', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      viewed.length = 0;
      const page = await backchat.history(uri('bob'), fx.rooms.general, { limit: 1 }, 'xccos');
      assert.deepEqual(
        page.map((m) => m.text),
        ['second words'],
      );
      const older = await backchat.history(uri('bob'), fx.rooms.general, { beforeId: page[0]?.id });
      assert.deepEqual(
        older.map((m) => m.text),
        ['first words'],
      );
      assert.equal(viewed.length, 2);
      assert.deepEqual(viewed[0]?.who, { user: uri('bob'), displayName: 'Bob', door: 'xccos' });
      assert.deepEqual(viewed[0]?.where, { id: fx.rooms.general, name: 'General' });
      await assert.rejects(backchat.history(uri('bob'), fx.rooms.general, { limit: 13 }), { code: 'ROOM_DISABLED' });
      assert.equal(viewed.length, 2, 'a vetoed read is not reported as viewed');
      await assert.rejects(backchat.history(uri('carol'), fx.rooms.secret), { code: 'ROOM_NOT_FOUND' });
    });

    test('numbers beyond the safe range and hostile text answer INVALID_VALUE on both engines', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      for (const q of [
        { beforeId: Number('99999999999999999999') },
        { afterId: 1e23 },
        { beforeId: 1.5 },
        { afterId: Number.NaN },
      ]) {
        await assert.rejects(
          backchat.history(uri('bob'), fx.rooms.general, q),
          { code: 'INVALID_VALUE' },
          JSON.stringify(q),
        );
      }
      for (const q of [
        { text: 'a\u0000b' },
        { text: '\uD800' },
        { since: 1e23 },
        { until: -1e300 },
        { beforeId: 2 ** 60 },
      ]) {
        await assert.rejects(search.search(uri('bob'), q), { code: 'INVALID_VALUE' }, JSON.stringify(q));
      }
    });

    test('search finds across readable rooms, fires searched, and a search.before handler may narrow the rooms', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      searched.length = 0;
      const r = await search.search(uri('bob'), { text: 'words' }, 'ws');
      assert.deepEqual(
        r.messages.map((m) => m.text),
        ['second words', 'first words'],
      );
      assert.equal(searched[0]?.count, 2);
      assert.equal(searched[0]?.who.door, 'ws');
      const off = fx.core.events.on('search.before', (e) => {
        e.roomIds = e.roomIds.filter((id) => id !== fx?.rooms.general);
      });
      const narrowed = await search.search(uri('bob'), { text: 'words' });
      assert.equal(narrowed.messages.length, 0);
      off();
    });
  });
}
