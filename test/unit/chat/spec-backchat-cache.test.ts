// Backchat's recent-history cache (backchat.ts), told by counting the store reads of recent messages
// (store.messages.before), on SQLite and PostgreSQL:
// - the first join of a room reads the newest DefaultChatHistory messages once; further joins while the room has
//   local sessions read nothing and answer the same messages;
// - a logged message arriving is added to the cached list, one its category does not log is not; the list keeps
//   exactly DefaultChatHistory messages, the oldest dropped as one more arrives;
// - when the last local session leaves (a part, or its session closing) the room's cache is dropped and the next
//   join reads again; a leave that leaves other sessions there (the user's own other session included) keeps it;
// - a configuration change drops every room's cache; a removal, replacement, clearing or purge of messages drops
//   that room's only (the next join reads once and no longer shows the message); other admin changes, even to
//   the room itself, keep it;
// - the history is loaded last among the join's vetoes (PRIORITY.late): a join another module refuses reads none;
// - a message that arrives while a join's read is in flight is not lost: when another join filled the cache
//   meanwhile and the message was added to it, that list is kept, not the older read.
// spec-backchat-recent.test.ts states what the recent messages are; this file states when they are read.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Backchat } from '../../../src/chat/backchat.js';
import type { JoinOutcome, Session } from '../../../src/chat/types.js';
import { PchatError } from '../../../src/core/errors.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { newMessage } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, uri } from './fixture.js';

const list = (s: string) => parseListEdit(s, 'members');
const texts = (r: JoinOutcome | undefined) => {
  assert.ok(r?.ok, JSON.stringify(r));
  return r.joined.history.map((m) => m.text);
};

const REFUSED = 'carol is kept out by a module';

for (const engine of ENGINES) {
  describe(`backchat's recent-history cache (${engine})`, () => {
    let fx: ChatFixture | undefined;
    let archive = '';
    /** Every read of recent messages: [room, limit]. */
    const reads: [string, number][] = [];
    /** While set, a read waits for it after reading the store (a read in flight). */
    let hold: Promise<void> | undefined;
    /** Called when a read has read the store and is about to wait for `hold`. */
    let onHeld: (() => void) | undefined;

    before(async () => {
      // the change stream is read when a case asks (no timer)
      fx = await chatFixture(
        engine,
        (core) => {
          new Backchat(core).register();
          // a module that refuses carol's joins, at the default priority
          core.events.on('join.before', (ev) => {
            if (ev.session.user === uri('carol')) throw new PchatError('NOT_A_MEMBER', REFUSED);
          });
        },
        { pollMs: 3_600_000 },
      );
      if (!fx) return;
      const messages = fx.store.messages;
      const real = messages.before.bind(messages);
      messages.before = async (roomId, limit, beforeId) => {
        reads.push([roomId, limit]);
        const r = await real(roomId, limit, beforeId);
        if (hold) {
          const h = hold;
          hold = undefined;
          onHeld?.();
          await h;
        }
        return r;
      };
      archive = (await fx.admin.newCategory({ name: 'Archive', allowedMembers: list('domain:contoso.com') })).id;
    });
    after(async () => fx?.close());
    const test = fixtureTest(engine, () => fx);

    const readsOf = (roomId: string) => reads.filter(([r]) => r === roomId).length;
    const newRoom = async (f: ChatFixture, name: string, category = 'Eng') => {
      const members = list(`${uri('alice')},${uri('bob')},${uri('carol')}`);
      const id = (await f.admin.newRoom({ name, category, members })).id;
      await f.core.model.poll();
      return id;
    };
    const join = async (f: ChatFixture, s: Session, roomId: string) => texts((await f.core.join(s, [roomId]))[0]);
    const close = (f: ChatFixture, ...sessions: Session[]) => {
      for (const s of sessions) f.core.closeSession(s);
    };

    test('the first join of a room reads the store once; further joins while it has sessions read nothing and answer the same messages', async (f) => {
      const room = await newRoom(f, 'Read once');
      await f.store.messages.append([newMessage(room, 'a'), newMessage(room, 'b'), newMessage(room, 'c')]);
      const alice = f.open('alice');
      assert.deepEqual(await join(f, alice, room), ['a', 'b', 'c']);
      assert.deepEqual(
        reads.filter(([r]) => r === room),
        [[room, 30]],
        'one read of DefaultChatHistory (default 30) messages',
      );
      const bob = f.open('bob');
      const alice2 = f.open('alice');
      assert.deepEqual(await join(f, bob, room), ['a', 'b', 'c']);
      assert.deepEqual(await join(f, alice2, room), ['a', 'b', 'c']);
      assert.equal(readsOf(room), 1, 'answered from memory');
      close(f, alice, bob, alice2);
    });

    test('a logged message arriving is added to the cached list; one its category does not log is not', async (f) => {
      const room = await newRoom(f, 'Partly logged', 'Archive');
      const alice = f.open('alice');
      assert.deepEqual(await join(f, alice, room), []);
      await f.core.post(alice, room, { text: 'logged' });
      const bob = f.open('bob');
      assert.deepEqual(await join(f, bob, room), ['logged']);
      await f.admin.setCategory(archive, { chatHistory: false });
      await f.core.model.poll();
      await f.core.post(alice, room, { text: 'not logged' });
      await f.admin.setCategory(archive, { chatHistory: true });
      await f.core.model.poll();
      await f.core.post(bob, room, { text: 'logged again' });
      const alice2 = f.open('alice');
      assert.deepEqual(await join(f, alice2, room), ['logged', 'logged again']);
      assert.equal(readsOf(room), 1, 'every answer came from memory');
      close(f, alice, bob, alice2);
    });

    test('the cached list keeps exactly DefaultChatHistory messages: the oldest is dropped when one more arrives', async (f) => {
      await f.admin.setConfig({ defaultChatHistory: 3 });
      await f.core.model.poll();
      try {
        const room = await newRoom(f, 'Three kept');
        await f.store.messages.append([newMessage(room, 'm1'), newMessage(room, 'm2')]);
        const alice = f.open('alice');
        assert.deepEqual(await join(f, alice, room), ['m1', 'm2']);
        assert.deepEqual(
          reads.filter(([r]) => r === room),
          [[room, 3]],
          'the read asks for DefaultChatHistory messages',
        );
        const steps: { post: string[]; want: string[] }[] = [
          { post: ['m3'], want: ['m1', 'm2', 'm3'] },
          { post: ['m4'], want: ['m2', 'm3', 'm4'] },
          { post: ['m5', 'm6'], want: ['m4', 'm5', 'm6'] },
        ];
        const sessions = [alice];
        for (const step of steps) {
          await Promise.all(step.post.map((text) => f.core.post(alice, room, { text })));
          const s = f.open('bob');
          sessions.push(s);
          assert.deepEqual(await join(f, s, room), step.want, step.post.join());
        }
        assert.equal(readsOf(room), 1, 'kept in memory throughout');
        close(f, ...sessions);
      } finally {
        await f.admin.setConfig({ defaultChatHistory: 30 });
        await f.core.model.poll();
      }
    });

    const LEAVES: { how: string; leave: (f: ChatFixture, s: Session, roomId: string) => Promise<void> }[] = [
      { how: 'a part', leave: (f, s, roomId) => f.core.part(s, roomId) },
      { how: 'its session closing', leave: async (f, s) => f.core.closeSession(s) },
    ];
    for (const l of LEAVES) {
      test(`when the last local session leaves a room (${l.how}) its cache is dropped; a leave that leaves other sessions keeps it`, async (f) => {
        const room = await newRoom(f, `Left by ${l.how}`);
        await f.store.messages.append([newMessage(room, 'before')]);
        const alice = f.open('alice');
        const alice2 = f.open('alice');
        const bob = f.open('bob');
        for (const s of [alice, alice2, bob]) assert.deepEqual(await join(f, s, room), ['before']);
        assert.equal(readsOf(room), 1);
        await l.leave(f, bob, room);
        const bob2 = f.open('bob');
        assert.deepEqual(await join(f, bob2, room), ['before']);
        assert.equal(readsOf(room), 1, 'another user is still there');
        await l.leave(f, bob2, room);
        await l.leave(f, alice, room);
        assert.ok(f.core.liveRoom(room), 'alice is there in her other session');
        const bob3 = f.open('bob');
        assert.deepEqual(await join(f, bob3, room), ['before']);
        assert.equal(readsOf(room), 1, 'the user’s own other session is still there');
        await l.leave(f, bob3, room);
        await l.leave(f, alice2, room);
        assert.equal(f.core.liveRoom(room), undefined, 'nobody is left');
        const last = f.open('bob');
        assert.deepEqual(await join(f, last, room), ['before']);
        assert.equal(readsOf(room), 2, 'read again');
        close(f, alice, alice2, bob, bob2, bob3, last);
      });
    }

    test("a configuration change drops every room's cache; other admin changes, even to the room itself, keep it", async (f) => {
      const rooms = [await newRoom(f, 'Config one'), await newRoom(f, 'Config two')];
      const alice = f.open('alice');
      for (const r of rooms) await join(f, alice, r);
      assert.deepEqual(
        rooms.map((r) => readsOf(r)),
        [1, 1],
      );
      // a room change, a category change and a user change, read in one poll
      await f.admin.setRoom(rooms[0] as string, { description: 'changed' });
      await f.admin.setRoom(rooms[1] as string, { description: 'changed too' });
      await f.admin.setCategory(archive, { description: 'changed' });
      await f.admin.setUser(uri('dave'), { displayName: 'David' });
      await f.core.model.poll();
      const bob = f.open('bob');
      for (const r of rooms) await join(f, bob, r);
      assert.deepEqual(
        rooms.map((r) => readsOf(r)),
        [1, 1],
        'no admin change but a configuration change drops the cache',
      );
      // the same DefaultChatHistory written again is still a configuration change
      await f.admin.setConfig({ defaultChatHistory: 30 });
      await f.core.model.poll();
      const alice2 = f.open('alice');
      for (const r of rooms) await join(f, alice2, r);
      assert.deepEqual(
        rooms.map((r) => readsOf(r)),
        [2, 2],
        'every room is read again',
      );
      close(f, alice, bob, alice2);
    });

    test("a removal, replacement, clearing or purge of messages drops that room's cache only: its next join reads once and no longer shows them", async (f) => {
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
        { what: 'cleared', act: (id) => f.store.moderation.clearRoom(id, 1500, uri('admin'), 500), want: ['third'] },
        { what: 'purged', act: (_id, ids) => f.store.moderation.purge(ids.slice(0, 1)), want: ['second', 'third'] },
      ];
      for (const c of cases) {
        const changed = await newRoom(f, `Changed ${c.what}`);
        const other = await newRoom(f, `Untouched ${c.what}`);
        const stored = await f.store.messages.append([
          newMessage(changed, 'first', { ts: 1000 }),
          newMessage(changed, 'second', { ts: 1000 }),
          newMessage(changed, 'third', { ts: 2000 }),
          newMessage(other, 'first', { ts: 1000 }),
        ]);
        const alice = f.open('alice');
        assert.deepEqual(await join(f, alice, changed), ['first', 'second', 'third'], c.what);
        assert.deepEqual(await join(f, alice, other), ['first'], c.what);
        await c.act(
          changed,
          stored.slice(0, 3).map((m) => m.id),
        );
        await f.core.model.poll();
        const bob = f.open('bob');
        assert.deepEqual(await join(f, bob, changed), c.want, c.what);
        assert.deepEqual(await join(f, bob, other), ['first'], c.what);
        assert.deepEqual([readsOf(changed), readsOf(other)], [2, 1], `${c.what}: only that room is read again`);
        const alice2 = f.open('alice');
        assert.deepEqual(await join(f, alice2, changed), c.want, c.what);
        assert.equal(readsOf(changed), 2, `${c.what}: read once, then kept again`);
        close(f, alice, bob, alice2);
      }
    });

    test('the history is loaded last among the join’s checks: a join another module refuses reads none', async (f) => {
      const room = await newRoom(f, 'Refused');
      const carol = f.open('carol');
      const [r] = await f.core.join(carol, [room]);
      assert.deepEqual(r?.ok === false && [r.code, r.message], ['NOT_A_MEMBER', REFUSED]);
      assert.equal(readsOf(room), 0, 'nothing read for a refused join');
      const alice = f.open('alice');
      assert.deepEqual(await join(f, alice, room), []);
      assert.equal(readsOf(room), 1);
      close(f, carol, alice);
    });

    test('a message arriving while a join’s read is in flight is not lost: the list another join cached and the message was added to is kept', async (f) => {
      const room = await newRoom(f, 'In flight');
      await f.store.messages.append([newMessage(room, 'old')]);
      let release = () => {};
      hold = new Promise<void>((r) => {
        release = r;
      });
      const held = new Promise<void>((r) => {
        onHeld = r;
      });
      const alice = f.open('alice');
      const slow = f.core.join(alice, [room]);
      try {
        // alice's read has read the store and waits; bob's join reads and caches the room meanwhile
        await held;
        const bob = f.open('bob');
        assert.deepEqual(await join(f, bob, room), ['old']);
        await f.core.post(bob, room, { text: 'while alice waited' });
      } finally {
        release();
        onHeld = undefined;
      }
      assert.deepEqual(texts((await slow)[0]), ['old', 'while alice waited'], 'the older read does not replace it');
      assert.equal(readsOf(room), 2, 'both joins read: neither found the room cached');
      const alice2 = f.open('alice');
      assert.deepEqual(await join(f, alice2, room), ['old', 'while alice waited'], 'and it stays cached');
      assert.equal(readsOf(room), 2);
      close(f, alice, alice2);
      for (const s of f.core.sessionsOf(uri('bob'))) f.core.closeSession(s);
    });
  });
}
