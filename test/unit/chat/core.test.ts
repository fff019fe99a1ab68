// The chat core alone (no feature module): the post pipeline, veto and notify events, the committing hook,
// batch failures, and text that no store may get. On SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChatEvents } from '../../../src/chat/events.js';
import { PchatError } from '../../../src/core/errors.js';
import { engineUnavailable } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES, uri } from './fixture.js';

for (const engine of ENGINES) {
  describe(`chat core (${engine})`, () => {
    let fx: ChatFixture | undefined;
    const order: string[] = [];
    const posted: ChatEvents['posted'][] = [];
    const committed: { texts: string[]; hadTx: boolean }[] = [];

    before(async () => {
      fx = await chatFixture(engine, (core) => {
        core.events.on('post.before', () => void order.push('normal'), { priority: 0 });
        core.events.on('post.before', () => void order.push('first'), { priority: 10 });
        core.events.on('post.before', (ev) => {
          if (ev.input.text === 'veto me') throw new PchatError('NOT_A_MEMBER', 'refused by a module');
        });
        core.events.on('committing', async ({ items, tx }) => {
          committed.push({ texts: items.map((i) => i.message.text), hadTx: typeof tx.prefs.set === 'function' });
          for (const i of items) {
            // a recorder writes its own rows in the same transaction
            await tx.prefs.set(i.who.user, `rec.${i.message.text}`, i.message.text);
            if (i.message.text === 'poison') throw new Error('recorder refuses poison');
          }
        });
        core.events.on('posted', (p) => void posted.push(p));
      });
    });
    after(async () => fx?.close());

    test('veto handlers run highest priority first, and one that throws refuses the post', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const alice = fx.open('alice');
      order.length = 0;
      await fx.core.post(alice, fx.rooms.general, { text: 'hello' });
      assert.deepEqual(order, ['first', 'normal']);
      const before = await fx.store.messages.latestId();
      await assert.rejects(fx.core.post(alice, fx.rooms.general, { text: 'veto me' }), { code: 'NOT_A_MEMBER' });
      assert.equal(await fx.store.messages.latestId(), before, 'a vetoed post stores nothing');
      fx.core.closeSession(alice);
    });

    test('posted carries who, which room, which message, when and the door', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const bob = fx.open('bob');
      posted.length = 0;
      const m = await fx.core.post(bob, fx.rooms.general, { text: 'for the record', kind: 'alert' });
      assert.equal(posted.length, 1);
      const p = posted[0] as ChatEvents['posted'];
      assert.deepEqual(
        { who: p.who, where: p.where, id: p.message.id, kind: p.message.kind, text: p.message.text },
        {
          who: { user: uri('bob'), displayName: 'Bob', door: 'ws', sessionId: bob.id },
          where: { id: fx.rooms.general, name: 'General' },
          id: m.id,
          kind: 'alert',
          text: 'for the record',
        },
      );
      assert.ok(Math.abs(p.at - Date.now()) < 5000);
      fx.core.closeSession(bob);
    });

    test('the committing hook writes in the same transaction; a batch it fails is retried message by message', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const alice = fx.open('alice');
      const bob = fx.open('bob');
      committed.length = 0;
      fx.logs.length = 0;
      // three posts in one turn: one batch
      const results = await Promise.allSettled([
        fx.core.post(alice, fx.rooms.general, { text: 'one' }),
        fx.core.post(bob, fx.rooms.general, { text: 'poison' }),
        fx.core.post(alice, fx.rooms.general, { text: 'three' }),
      ]);
      assert.deepEqual(committed[0]?.texts, ['one', 'poison', 'three'], 'one batch first');
      assert.equal(committed[0]?.hadTx, true);
      assert.equal(results[0]?.status, 'fulfilled');
      assert.equal(results[2]?.status, 'fulfilled');
      assert.equal(results[1]?.status, 'rejected');
      assert.equal((results[1] as PromiseRejectedResult).reason.code, 'STORE_UNAVAILABLE');
      const page = await fx.store.messages.before(fx.rooms.general, 3);
      assert.deepEqual(
        page.map((m) => m.text),
        ['for the record', 'one', 'three'],
        'only the poisoned message failed',
      );
      // the recorder's rows committed with the messages; the failed one's row was rolled back with it
      assert.equal(await fx.store.prefs.get(uri('alice'), 'rec.one'), 'one');
      assert.equal(await fx.store.prefs.get(uri('alice'), 'rec.three'), 'three');
      assert.equal(await fx.store.prefs.get(uri('bob'), 'rec.poison'), undefined);
      const errors = fx.logs.filter((l) => l.level === 'error');
      assert.ok(
        errors.some(
          (l) =>
            l.msg === 'store commit failed' && String((l.fields?.err as Error | undefined)?.message).includes('poison'),
        ),
      );
      assert.ok(errors.some((l) => l.msg === 'store commit of one message failed'));
      fx.core.closeSession(alice);
      fx.core.closeSession(bob);
    });

    test('U+0000 and unpaired surrogates are refused with INVALID_VALUE; the other posts of the turn commit', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const alice = fx.open('alice');
      const bob = fx.open('bob');
      const bad = ['a\u0000b', '\u0000', 'x\uD800', '\uDC00y', 'ok\uDBFF\uDBFF'];
      for (const text of bad) {
        await assert.rejects(fx.core.post(alice, fx.rooms.general, { text }), { code: 'INVALID_VALUE', field: 'text' });
      }
      await assert.rejects(fx.core.post(alice, fx.rooms.general, { kind: 'story', title: 't\u0000', text: 'body' }), {
        code: 'INVALID_VALUE',
        field: 'title',
      });
      await assert.rejects(fx.core.post(alice, fx.rooms.general, { text: 'plain', rich: '<b>\u0000</b>' }), {
        code: 'INVALID_VALUE',
        field: 'rich',
      });
      const [a, b] = await Promise.allSettled([
        fx.core.post(alice, fx.rooms.general, { text: 'before \u0000 NUL' }),
        fx.core.post(bob, fx.rooms.general, { text: 'emoji 😀 fine' }),
      ]);
      assert.equal(a?.status, 'rejected');
      assert.equal(b?.status, 'fulfilled');
      const last = await fx.store.messages.before(fx.rooms.general, 1);
      assert.equal(last[0]?.text, 'emoji 😀 fine');
      fx.core.closeSession(alice);
      fx.core.closeSession(bob);
    });

    test('a message the store itself refuses fails alone, and the cause is logged', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const alice = fx.open('alice');
      fx.logs.length = 0;
      const item = (text: string) => ({
        who: fx?.core.who(alice) as ReturnType<ChatFixture['core']['who']>,
        where: fx?.core.where(fx.rooms.general) as ReturnType<ChatFixture['core']['where']>,
        message: {
          roomId: fx?.rooms.general as string,
          author: uri('alice'),
          ts: Date.now(),
          kind: 'regular' as const,
          text,
          title: null,
          rich: null,
          file: null,
          logged: true,
        },
      });
      // enqueue bypasses the edge check: PostgreSQL refuses U+0000 in text, SQLite keeps it
      const results = await Promise.allSettled([
        fx.core.enqueue(item('good one')),
        fx.core.enqueue(item('bad \u0000 one')),
        fx.core.enqueue(item('good two')),
      ]);
      assert.equal(results[0]?.status, 'fulfilled');
      assert.equal(results[2]?.status, 'fulfilled');
      const page = (await fx.store.messages.before(fx.rooms.general, 3)).map((m) => m.text);
      if (engine === 'postgres') {
        assert.equal(results[1]?.status, 'rejected');
        // the store maps PostgreSQL's data exception to the client's error (store/store-errors.ts)
        assert.equal((results[1] as PromiseRejectedResult).reason.code, 'INVALID_VALUE');
        assert.deepEqual(page.slice(1), ['good one', 'good two']);
        const logged = fx.logs.find((l) => l.msg === 'store commit failed');
        assert.ok(logged && logged.fields?.err instanceof Error, 'the cause is logged');
      } else {
        assert.deepEqual(page, ['good one', 'bad \u0000 one', 'good two']);
      }
      fx.core.closeSession(alice);
    });

    test('join veto refuses the join and leaves the room untouched', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const off = fx.core.events.on('join.before', (ev) => {
        if (ev.who.user === uri('bob')) throw new PchatError('ROOM_DISABLED');
      });
      const bob = fx.open('bob');
      const [r] = await fx.core.join(bob, [fx.rooms.general]);
      assert.equal(r?.ok, false);
      assert.equal(r?.ok === false && r.code, 'ROOM_DISABLED');
      assert.equal(bob.rooms.size, 0);
      assert.deepEqual(fx.core.participants(fx.rooms.general), []);
      off();
      const [r2] = await fx.core.join(bob, [fx.rooms.general]);
      assert.equal(r2?.ok, true);
      fx.core.closeSession(bob);
    });
  });
}

for (const engine of ENGINES) {
  describe(`chat core group commit (${engine})`, () => {
    let fx: ChatFixture | undefined;
    const batches: string[][] = [];
    let release: () => void = () => {};
    let held: Promise<void> = Promise.resolve();

    before(async () => {
      fx = await chatFixture(engine, (core) => {
        core.events.on('committing', async ({ items }) => {
          batches.push(items.map((i) => i.message.text));
          if (items.some((i) => i.message.text === 'slow commit')) await held;
        });
      });
    });
    after(async () => fx?.close());

    test('posts queued while a commit is in flight go in one batch after it, in the order they came', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const alice = fx.open('alice');
      const bob = fx.open('bob');
      held = new Promise((r) => {
        release = r;
      });
      batches.length = 0;
      const first = fx.core.post(alice, fx.rooms.general, { text: 'slow commit' });
      const rest: Promise<unknown>[] = [];
      // each post in its own event-loop turn, all while the first commit waits
      for (const [i, who] of [alice, bob, alice, bob].entries()) {
        await new Promise((r) => setImmediate(r));
        rest.push(fx.core.post(who, fx.rooms.general, { text: `queued ${i}` }));
      }
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(batches, [['slow commit']], 'nothing else starts to commit while one is in flight');
      release();
      await first;
      const stored = await Promise.all(rest);
      assert.deepEqual(batches, [['slow commit'], ['queued 0', 'queued 1', 'queued 2', 'queued 3']]);
      const ids = stored.map((m) => (m as { id: number }).id);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'ids follow the order of the posts',
      );
      fx.core.closeSession(alice);
      fx.core.closeSession(bob);
    });

    test('stop waits for the commit in flight and for what queued behind it', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const alice = fx.open('alice');
      held = new Promise((r) => {
        release = r;
      });
      batches.length = 0;
      const first = fx.core.post(alice, fx.rooms.general, { text: 'slow commit' });
      await new Promise((r) => setTimeout(r, 10));
      const second = fx.core.post(alice, fx.rooms.general, { text: 'behind it' });
      let stopped = false;
      const stopping = fx.core.stop().then(() => {
        stopped = true;
      });
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(stopped, false, 'stop waits for the commit in flight');
      release();
      await stopping;
      const [a, b] = await Promise.all([first, second]);
      assert.ok(a.id < b.id);
      assert.deepEqual(batches, [['slow commit'], ['behind it']]);
      fx.core.closeSession(alice);
    });
  });
}
