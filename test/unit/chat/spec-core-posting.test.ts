// The chat core's post pipeline as a client and an operator see it: what a post may carry (kinds, plain text,
// size limits of messages and stories on text and rich text, story titles) and what is stored of it; a message
// whose commit fails (the client gets STORE_UNAVAILABLE or the refusal's own error, the cause is logged with its
// room and author); stop waiting for everything queued; the timings reported for metrics (store commit time and
// batch size, fan-out time and deliveries; a sink may implement only some); an 'appended' handler alone taking
// part in the commit; and fan-out in slices for rooms with more sessions than ChatCoreOptions.fanoutSlice.
// On SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Session } from '../../../src/chat/types.js';
import { PchatError } from '../../../src/core/errors.js';
import { engineUnavailable } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES } from './fixture.js';

const MESSAGE_LIMIT = 20;
const STORY_LIMIT = 40;
const chars = (n: number, c = 'x') => c.repeat(n);

for (const engine of ENGINES) {
  describe(`chat core posting (${engine})`, () => {
    let fx: ChatFixture | undefined;
    const commits: { ms: number; messages: number }[] = [];
    const fanouts: { ms: number; deliveries: number }[] = [];
    let posted = 0;
    let held: Promise<void> = Promise.resolve();

    before(async () => {
      fx = await chatFixture(
        engine,
        (core) => {
          core.events.on('committing', async ({ items }) => {
            if (items.some((i) => i.message.text === 'slow commit')) await held;
            for (const i of items) {
              if (i.message.text === 'lone poison') throw new Error('recorder is down');
              if (i.message.text === 'refused poison') throw new PchatError('STORAGE_FULL');
            }
          });
        },
        {
          observe: {
            storeCommit: (ms, messages) => void commits.push({ ms, messages }),
            fanout: (ms, deliveries) => void fanouts.push({ ms, deliveries }),
            posted: () => void posted++,
          },
        },
      );
      if (fx) {
        await fx.admin.setConfig({ messageSizeLimit: MESSAGE_LIMIT, storySizeLimit: STORY_LIMIT });
        await fx.core.model.poll();
      }
    });
    after(async () => fx?.close());

    test('what a post may carry: sizes against MessageSizeLimit / StorySizeLimit, story titles, rich text', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const alice = fx.open('alice');
      type Case = {
        what: string;
        input: Parameters<typeof core.post>[2];
        refused?: { code: string; field: string; message: RegExp };
      };
      const cases: Case[] = [
        {
          what: 'an unknown kind',
          input: { kind: 'bogus' as 'regular', text: 'hi' },
          refused: {
            code: 'INVALID_VALUE',
            field: 'kind',
            message: /kind: "bogus" is not one of regular, alert, story/,
          },
        },
        {
          what: 'a file message (only uploads make those)',
          input: { kind: 'file', text: 'hi' },
          refused: { code: 'INVALID_VALUE', field: 'kind', message: /"file" is not one of/ },
        },
        ...['', '  \n ', undefined].map((text) => ({
          what: `text ${JSON.stringify(text)}`,
          input: { text: text as string, rich: '<b>rich only</b>' },
          refused: { code: 'INVALID_VALUE', field: 'text', message: /text: a message needs plain text/ },
        })),
        { what: 'a message at the limit', input: { text: chars(MESSAGE_LIMIT) } },
        { what: 'the limit counts characters, not UTF-16 units', input: { text: chars(MESSAGE_LIMIT, '😀') } },
        {
          what: 'a message over the limit',
          input: { text: chars(MESSAGE_LIMIT + 1) },
          refused: { code: 'MESSAGE_TOO_LARGE', field: 'text', message: new RegExp(`at most ${MESSAGE_LIMIT} char`) },
        },
        {
          what: 'an alert over the message limit',
          input: { kind: 'alert', text: chars(MESSAGE_LIMIT + 1) },
          refused: { code: 'MESSAGE_TOO_LARGE', field: 'text', message: /text: at most/ },
        },
        { what: 'a story at its limit', input: { kind: 'story', title: 'T', text: chars(STORY_LIMIT) } },
        {
          what: 'a story over its limit',
          input: { kind: 'story', title: 'T', text: chars(STORY_LIMIT + 1) },
          refused: { code: 'STORY_TOO_LARGE', field: 'text', message: new RegExp(`at most ${STORY_LIMIT} char`) },
        },
        {
          what: 'a story without a title',
          input: { kind: 'story', text: 'b' },
          refused: { code: 'INVALID_VALUE', field: 'title', message: /title: a story needs a title/ },
        },
        {
          what: 'a story with a blank title',
          input: { kind: 'story', title: '   ', text: 'b' },
          refused: { code: 'INVALID_VALUE', field: 'title', message: /a story needs a title/ },
        },
        {
          what: 'a story longer than the message limit, within its own',
          input: { kind: 'story', title: 'T', text: chars(MESSAGE_LIMIT + 1) },
        },
        { what: 'a story title of 256 characters', input: { kind: 'story', title: chars(256, '😀'), text: 'b' } },
        {
          what: 'a story title of 257 characters',
          input: { kind: 'story', title: chars(257), text: 'b' },
          refused: { code: 'INVALID_VALUE', field: 'title', message: /title: at most 256 characters/ },
        },
        {
          what: 'a title on a regular message',
          input: { text: 'hi', title: 'Headline' },
          refused: { code: 'INVALID_VALUE', field: 'title', message: /title: only stories have a title/ },
        },
        {
          what: 'rich text that is not a string',
          input: { text: 'hi', rich: 42 as unknown as string },
          refused: { code: 'INVALID_VALUE', field: 'rich', message: /rich: must be a string/ },
        },
        { what: 'rich text of 8× the message limit', input: { text: 'hi', rich: chars(MESSAGE_LIMIT * 8) } },
        {
          what: 'rich text over 8× the message limit',
          input: { text: 'hi', rich: chars(MESSAGE_LIMIT * 8 + 1) },
          refused: { code: 'MESSAGE_TOO_LARGE', field: 'rich', message: /rich: too long/ },
        },
        {
          what: 'a story’s rich text of 8× the story limit',
          input: { kind: 'story', title: 'T', text: 'b', rich: chars(STORY_LIMIT * 8) },
        },
        {
          what: 'a story’s rich text over 8× the story limit',
          input: { kind: 'story', title: 'T', text: 'b', rich: chars(STORY_LIMIT * 8 + 1) },
          refused: { code: 'STORY_TOO_LARGE', field: 'rich', message: /rich: too long/ },
        },
      ];
      for (const c of cases) {
        const before = await fx.store.messages.latestId();
        if (c.refused) {
          await assert.rejects(core.post(alice, rooms.general, c.input), c.refused, c.what);
          assert.equal(await fx.store.messages.latestId(), before, `${c.what}: nothing stored`);
        } else {
          const m = await core.post(alice, rooms.general, c.input);
          assert.equal(m.text, c.input.text, c.what);
          assert.ok(m.id > before, c.what);
        }
      }
      core.closeSession(alice);
    });

    test('what is stored: rich text as given, a title only on stories, file links to the download', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const alice = fx.open('alice');
      const cases: { input: Parameters<typeof core.post>[2]; title: string | null; rich: string | null }[] = [
        { input: { text: 'plain' }, title: null, rich: null },
        { input: { text: 'bold', rich: '<b>bold</b>' }, title: null, rich: '<b>bold</b>' },
        { input: { text: 'empty title', title: '' }, title: null, rich: null },
        { input: { text: 'null rich', rich: null }, title: null, rich: null },
        {
          input: { kind: 'story', title: 'News', text: 'body', rich: '<i>body</i>' },
          title: 'News',
          rich: '<i>body</i>',
        },
      ];
      for (const c of cases) {
        const m = await core.post(alice, rooms.general, c.input);
        const [stored] = await fx.store.messages.after(rooms.general, m.id - 1, 1);
        assert.deepEqual([m.title, m.rich], [c.title, c.rich], c.input.text);
        assert.deepEqual([stored?.title, stored?.rich], [c.title, c.rich], `${c.input.text}: stored`);
      }
      core.closeSession(alice);
      const [upload] = await fx.store.messages.append([
        {
          roomId: rooms.general,
          author: 'sip:alice@contoso.com',
          ts: 1,
          kind: 'file',
          text: 'report.pdf',
          title: null,
          rich: null,
          file: { id: 'f 1/2', name: 'report.pdf', size: 3, contentType: 'application/pdf' },
          logged: true,
        },
      ]);
      assert.ok(upload);
      assert.deepEqual(core.messageView(upload).file, {
        id: 'f 1/2',
        name: 'report.pdf',
        size: 3,
        contentType: 'application/pdf',
        url: '/api/files/f%201%2F2',
      });
    });

    test('in a failing batch, each message that fails on its own is logged with its room and author', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const alice = fx.open('alice');
      fx.logs.length = 0;
      const results = await Promise.allSettled([
        core.post(alice, rooms.general, { text: 'fine' }),
        core.post(alice, rooms.audit, { text: 'lone poison' }),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected'],
      );
      const one = fx.logs.filter((l) => l.msg === 'store commit of one message failed');
      assert.deepEqual(
        one.map((l) => [l.fields?.room, l.fields?.author, (l.fields?.err as Error | undefined)?.message]),
        [[rooms.audit, alice.user, 'recorder is down']],
      );
      core.closeSession(alice);
    });

    test('a lone message whose commit fails is refused (the refusal’s own error, else STORE_UNAVAILABLE), and logged', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const alice = fx.open('alice');
      const cases: { text: string; code: string; cause: RegExp }[] = [
        { text: 'lone poison', code: 'STORE_UNAVAILABLE', cause: /recorder is down/ },
        { text: 'refused poison', code: 'STORAGE_FULL', cause: /out of storage space/ },
      ];
      for (const c of cases) {
        fx.logs.length = 0;
        const before = await fx.store.messages.latestId();
        await assert.rejects(core.post(alice, rooms.general, { text: c.text }), { code: c.code });
        assert.equal(await fx.store.messages.latestId(), before, `${c.text}: nothing stored`);
        assert.deepEqual(
          fx.logs.map((l) => [l.level, l.msg, l.fields?.messages]),
          [['error', 'store commit failed', 1]],
          `${c.text}: one failure logged, no retry of a batch of one`,
        );
        assert.match(String((fx.logs[0]?.fields?.err as Error | undefined)?.message), c.cause);
      }
      const ok = await core.post(alice, rooms.general, { text: 'still fine' });
      assert.equal(ok.text, 'still fine');
      core.closeSession(alice);
    });

    test('metrics: the commit’s duration and size, the fan-out’s duration and deliveries, one count per post', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const alice = fx.open('alice');
      const bob = fx.open('bob');
      const carol = fx.open('carol');
      await core.join(alice, [rooms.general]);
      await core.join(bob, [rooms.general]);
      await core.join(carol, [rooms.audit]);
      // counts are per batch: what earlier batches delivered is not counted again
      await core.post(alice, rooms.general, { text: 'warm-up' });
      commits.length = 0;
      fanouts.length = 0;
      posted = 0;
      const t0 = performance.now();
      // one turn: one batch of three, two in General (two sessions each) and one in the auditorium (one session)
      await Promise.all([
        core.post(alice, rooms.general, { text: 'one' }),
        core.post(bob, rooms.general, { text: 'two' }),
        core.post(alice, rooms.audit, { text: 'three' }),
      ]);
      const elapsed = performance.now() - t0;
      assert.deepEqual(
        commits.map((c) => c.messages),
        [3],
      );
      assert.deepEqual(
        fanouts.map((f) => f.deliveries),
        [2 + 2 + 1],
      );
      for (const ms of [commits[0]?.ms, fanouts[0]?.ms]) {
        assert.ok(typeof ms === 'number' && ms >= 0 && ms <= elapsed, `a duration within the post (${ms} ms)`);
      }
      assert.equal(posted, 3);
      for (const s of [alice, bob, carol]) core.closeSession(s);
    });

    // last: it stops the core
    test('stop waits until everything queued is committed and acknowledged', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const alice = fx.open('alice');
      let release: () => void = () => {};
      held = new Promise((r) => {
        release = r;
      });
      const acked: string[] = [];
      const post = (text: string) => core.post(alice, rooms.general, { text }).then(() => void acked.push(text));
      const first = post('slow commit');
      await new Promise((r) => setTimeout(r, 10));
      const second = post('queued behind it');
      let stopped = false;
      const stopping = core.stop().then(() => {
        stopped = true;
        return [...acked];
      });
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(stopped, false, 'the commit in flight is waited for');
      release();
      assert.deepEqual(await stopping, ['slow commit', 'queued behind it'], 'both acknowledged before stop ends');
      await Promise.all([first, second]);
      core.closeSession(alice);
    });
  });
}

for (const engine of ENGINES) {
  describe(`chat core fan-out in slices (${engine})`, () => {
    const SLICE = 2;
    let fx: ChatFixture | undefined;
    const fanouts: number[] = [];
    before(async () => {
      fx = await chatFixture(engine, () => {}, {
        fanoutSlice: SLICE,
        observe: { fanout: (_ms, deliveries) => void fanouts.push(deliveries) },
      });
    });
    after(async () => fx?.close());

    const turn = () => new Promise((r) => setImmediate(r));

    test('a room with more sessions than the slice gets each event a slice per turn, in order, oldest first', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const f = fx;
      const sessions: Session[] = ['alice', 'bob', 'alice', 'bob', 'alice'].map((u) => f.open(u));
      for (const s of sessions) await core.join(s, [rooms.general]);
      const texts = (s: Session) => f.got(s).flatMap((e) => (e.type === 'message' ? [e.message.text] : []));
      const delivered = () => sessions.reduce((n, s) => n + texts(s).length, 0);
      fanouts.length = 0;
      // one batch of two messages: ten deliveries
      await Promise.all([
        core.post(sessions[0] as Session, rooms.general, { text: 'm1' }),
        core.post(sessions[1] as Session, rooms.general, { text: 'm2' }),
      ]);
      const perTurn = [delivered()];
      while (delivered() < 10 && perTurn.length < 20) {
        await turn();
        perTurn.push(delivered());
      }
      assert.deepEqual(perTurn, [0, 2, 4, 6, 8, 10], 'two deliveries a turn, across the two events');
      for (const s of sessions) assert.deepEqual(texts(s), ['m1', 'm2']);
      assert.deepEqual(fanouts, [10], 'the deliveries counted when the events are queued');
      for (const s of sessions) core.closeSession(s);
    });

    test('a session that leaves before its slice does not get the event; a room at the slice size gets it at once', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const f = fx;
      const [b0, b1, b2] = ['alice', 'bob', 'alice'].map((u) => f.open(u)) as [Session, Session, Session];
      const [s0, s1] = ['alice', 'carol'].map((u) => f.open(u)) as [Session, Session];
      const big = [b0, b1, b2];
      const small = [s0, s1];
      for (const s of big) await core.join(s, [rooms.general]);
      for (const s of small) await core.join(s, [rooms.audit]);
      const count = (s: Session) => f.got(s).filter((e) => e.type === 'message').length;
      await core.post(b0, rooms.general, { text: 'for the big room' });
      core.closeSession(b2);
      await core.post(s0, rooms.audit, { text: 'for the small room' });
      assert.deepEqual(small.map(count), [1, 1], 'at the slice size: delivered in the same turn');
      for (let i = 0; i < 5; i++) await turn();
      assert.deepEqual(big.map(count), [1, 1, 0]);
      for (const s of [...big, ...small]) core.closeSession(s);
    });

    test('an event for a room still delivering earlier ones queues behind them, even once the room is small', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const f = fx;
      const sessions = ['alice', 'bob', 'alice', 'bob', 'alice'].map((u) => f.open(u));
      for (const s of sessions) await core.join(s, [rooms.general]);
      const lr = core.liveRoom(rooms.general);
      assert.ok(lr);
      const notice = (user: string) => ({ type: 'part' as const, roomId: rooms.general, user });
      assert.equal(core.emitRoom(lr, notice('first')), 5);
      for (const s of sessions.slice(0, 3)) core.closeSession(s);
      assert.equal(core.emitRoom(lr, notice('second')), 2, 'two sessions left: at the slice size');
      for (let i = 0; i < 5; i++) await turn();
      for (const s of sessions.slice(3)) {
        assert.deepEqual(
          f.got(s).flatMap((e) => (e.type === 'part' ? [e.user] : [])),
          ['first', 'second'],
        );
      }
      for (const s of sessions.slice(3)) core.closeSession(s);
    });
  });
}

for (const engine of ENGINES) {
  describe(`chat core with only an 'appended' handler and partial metrics (${engine})`, () => {
    let fx: ChatFixture | undefined;
    const appended: { texts: string[]; ids: number[]; inTx: boolean }[] = [];
    before(async () => {
      fx = await chatFixture(
        engine,
        (core) => {
          core.events.on('appended', async ({ items, stored, tx }) => {
            appended.push({
              texts: items.map((i) => i.message.text),
              ids: stored.map((m) => m.id),
              inTx: typeof tx.prefs.set === 'function',
            });
            await tx.prefs.set(items[0]?.who.user ?? '', 'appended.last', String(stored.at(-1)?.id));
          });
        },
        // a metrics sink that implements only some of the callbacks
        { observe: { storeCommit: () => {} } },
      );
    });
    after(async () => fx?.close());

    test('the appended handler sees the stored ids inside the commit, and posting works with partial metrics', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { core, rooms } = fx;
      const alice = fx.open('alice');
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the post was never acknowledged')), 5000).unref(),
      );
      const [a, b] = await Promise.race([
        Promise.all([
          core.post(alice, rooms.general, { text: 'one' }),
          core.post(alice, rooms.general, { text: 'two' }),
        ]),
        timeout,
      ]);
      assert.deepEqual(appended, [{ texts: ['one', 'two'], ids: [a.id, b.id], inTx: true }]);
      assert.equal(await fx.store.prefs.get(alice.user, 'appended.last'), String(b.id));
      core.closeSession(alice);
    });
  });
}
