// The compliance recorder as a chat module (compliance-recorder.ts), over every pair of stores it can sit on:
// the chat store and the compliance store each SQLite or PostgreSQL.
// - Where a post's record is written: in the batch's own transaction only when BOTH stores are PostgreSQL
//   (committed at once, with the message id, rolled back with the batch); with any SQLite side, pending before
//   the batch commits and confirmed once it committed, every post of a batch in one confirmation, each with the
//   id its message got, each exactly once.
// - What a post is recorded as: an upload (FILEUPLOAD, content = the file's name, data = the file's id, size,
//   type and the message text) only when its kind is 'file' AND it carries a file; anything else is CHAT with
//   the text as content and no file in its data.
// - A history view's record carries firstId/lastId only when the view returned messages.
// - A failure of the compliance store fails the action and is logged naming the module 'compliance'; every
//   handler of the recorder is registered under that module name.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { Backchat } from '../../../src/chat/backchat.js';
import { registerComplianceRecorder } from '../../../src/chat/compliance-recorder.js';
import type { ChatEventName } from '../../../src/chat/events.js';
import { Files } from '../../../src/chat/files.js';
import { MessageSearch } from '../../../src/chat/search.js';
import type { MessageView, Session } from '../../../src/chat/types.js';
import { parseComplianceConfig } from '../../../src/compliance/config.js';
import { ComplianceRecorder } from '../../../src/compliance/recorder.js';
import { ComplianceStore, type EventState } from '../../../src/compliance/store.js';
import type { ComplianceEvent, NewComplianceEvent } from '../../../src/compliance/types.js';
import { FileStore } from '../../../src/files/file-store.js';
import type { FileRef } from '../../../src/store/port.js';
import { PG_BASE_URL } from '../../support/pg.js';
import { engineUnavailable } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, type Engine, registrations, until, uri } from './fixture.js';

type Recorded = ComplianceEvent & { state: EventState; batch: number | null };

/** Is PostgreSQL there? Outside CI an unreachable server skips the pair; under CI it fails (as pg.ts does). */
async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_BASE_URL });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.end();
    return true;
  } catch (e) {
    if (process.env.CI) throw new Error(`CI requires PostgreSQL at ${PG_BASE_URL}: ${(e as Error).message}`);
    return false;
  }
}

const STORE_DOWN = 'the compliance store is down';
const REFUSED_IN_APPEND = 'this post is refused after its batch was appended';

const PAIRS: { chat: Engine; compliance: Engine }[] = [
  { chat: 'sqlite', compliance: 'sqlite' },
  { chat: 'sqlite', compliance: 'postgres' },
  { chat: 'postgres', compliance: 'sqlite' },
  { chat: 'postgres', compliance: 'postgres' },
];

for (const pair of PAIRS) {
  /** Both stores on PostgreSQL: the records are written through the chat transaction. */
  const sameTx = pair.chat === 'postgres' && pair.compliance === 'postgres';
  const usesPg = pair.chat === 'postgres' || pair.compliance === 'postgres';
  describe(`compliance recorder: chat store ${pair.chat}, compliance store ${pair.compliance}`, () => {
    const compDir = mkdtempSync(join(tmpdir(), 'pchat-speccomp-'));
    const compSchema = `c_${randomBytes(6).toString('hex')}`;
    let fx: ChatFixture | undefined;
    let compliance: ComplianceStore;
    let backchat: Backchat;
    let search: MessageSearch;
    let files: Files;
    /** Every confirmation the recorder asked the compliance store for, from its start. */
    const confirms: { id: number; messageId: number | null }[][] = [];
    /** Every batch of events the recorder handed the compliance store, from its start. */
    const handed: NewComplianceEvent[][] = [];
    /** While set, the compliance store refuses every write. */
    let storeDown = false;
    /** The handlers the recorder registered: event name and options. */
    const registered: [ChatEventName, unknown][] = [];

    const since = async (mark: number): Promise<Recorded[]> => compliance.list(mark);
    const lastId = async () => (await compliance.list(0, 100_000)).at(-1)?.id ?? 0;

    before(async () => {
      if (usesPg && !(await pgReachable())) return;
      fx = await chatFixture(pair.chat, async (core) => {
        compliance = await ComplianceStore.open(
          {
            db: pair.compliance === 'postgres' ? PG_BASE_URL : undefined,
            dataDir: compDir,
            pgSchema: compSchema,
          },
          { shareWith: core.store },
        );
        const record = compliance.record.bind(compliance);
        compliance.record = async (events, opts) => {
          handed.push(events);
          if (storeDown) throw new Error(STORE_DOWN);
          return record(events, opts);
        };
        const confirm = compliance.confirm.bind(compliance);
        compliance.confirm = async (pairs) => {
          confirms.push(pairs.map((p) => ({ ...p })));
          return confirm(pairs);
        };
        const recorder = new ComplianceRecorder(compliance, { cacheMs: 0 });
        for (const r of await registrations(core, () => registerComplianceRecorder(core, recorder)))
          registered.push([r.event, r.opts]);
        backchat = new Backchat(core).register();
        search = new MessageSearch(core);
        files = new Files(core, new FileStore(join(compDir, 'files')));
        // a module after the recorder that refuses one post once its batch is appended (ids known)
        core.events.on('appended', ({ items }) => {
          if (items.some((i) => i.message.text === REFUSED_IN_APPEND)) throw new Error('refused after append');
        });
      });
      if (fx) await compliance.putConfig(parseComplianceConfig({ enabled: true }));
    });
    after(async () => {
      if (fx) {
        await compliance.close();
        await fx.close();
        if (pair.compliance === 'postgres') {
          const c = new pg.Client({ connectionString: PG_BASE_URL });
          c.on('error', () => {});
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS ${compSchema} CASCADE`);
          await c.end();
        }
      }
      rmSync(compDir, { recursive: true, force: true });
    });

    const fixtureTest = (title: string, fn: (f: ChatFixture) => Promise<void>) =>
      test(title, async (t) => {
        if (!fx) return engineUnavailable(t, usesPg ? 'postgres' : pair.chat);
        await fn(fx);
      });

    // first in the file: the confirmations asked for since the recorder started are exactly this test's
    fixtureTest(
      sameTx
        ? 'both stores on PostgreSQL: each post is recorded committed with its message id in the batch itself, and nothing is ever confirmed'
        : 'a SQLite side: the posts of a batch are recorded pending (no message id) before it commits, then confirmed in one call, each once, with the id its message got',
      async (f) => {
        const mark = await lastId();
        const alice = f.open('alice');
        const bob = f.open('bob');
        const batch = await Promise.all([
          f.core.post(alice, f.rooms.general, { text: 'first of the batch' }),
          f.core.post(bob, f.rooms.general, { text: 'second of the batch' }),
          f.core.post(alice, f.rooms.general, { text: 'third of the batch' }),
        ]);
        const atAck = await since(mark);
        assert.deepEqual(
          atAck.map((e) => [e.content, e.state, e.messageId]),
          batch.map((m) => (sameTx ? [m.text, 'committed', m.id] : [m.text, 'pending', null])),
          'the records as they are when the posts are acknowledged',
        );
        await until(async () => (await since(mark)).every((e) => e.state === 'committed'), 'the batch confirmed');
        const lone = await f.core.post(bob, f.rooms.general, { text: 'a post on its own' });
        await until(async () => (await since(mark)).every((e) => e.state === 'committed'), 'the lone post confirmed');
        // one more turn of the event loop for any confirmation still scheduled
        await new Promise((r) => setTimeout(r, 20));
        const evs = await since(mark);
        assert.deepEqual(
          evs.map((e) => [e.content, e.state, e.messageId]),
          [...batch, lone].map((m) => [m.text, 'committed', m.id]),
        );
        assert.deepEqual(
          confirms,
          sameTx
            ? []
            : [
                batch.map((m, k) => ({ id: (evs[k] as Recorded).id, messageId: m.id })),
                [{ id: (evs[3] as Recorded).id, messageId: lone.id }],
              ],
          'the confirmations asked of the compliance store',
        );
        f.core.closeSession(alice);
        f.core.closeSession(bob);
      },
    );

    fixtureTest('a post made while recording is off is neither recorded nor confirmed', async (f) => {
      await compliance.putConfig(parseComplianceConfig({ enabled: false }));
      const before = confirms.length;
      try {
        const mark = await lastId();
        const m = await f.core.post(f.open('alice'), f.rooms.general, { text: 'said while not recording' });
        await new Promise((r) => setTimeout(r, 20));
        assert.ok(m.id > 0);
        assert.deepEqual(await since(mark), []);
        assert.deepEqual(confirms.slice(before), [], 'no confirmation asked');
      } finally {
        await compliance.putConfig(parseComplianceConfig({ enabled: true }));
      }
    });

    fixtureTest(
      sameTx
        ? 'a batch refused after its messages were appended takes its records with it: the retried post is recorded once, the refused one never'
        : "a batch refused after its messages were appended: the retried post's pending record is confirmed once, the refused post's stays pending",
      async (f) => {
        const mark = await lastId();
        const confirmedBefore = confirms.length;
        const alice = f.open('alice');
        const [good, bad] = await Promise.allSettled([
          f.core.post(alice, f.rooms.general, { text: 'a post beside a refused one' }),
          f.core.post(alice, f.rooms.general, { text: REFUSED_IN_APPEND }),
        ]);
        assert.equal(good.status, 'fulfilled');
        assert.equal(bad.status, 'rejected');
        assert.ok(
          f.logs.some((l) => l.msg === 'store commit failed' && l.fields?.messages === 2),
          'both posts were in one batch that failed',
        );
        const m = (good as PromiseFulfilledResult<MessageView>).value;
        await until(
          async () => (await since(mark)).some((e) => e.messageId === m.id && e.state === 'committed'),
          'the good post recorded',
        );
        await new Promise((r) => setTimeout(r, 20));
        const evs = await since(mark);
        assert.deepEqual(
          evs.map((e) => [e.content, e.state, e.messageId]),
          sameTx
            ? [['a post beside a refused one', 'committed', m.id]]
            : [
                ['a post beside a refused one', 'committed', m.id],
                [REFUSED_IN_APPEND, 'pending', null],
              ],
        );
        assert.deepEqual(
          confirms.slice(confirmedBefore),
          sameTx ? [] : [[{ id: (evs[0] as Recorded).id, messageId: m.id }]],
        );
        f.core.closeSession(alice);
      },
    );

    fixtureTest(
      'a post that takes the id of a refused one while recording is off is not recorded, and the refused post stays unconfirmed',
      async (f) => {
        const mark = await lastId();
        const alice = f.open('alice');
        const [, bad] = await Promise.allSettled([
          f.core.post(alice, f.rooms.general, { text: 'recorded beside a refused post' }),
          f.core.post(alice, f.rooms.general, { text: REFUSED_IN_APPEND }),
        ]);
        assert.equal(bad.status, 'rejected');
        await until(
          async () =>
            (await since(mark)).some((e) => e.content === 'recorded beside a refused post' && e.state === 'committed'),
          'the good post recorded',
        );
        await compliance.putConfig(parseComplianceConfig({ enabled: false }));
        let quiet: MessageView;
        try {
          // on SQLite this takes the id the refused batch had given the refused post
          quiet = await f.core.post(alice, f.rooms.general, { text: 'said while not recording' });
          await new Promise((r) => setTimeout(r, 20));
        } finally {
          await compliance.putConfig(parseComplianceConfig({ enabled: true }));
        }
        const evs = await since(mark);
        assert.ok(!evs.some((e) => e.messageId === quiet.id), 'nothing recorded names the unrecorded post');
        assert.deepEqual(
          evs.filter((e) => e.content === REFUSED_IN_APPEND).map((e) => [e.state, e.messageId]),
          sameTx ? [] : [['pending', null]],
          "the refused post's record",
        );
        f.core.closeSession(alice);
      },
    );

    fixtureTest(
      'a post is an upload only when its kind is file AND it carries a file: then content is the file name and data describes the file',
      async (f) => {
        const alice = f.open('alice');
        const file: FileRef = { id: 'f-0001', name: 'plan-v2.txt', size: 42, contentType: 'text/plain' };
        const cases: {
          what: string;
          kind: 'file' | 'regular';
          file: FileRef | null;
          text: string;
          type: 'FILEUPLOAD' | 'CHAT';
          content: string;
          data: Record<string, unknown>;
        }[] = [
          {
            what: 'a file message with its file (text other than the name)',
            kind: 'file',
            file,
            text: 'the plan, second draft',
            type: 'FILEUPLOAD',
            content: 'plan-v2.txt',
            data: {
              kind: 'file',
              logged: true,
              fileId: 'f-0001',
              size: 42,
              contentType: 'text/plain',
              text: 'the plan, second draft',
            },
          },
          {
            what: 'a file message without a file',
            kind: 'file',
            file: null,
            text: 'a file message that lost its file',
            type: 'CHAT',
            content: 'a file message that lost its file',
            data: { kind: 'file', logged: true },
          },
          {
            what: 'a regular message carrying a file',
            kind: 'regular',
            file,
            text: 'a regular message with a file attached',
            type: 'CHAT',
            content: 'a regular message with a file attached',
            data: { kind: 'regular', logged: true },
          },
        ];
        for (const c of cases) {
          const mark = await lastId();
          const m = await f.core.enqueue({
            who: f.core.who(alice),
            where: { id: f.rooms.general, name: 'General' },
            message: {
              roomId: f.rooms.general,
              author: uri('alice'),
              ts: Date.now(),
              kind: c.kind,
              text: c.text,
              title: null,
              rich: null,
              file: c.file,
              logged: true,
            },
          });
          await until(async () => (await since(mark))[0]?.state === 'committed', `${c.what} recorded`);
          const evs = await since(mark);
          assert.equal(evs.length, 1, c.what);
          const ev = evs[0] as Recorded;
          assert.deepEqual(
            [ev.type, ev.door, ev.roomId, ev.sender, ev.content, ev.messageId, ev.ts],
            [c.type, 'ws', f.rooms.general, uri('alice'), c.content, m.id, m.ts],
            c.what,
          );
          assert.deepEqual(ev.data, c.data, c.what);
        }
        f.core.closeSession(alice);
      },
    );

    fixtureTest(
      'a history view that returned messages names the first and last ids; one that returned none has no such keys at all',
      async (f) => {
        const alice = f.open('alice');
        const a = await f.core.post(alice, f.rooms.general, { text: 'history one' });
        const b = await f.core.post(alice, f.rooms.general, { text: 'history two' });
        const cases: { query: { afterId: number; limit?: number }; ids: number[] }[] = [
          { query: { afterId: a.id - 1 }, ids: [a.id, b.id] },
          { query: { afterId: a.id - 1, limit: 1 }, ids: [a.id] },
          { query: { afterId: b.id }, ids: [] },
        ];
        for (const c of cases) {
          const from = handed.length;
          const page = await backchat.history(uri('bob'), f.rooms.general, c.query, 'ws');
          assert.deepEqual(
            page.map((m) => m.id),
            c.ids,
            JSON.stringify(c.query),
          );
          const views = handed.slice(from).flat();
          assert.equal(views.length, 1, 'one event handed to the compliance store');
          const ev = views[0] as NewComplianceEvent;
          assert.equal(ev.type, 'BACKCHAT');
          assert.deepEqual(
            ev.data,
            c.ids.length > 0
              ? { query: c.query, count: c.ids.length, firstId: c.ids[0], lastId: c.ids.at(-1) }
              : { query: c.query, count: 0 },
            JSON.stringify(c.query),
          );
          assert.deepEqual(
            Object.keys(ev.data ?? {}).sort(),
            c.ids.length > 0 ? ['count', 'firstId', 'lastId', 'query'] : ['count', 'query'],
          );
        }
        f.core.closeSession(alice);
      },
    );

    fixtureTest(
      "a failing compliance store fails the action and is logged as 'chat event handler failed' of the module 'compliance', naming the event",
      async (f) => {
        const alice = f.open('alice');
        const up = await files.upload(alice, {
          roomId: f.rooms.general,
          name: 'evidence.txt',
          contentType: 'text/plain',
          body: Readable.from([Buffer.from('x')]),
        });
        const joined = f.open('carol');
        const [j] = await f.core.join(joined, [f.rooms.audit]);
        assert.ok(j?.ok);
        let open: Session | undefined;
        const cases: { event: ChatEventName; act: () => Promise<unknown> }[] = [
          {
            event: 'joined',
            act: async () => {
              open = f.open('bob');
              const [r] = await f.core.join(open, [f.rooms.general]);
              // the join fails as a whole (the core answers INTERNAL for an error that is not a PchatError)
              assert.deepEqual(r?.ok === false && [r.code], ['INTERNAL']);
            },
          },
          {
            event: 'parted',
            // a session that ends: the part is not awaited by anyone, so only the log tells
            act: async () => f.core.closeSession(open as Session),
          },
          {
            event: 'parted',
            act: () => assert.rejects(f.core.part(joined, f.rooms.audit), { message: STORE_DOWN }),
          },
          {
            event: 'history.viewed',
            act: () => assert.rejects(backchat.history(uri('bob'), f.rooms.general, {}, 'ws'), { message: STORE_DOWN }),
          },
          {
            event: 'searched',
            act: () => assert.rejects(search.search(uri('bob'), { text: 'evidence' }), { message: STORE_DOWN }),
          },
          {
            event: 'downloaded',
            act: () => assert.rejects(files.download(uri('bob'), up.file?.id as string), { message: STORE_DOWN }),
          },
        ];
        storeDown = true;
        try {
          for (const c of cases) {
            const from = f.logs.length;
            await c.act();
            await until(() => f.logs.length > from, `the log of ${c.event}`);
            const all = f.logs.slice(from);
            const got = all.filter((l) => l.msg === 'chat event handler failed');
            assert.equal(got.length, 1, c.event);
            // a join that fails on a fault is logged once more by the core, with its room and user
            assert.deepEqual(
              all.filter((l) => l !== got[0]).map((l) => [l.msg, l.fields?.user]),
              c.event === 'joined' ? [['join failed', uri('bob')]] : [],
              c.event,
            );
            assert.deepEqual(
              [got[0]?.level, got[0]?.msg, got[0]?.fields?.event, got[0]?.fields?.module],
              ['error', 'chat event handler failed', c.event, 'compliance'],
              c.event,
            );
            assert.equal((got[0]?.fields?.err as Error | undefined)?.message, STORE_DOWN);
          }
        } finally {
          storeDown = false;
        }
        f.core.closeSession(alice);
        f.core.closeSession(joined);
      },
    );

    fixtureTest(
      "the recorder registers one handler on each event it records, all under the module name 'compliance' at the default priority",
      async () => {
        assert.deepEqual(registered, [
          ['committing', { module: 'compliance' }],
          ['appended', { module: 'compliance' }],
          ['posted', { module: 'compliance' }],
          ['joined', { module: 'compliance' }],
          ['parted', { module: 'compliance' }],
          ['history.viewed', { module: 'compliance' }],
          ['searched', { module: 'compliance' }],
          ['downloaded', { module: 'compliance' }],
        ]);
      },
    );
  });
}
