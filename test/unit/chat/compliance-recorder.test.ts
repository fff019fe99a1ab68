// The compliance recorder as a chat module, on a real compliance store beside the chat store (SQLite: its own
// file; PostgreSQL: its own schema, through the chat store's connections). Every join, part, post (message,
// alert, story), upload, history view, search and download becomes one compliance event with who, door, room,
// content and the message id, durable before the action is acknowledged; nothing is recorded while recording
// is off; a category that keeps no chat history is still recorded.
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
import { Files } from '../../../src/chat/files.js';
import { MessageSearch } from '../../../src/chat/search.js';
import type { MessageView, SearchQuery, Session } from '../../../src/chat/types.js';
import { parseComplianceConfig } from '../../../src/compliance/config.js';
import { ComplianceRecorder } from '../../../src/compliance/recorder.js';
import { ComplianceStore, type EventState } from '../../../src/compliance/store.js';
import type { ComplianceEvent } from '../../../src/compliance/types.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { FileStore } from '../../../src/files/file-store.js';
import { PG_BASE_URL } from '../../support/pg.js';
import { engineUnavailable } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES, until, uri } from './fixture.js';

type Recorded = ComplianceEvent & { state: EventState; batch: number | null };

const POISON = 'this post fails its commit';

for (const engine of ENGINES) {
  describe(`compliance recording of chat actions (${engine})`, () => {
    const compDir = mkdtempSync(join(tmpdir(), 'pchat-chatcomp-'));
    const compSchema = `c_${randomBytes(6).toString('hex')}`;
    let fx: ChatFixture | undefined;
    let compliance: ComplianceStore;
    let backchat: Backchat;
    let search: MessageSearch;
    let files: Files;
    let quiet: string;

    /** The events recorded after `mark` (an event id). */
    const since = async (mark: number): Promise<Recorded[]> => compliance.list(mark);
    const lastId = async () => (await compliance.list(0, 100_000)).at(-1)?.id ?? 0;
    const enable = (enabled: boolean) => compliance.putConfig(parseComplianceConfig({ enabled }));

    before(async () => {
      fx = await chatFixture(engine, async (core) => {
        compliance = await ComplianceStore.open(
          { db: engine === 'postgres' ? PG_BASE_URL : undefined, dataDir: compDir, pgSchema: compSchema },
          { shareWith: core.store },
        );
        // no caching of the switch: each test turns recording on or off and expects it at once
        registerComplianceRecorder(core, new ComplianceRecorder(compliance, { cacheMs: 0 }));
        backchat = new Backchat(core).register();
        search = new MessageSearch(core);
        files = new Files(core, new FileStore(join(compDir, 'files')));
        // a module that refuses one post inside the commit, after the recorder saw the batch
        core.events.on('committing', ({ items }) => {
          if (items.some((i) => i.message.text === POISON)) throw new Error('refused in the commit');
        });
      });
      if (!fx) return;
      await fx.admin.newCategory({
        name: 'Quiet',
        chatHistory: false,
        allowedMembers: parseListEdit('domain:contoso.com', 'members'),
      });
      quiet = (
        await fx.admin.newRoom({
          name: 'Off the record',
          category: 'Quiet',
          members: parseListEdit(uri('alice'), 'members'),
        })
      ).id;
      await fx.core.model.poll();
      await enable(true);
    });
    after(async () => {
      if (fx) {
        await compliance.close();
        await fx.close();
      }
      if (engine === 'postgres' && fx) {
        const c = new pg.Client({ connectionString: PG_BASE_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${compSchema} CASCADE`);
        await c.end();
      }
      rmSync(compDir, { recursive: true, force: true });
    });

    /**
     * A post's event exists when the post is acknowledged: on PostgreSQL committed with the message id (written in
     * the batch's own transaction); on SQLite pending first (written before the messages commit), then confirmed
     * with the message id once the batch committed.
     */
    const expectPostRecorded = async (mark: number, m: MessageView): Promise<Recorded> => {
      const atAck = await since(mark);
      assert.equal(atAck.length, 1, 'one event, written before the post was acknowledged');
      const first = atAck[0] as Recorded;
      if (engine === 'postgres') {
        assert.equal(first.state, 'committed');
        assert.equal(first.messageId, m.id);
      } else {
        assert.equal(first.state, 'pending', 'SQLite: pending until the messages committed');
        assert.equal(first.messageId, null);
        await until(async () => (await since(mark))[0]?.state === 'committed', 'the pending event confirmed');
      }
      const [ev] = await since(mark);
      assert.equal(ev?.state, 'committed');
      assert.equal(ev?.messageId, m.id, 'confirmed with the id the message got');
      return ev as Recorded;
    };

    const posts: {
      what: string;
      input: { kind?: 'regular' | 'alert' | 'story'; text: string; title?: string };
      data: Record<string, unknown>;
    }[] = [
      { what: 'a message', input: { text: 'deploy at noon' }, data: { kind: 'regular', logged: true } },
      { what: 'an alert', input: { kind: 'alert', text: 'deploy is broken' }, data: { kind: 'alert', logged: true } },
      {
        what: 'a story (with its title)',
        input: { kind: 'story', text: 'the long deploy story', title: 'Postmortem' },
        data: { kind: 'story', logged: true, title: 'Postmortem' },
      },
    ];
    for (const p of posts) {
      test(`${p.what} becomes a CHAT event with door, room, sender, text, time and message id`, async (t) => {
        if (!fx) return engineUnavailable(t, engine);
        const mark = await lastId();
        const m = await fx.core.post(fx.open('alice'), fx.rooms.general, p.input);
        const ev = await expectPostRecorded(mark, m);
        assert.deepEqual(
          { door: ev.door, type: ev.type, roomId: ev.roomId, sender: ev.sender, content: ev.content, ts: ev.ts },
          { door: 'ws', type: 'CHAT', roomId: fx.rooms.general, sender: uri('alice'), content: p.input.text, ts: m.ts },
        );
        assert.deepEqual(ev.data, p.data);
      });
    }

    test('each post of a batch gets its own event, in order, with its own message id', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const mark = await lastId();
      const alice = fx.open('alice');
      const bob = fx.open('bob');
      // the same event-loop turn: one batch, one commit
      const ms = await Promise.all([
        fx.core.post(alice, fx.rooms.general, { text: 'one' }),
        fx.core.post(bob, fx.rooms.general, { text: 'two' }),
        fx.core.post(alice, fx.rooms.general, { text: 'three' }),
      ]);
      await until(async () => (await since(mark)).every((e) => e.state === 'committed'), 'the batch confirmed');
      const evs = await since(mark);
      assert.deepEqual(
        evs.map((e) => [e.sender, e.content, e.messageId, e.state]),
        [
          [uri('alice'), 'one', ms[0]?.id, 'committed'],
          [uri('bob'), 'two', ms[1]?.id, 'committed'],
          [uri('alice'), 'three', ms[2]?.id, 'committed'],
        ],
      );
    });

    test('a batch that fails and is retried post by post records each post once; the refused one is never committed', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const mark = await lastId();
      const alice = fx.open('alice');
      const [good, bad] = await Promise.allSettled([
        fx.core.post(alice, fx.rooms.general, { text: 'a good post' }),
        fx.core.post(alice, fx.rooms.general, { text: POISON }),
      ]);
      assert.equal(good.status, 'fulfilled');
      assert.equal(bad.status, 'rejected');
      assert.ok(
        fx.logs.some((l) => l.msg === 'store commit failed' && l.fields?.messages === 2),
        'both posts were in one batch that failed',
      );
      const m = (good as PromiseFulfilledResult<MessageView>).value;
      await until(
        async () => (await since(mark)).some((e) => e.content === 'a good post' && e.state === 'committed'),
        'the good post confirmed',
      );
      const evs = await since(mark);
      assert.deepEqual(
        evs.filter((e) => e.content === 'a good post').map((e) => [e.state, e.messageId]),
        [['committed', m.id]],
        'the retried post keeps the one event it got in the failed batch',
      );
      // SQLite: the refused post's pending event stays pending (reconcile aborts it at the next start);
      // PostgreSQL: it rolled back with the batch
      assert.deepEqual(
        evs.filter((e) => e.content === POISON).map((e) => e.state),
        engine === 'postgres' ? [] : ['pending'],
      );
      assert.equal(evs.length, engine === 'postgres' ? 1 : 2);
    });

    test('an upload becomes a FILEUPLOAD event naming the file; a download a FILEDOWNLOAD event', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      let mark = await lastId();
      const m = await files.upload(fx.open('alice'), {
        roomId: fx.rooms.general,
        name: 'plan.txt',
        contentType: 'text/plain',
        body: Readable.from([Buffer.from('twelve bytes')]),
      });
      const fileId = m.file?.id as string;
      const ev = await expectPostRecorded(mark, m);
      assert.deepEqual(
        { door: ev.door, type: ev.type, roomId: ev.roomId, sender: ev.sender, content: ev.content, ts: ev.ts },
        {
          door: 'ws',
          type: 'FILEUPLOAD',
          roomId: fx.rooms.general,
          sender: uri('alice'),
          content: 'plan.txt',
          ts: m.ts,
        },
      );
      assert.deepEqual(ev.data, {
        kind: 'file',
        logged: true,
        fileId,
        size: 12,
        contentType: 'text/plain',
        text: 'plan.txt',
      });

      mark = await lastId();
      const t0 = Date.now();
      const dl = await files.download(uri('bob'), fileId, 'xccos');
      dl.body.resume();
      const [d, ...more] = await since(mark);
      assert.deepEqual(more, []);
      assert.deepEqual(
        {
          door: d?.door,
          type: d?.type,
          roomId: d?.roomId,
          sender: d?.sender,
          content: d?.content,
          messageId: d?.messageId,
          state: d?.state,
          data: d?.data,
        },
        {
          door: 'xccos',
          type: 'FILEDOWNLOAD',
          roomId: fx.rooms.general,
          sender: uri('bob'),
          content: 'plan.txt',
          messageId: null,
          state: 'committed',
          data: { fileId, size: 12, contentType: 'text/plain' },
        },
      );
      assert.ok((d?.ts as number) >= t0 && (d?.ts as number) <= Date.now());
    });

    test('joins and parts are JOIN and PART events of the session door; a part says why', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const cases: { door: 'ws' | 'xccos' | 'rest'; leave: 'part' | 'closed' }[] = [
        { door: 'ws', leave: 'part' },
        { door: 'xccos', leave: 'closed' },
        { door: 'rest', leave: 'part' },
      ];
      for (const c of cases) {
        const mark = await lastId();
        const t0 = Date.now();
        const s: Session = fx.core.openSession(uri('bob'), () => {}, c.door);
        const [r] = await fx.core.join(s, [fx.rooms.general]);
        assert.ok(r?.ok);
        // the join is recorded before it is answered
        const joined = await since(mark);
        assert.deepEqual(
          joined.map((e) => [e.type, e.door, e.roomId, e.sender, e.content, e.messageId, e.state, e.data]),
          [['JOIN', c.door, fx.rooms.general, uri('bob'), '', null, 'committed', {}]],
          `join by ${c.door}`,
        );
        assert.ok((joined[0]?.ts as number) >= t0);
        if (c.leave === 'part') await fx.core.part(s, fx.rooms.general);
        else {
          fx.core.closeSession(s);
          await until(async () => (await since(mark)).length === 2, 'the part of a closed session');
        }
        const parted = (await since(mark)).slice(1);
        assert.deepEqual(
          parted.map((e) => [e.type, e.door, e.roomId, e.sender, e.content, e.messageId, e.data]),
          [['PART', c.door, fx.rooms.general, uri('bob'), '', null, { reason: c.leave }]],
          `part by ${c.door}`,
        );
        assert.ok((parted[0]?.ts as number) >= (joined[0]?.ts as number));
        if (c.leave === 'part') fx.core.closeSession(s);
      }
    });

    test('a history view is a BACKCHAT event with the query, the count and the first and last ids shown', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const alice = fx.open('alice');
      await fx.core.post(alice, fx.rooms.general, { text: 'h1' });
      await fx.core.post(alice, fx.rooms.general, { text: 'h2' });
      const m3 = await fx.core.post(alice, fx.rooms.general, { text: 'h3' });
      const cases: { query: { limit?: number; afterId?: number; beforeId?: number }; count: number }[] = [
        { query: { limit: 3 }, count: 3 },
        { query: { limit: 1 }, count: 1 },
        { query: { afterId: m3.id }, count: 0 },
      ];
      for (const c of cases) {
        const mark = await lastId();
        const page = await backchat.history(uri('bob'), fx.rooms.general, c.query, 'xccos');
        assert.equal(page.length, c.count);
        const evs = await since(mark);
        assert.equal(evs.length, 1);
        const ev = evs[0] as Recorded;
        assert.deepEqual(
          [ev.type, ev.door, ev.roomId, ev.sender, ev.content, ev.messageId, ev.state],
          ['BACKCHAT', 'xccos', fx.rooms.general, uri('bob'), '', null, 'committed'],
        );
        assert.deepEqual(
          ev.data,
          c.count > 0
            ? { query: c.query, count: c.count, firstId: page[0]?.id, lastId: page.at(-1)?.id }
            : { query: c.query, count: 0 },
          JSON.stringify(c.query),
        );
      }
    });

    test('a search is a SEARCH event: its terms, its room or none, the rooms searched and the matches', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const cases: {
        query: { text?: string; roomId?: string; authors?: string[] };
        roomId: (f: ChatFixture) => string;
        content: string;
      }[] = [
        { query: { text: 'deploy' }, roomId: () => '', content: 'deploy' },
        { query: { text: 'deploy', roomId: 'general' }, roomId: (f) => f.rooms.general, content: 'deploy' },
        { query: { authors: [uri('alice')], roomId: 'general' }, roomId: (f) => f.rooms.general, content: '' },
      ];
      for (const c of cases) {
        const query: SearchQuery = c.query.roomId ? { ...c.query, roomId: fx.rooms.general } : c.query;
        const mark = await lastId();
        const r = await search.search(uri('bob'), query, 'rest');
        assert.ok(r.count > 0, 'the search matches something');
        const evs = await since(mark);
        assert.equal(evs.length, 1);
        const ev = evs[0] as Recorded;
        assert.deepEqual(
          [ev.type, ev.door, ev.roomId, ev.sender, ev.content, ev.messageId, ev.state],
          ['SEARCH', 'rest', c.roomId(fx), uri('bob'), c.content, null, 'committed'],
        );
        // bob reads General only (not Secret, not the Quiet room); the auditorium is open
        const rooms: number = query.roomId ? 1 : fx.core.visibleRooms(fx.core.subject(uri('bob')), 'read').length;
        assert.deepEqual(ev.data, { query, rooms, count: r.count });
      }
    });

    test('a category that keeps no chat history is still recorded (the post marked not logged)', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const alice = fx.open('alice');
      let mark = await lastId();
      const m = await fx.core.post(alice, quiet, { text: 'said off the record' });
      const ev = await expectPostRecorded(mark, m);
      assert.deepEqual([ev.type, ev.roomId, ev.content], ['CHAT', quiet, 'said off the record']);
      assert.deepEqual(ev.data, { kind: 'regular', logged: false });
      mark = await lastId();
      const [r] = await fx.core.join(alice, [quiet]);
      assert.ok(r?.ok);
      await backchat.history(uri('alice'), quiet, {}, 'ws');
      assert.deepEqual(
        (await since(mark)).map((e) => [e.type, e.roomId]),
        [
          ['JOIN', quiet],
          ['BACKCHAT', quiet],
        ],
      );
      await fx.core.part(alice, quiet);
    });

    const offCases: { what: string; off: () => Promise<unknown> }[] = [
      { what: 'recording is disabled', off: () => enable(false) },
      { what: 'no compliance configuration exists', off: () => compliance.removeConfig() },
    ];
    for (const c of offCases) {
      test(`nothing is recorded while ${c.what}; recording resumes when it is enabled`, async (t) => {
        if (!fx) return engineUnavailable(t, engine);
        await c.off();
        try {
          const mark = await lastId();
          const alice = fx.open('alice');
          const [r] = await fx.core.join(alice, [fx.rooms.general]);
          assert.ok(r?.ok);
          const m = await fx.core.post(alice, fx.rooms.general, { text: 'unrecorded deploy' });
          const up = await files.upload(alice, {
            roomId: fx.rooms.general,
            name: 'quiet.txt',
            contentType: 'text/plain',
            body: Readable.from([Buffer.from('x')]),
          });
          (await files.download(uri('bob'), up.file?.id as string)).body.resume();
          await backchat.history(uri('bob'), fx.rooms.general, {});
          await search.search(uri('bob'), { text: 'deploy' });
          await fx.core.part(alice, fx.rooms.general);
          await new Promise((r) => setTimeout(r, 20));
          assert.ok(m.id > 0 && up.id > m.id, 'the actions themselves went ahead');
          assert.deepEqual(await since(mark), []);
        } finally {
          await enable(true);
        }
        const mark = await lastId();
        const m = await fx.core.post(fx.open('alice'), fx.rooms.general, { text: 'recorded again' });
        await expectPostRecorded(mark, m);
      });
    }
  });
}
