// The compliance store and worker contract, run on SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { AdminService, SYSTEM } from '../../src/admin/admin-service.js';
import { ComplianceAdmin, DEFAULT_REPLACEMENT } from '../../src/admin/compliance-admin.js';
import { verifyDirectory } from '../../src/compliance/chain.js';
import { parseComplianceConfig } from '../../src/compliance/config.js';
import { detailsFromStore } from '../../src/compliance/details.js';
import { ComplianceRecorder } from '../../src/compliance/recorder.js';
import type { NewComplianceEvent } from '../../src/compliance/types.js';
import { ComplianceWorker } from '../../src/compliance/worker.js';
import type { PchatError } from '../../src/core/errors.js';
import type { NewMessage } from '../../src/store/port.js';
import { type ComplianceEnv, complianceEnv, xmllintValidate } from './compliance-env.js';
import { engineUnavailable, newMessage } from './spec-engines.js';
import { category, room, user } from './store-contract.js';

const ev = (over: Partial<NewComplianceEvent> = {}): NewComplianceEvent => ({
  door: 'ws',
  type: 'CHAT',
  roomId: 'room-1',
  sender: 'sip:alice@contoso.com',
  content: 'hello',
  messageId: null,
  ts: 1_700_000_000_000,
  ...over,
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (n) => n === 'Message' || n === 'Conversation',
});

function xmlMessages(file: string): { type: string; content: string; eventid: string; id?: string }[] {
  const doc = parser.parse(readFileSync(file, 'utf8')) as {
    Conversations: { Conversation?: { Messages: { Message: { type: string; content: string; eventid: string }[] } }[] };
  };
  return (doc.Conversations.Conversation ?? []).flatMap((c) => c.Messages.Message);
}

export function complianceContract(engine: 'sqlite' | 'postgres') {
  describe(`compliance store and worker: ${engine}`, () => {
    let env: ComplianceEnv | undefined;
    before(async () => {
      env = await complianceEnv(engine, `compliance: ${engine}`);
      if (!env) return;
      await env.chat.categories.put(category());
      await env.chat.rooms.put(room());
      await env.chat.users.put(user('sip:alice@contoso.com', { displayName: 'Alice', email: 'alice@contoso.com' }));
    });
    after(async () => {
      await env?.close();
    });

    const worker = (e: ComplianceEnv, now = () => Date.now()) =>
      new ComplianceWorker(e.compliance, { baseDir: e.dataDir, details: detailsFromStore(e.chat, 'contoso.com'), now });

    test('events get strictly increasing ids; pending events wait for confirm; reconcile settles them', async (t) => {
      if (!env) return engineUnavailable(t, engine);
      const c = env.compliance;
      const ids = await c.record([ev({ content: 'a' }), ev({ content: 'b' }), ev({ type: 'JOIN', content: '' })]);
      assert.equal(ids.length, 3);
      assert.ok((ids[0] as number) < (ids[1] as number) && (ids[1] as number) < (ids[2] as number));
      const [p1, p2] = await c.record([ev({ content: 'pending-1' }), ev({ content: 'pending-2' })], {
        state: 'pending',
      });
      const waiting = await c.unexported(100);
      assert.deepEqual(
        waiting.map((e) => e.content),
        ['a', 'b', ''],
        'pending events are not handed to adapters',
      );
      const r = await c.reconcile(async (e) => (e.content === 'pending-1' ? 4242 : undefined));
      assert.deepEqual(r, { confirmed: 1, aborted: 1 });
      const all = await c.list();
      const byId = new Map(all.map((e) => [e.id, e]));
      assert.equal(byId.get(p1 as number)?.state, 'committed');
      assert.equal(byId.get(p1 as number)?.messageId, 4242);
      assert.equal(byId.get(p2 as number)?.state, 'aborted');
      assert.equal((await c.unexported(100)).length, 4);
    });

    test('the XML worker exports every event exactly once, valid against the XSD, chained and verifiable', async (t) => {
      if (!env) return engineUnavailable(t, engine);
      const c = env.compliance;
      await c.putConfig(
        parseComplianceConfig({
          adapterOutputDirectory: 'xml-out',
          addUserDetails: true,
          addChatRoomDetails: true,
          batchSize: 3,
        }),
      );
      // events sharing one timestamp, odd text
      await c.record([
        ev({ content: 'same ms 1', messageId: 10 }),
        ev({ content: 'same ms 2 <&> "q"\nline\u0001', messageId: 11 }),
        ev({ type: 'SEARCH', roomId: '', content: 'budget' }),
        ev({ type: 'FILEUPLOAD', content: 'plan.pdf', messageId: 12, data: { fileId: 'f1', size: 3 } }),
      ]);
      const w = worker(env);
      const out = await w.tick();
      assert.equal(out.error, undefined);
      assert.equal(out.events, 8, 'the 4 earlier events and the 4 new ones');
      assert.equal(out.batches, 3, 'batches of 3');
      const dir = join(env.dataDir, 'xml-out');
      const xmlFiles = readdirSync(dir)
        .filter((n) => n.endsWith('.xml'))
        .sort();
      assert.equal(xmlFiles.length, 3);
      const seen: string[] = [];
      for (const f of xmlFiles) {
        xmllintValidate(join(dir, f));
        for (const m of xmlMessages(join(dir, f))) seen.push(m.eventid);
      }
      const ids = (await c.list()).filter((e) => e.state === 'committed').map((e) => String(e.id));
      assert.deepEqual(seen, ids, 'each committed event once, in id order');
      assert.equal((await c.counts()).unexported, 0);
      // nothing new: a second run writes nothing
      const again = await w.tick(true);
      assert.equal(again.events, 0);
      assert.equal(readdirSync(dir).filter((n) => n.endsWith('.xml')).length, 3);
      const v = await verifyDirectory(dir);
      assert.deepEqual(v.problems, []);
      assert.equal(v.batches, 3);
      // one edited byte breaks verification, naming the file
      const target = join(dir, xmlFiles[1] as string);
      const body = readFileSync(target);
      body[body.length - 3] = body[body.length - 3] === 0x41 ? 0x42 : 0x41;
      writeFileSync(target, body);
      const bad = await verifyDirectory(dir);
      assert.equal(bad.ok, false);
      assert.ok(
        bad.problems.some((p) => p.startsWith(xmlFiles[1] as string)),
        bad.problems.join('; '),
      );
      // a removed batch breaks the chain too
      const state = await c.workerState();
      assert.equal(state.batchSeq, 3);
      assert.equal(state.failures, 0);
    });

    test('a failing adapter keeps the events and backs off; the next good run exports them', async (t) => {
      if (!env) return engineUnavailable(t, engine);
      const c = env.compliance;
      const failing = join(env.dataDir, 'failing-adapter.mjs');
      writeFileSync(
        failing,
        "export default () => ({ name: 'failing', async write() { throw new Error('archive offline'); } });\n",
      );
      await c.putConfig(
        parseComplianceConfig({ adapterType: 'custom', adapterModule: failing, adapterOutputDirectory: 'fail-out' }),
      );
      await c.record([ev({ content: 'kept' })]);
      let now = 1_800_000_000_000;
      const w = worker(env, () => now);
      const r = await w.tick();
      assert.match(r.error ?? '', /archive offline/);
      const s = await c.workerState();
      assert.equal(s.failures, 1);
      assert.equal(s.lastError, 'archive offline');
      assert.equal(s.nextAttemptAt, now + 30_000);
      assert.equal((await c.counts()).unexported, 1);
      assert.equal((await w.tick()).reason, 'not-due');
      now += 31_000;
      assert.match((await w.tick()).error ?? '', /archive offline/);
      assert.equal((await c.workerState()).nextAttemptAt, now + 60_000, 'the delay doubles');
      assert.equal(w.counters.failures, 2);
      // the example adapter from docs/ works
      await c.putConfig(
        parseComplianceConfig({
          adapterType: 'custom',
          adapterModule: join(import.meta.dirname, '../../docs/example-compliance-adapter.mjs'),
          adapterOutputDirectory: 'csv-out',
        }),
      );
      const ok = await w.tick(true);
      assert.equal(ok.error, undefined);
      assert.equal(ok.events, 1);
      const csvDir = join(env.dataDir, 'csv-out');
      const csv = readdirSync(csvDir).filter((n) => n.endsWith('.csv'));
      assert.equal(csv.length, 1);
      assert.match(readFileSync(join(csvDir, csv[0] as string), 'utf8'), /"kept"/);
      assert.equal((await c.workerState()).failures, 0);
      assert.equal((await verifyDirectory(csvDir)).ok, true);
    });

    test('two servers running the worker at once export each event exactly once (JSON Lines)', async (t) => {
      if (!env) return engineUnavailable(t, engine);
      const c = env.compliance;
      await c.putConfig(
        parseComplianceConfig({ adapterType: 'jsonl', adapterOutputDirectory: 'jsonl-out', batchSize: 7 }),
      );
      const batch: NewComplianceEvent[] = [];
      for (let i = 0; i < 60; i++) batch.push(ev({ content: `m${i}`, ts: 1_700_000_000_000 + Math.floor(i / 10) }));
      await c.record(batch);
      const other = await env.openCompliance();
      const w1 = worker(env);
      const w2 = new ComplianceWorker(other, {
        baseDir: env.dataDir,
        details: detailsFromStore(env.chat, 'contoso.com'),
      });
      // keep both trying until the backlog is empty
      for (let i = 0; i < 50 && (await c.counts()).unexported > 0; i++)
        await Promise.all([w1.tick(true), w2.tick(true)]);
      assert.equal((await c.counts()).unexported, 0);
      const dir = join(env.dataDir, 'jsonl-out');
      const lines = readdirSync(dir)
        .filter((n) => n.endsWith('.jsonl'))
        .sort()
        .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'))
        .map((l) => JSON.parse(l) as { content: string; eventId: number });
      const contents = lines.map((l) => l.content).filter((s) => /^m\d+$/.test(s));
      assert.equal(contents.length, 60, 'no event twice, none missing');
      assert.equal(new Set(contents).size, 60);
      const eventIds = lines.map((l) => l.eventId);
      assert.deepEqual(
        eventIds,
        [...eventIds].sort((a, b) => a - b),
        'in id order across batches',
      );
      const v = await verifyDirectory(dir);
      assert.deepEqual(v.problems, []);
    });
  });
}

export function moderationContract(engine: 'sqlite' | 'postgres') {
  describe(`message administration, retention and legal hold: ${engine}`, () => {
    let env: ComplianceEnv | undefined;
    let ca: ComplianceAdmin;
    const removedFiles: string[] = [];
    const alice = 'sip:alice@contoso.com';
    const bob = 'sip:bob@contoso.com';
    const day = 24 * 3600 * 1000;
    const msg = (roomId: string, text: string, over: Partial<NewMessage> = {}): NewMessage =>
      newMessage(roomId, text, { author: alice, ts: Date.now(), ...over });
    before(async () => {
      env = await complianceEnv(engine, `moderation: ${engine}`);
      if (!env) return;
      await env.chat.categories.put(category());
      await env.chat.categories.put(category({ id: 'cat-2', name: 'Legal' }));
      await env.chat.rooms.put(room());
      await env.chat.rooms.put(room({ id: 'room-2', name: 'Held', categoryId: 'cat-2' }));
      await env.chat.users.put(user(alice, { isAdmin: true }));
      await env.chat.users.put(user(bob));
      const admin = new AdminService(env.chat, { realm: 'pchat', domain: 'contoso.com', pool: 'contoso.com' });
      const compliance = env.compliance;
      ca = new ComplianceAdmin(admin, {
        compliance: async () => compliance,
        removeFile: async (k) => {
          removedFiles.push(k);
        },
        dataDir: env.dataDir,
        domain: 'contoso.com',
      });
      await ca.newComplianceConfig(SYSTEM, { adapterOutputDirectory: 'mod-out' });
    });
    after(async () => {
      await env?.close();
    });

    test('a removed message leaves history, search and the index; a replaced one is found by its new text only', async (t) => {
      if (!env) return engineUnavailable(t, engine);
      const s = env.chat;
      const [m1, m2, m3, m4] = await s.messages.append([
        msg('room-1', 'the merger closes friday'),
        msg('room-1', 'Merger rumours are false', { author: bob }),
        msg('room-1', 'lunch at noon'),
        msg('room-1', '合併の話は秘密です'),
      ]);
      const search = async (text: string) =>
        (await s.messages.search({ roomIds: ['room-1'], text, limit: 50 })).messages.map((m) => m.id).sort();
      assert.deepEqual(await search('merger'), [m1?.id, m2?.id].sort());
      // only administrators: a room manager or plain user is refused, and nothing changes
      await assert.rejects(
        ca.removeMessages({ kind: 'user', uri: bob }, { room: 'General', filter: 'merger' }),
        /NOT_ADMIN|administrator/,
      );
      assert.deepEqual(await search('merger'), [m1?.id, m2?.id].sort());
      await assert.rejects(ca.removeMessages(SYSTEM, { room: 'Nope' }), (e: PchatError) => e.code === 'ROOM_NOT_FOUND');
      // case-sensitive exact phrase: only bob's message
      const r1 = await ca.removeMessages(
        { kind: 'user', uri: alice },
        { room: 'General', filter: 'Merger rumours', match: 'exact', caseSensitive: true },
      );
      assert.deepEqual(r1.ids, [m2?.id]);
      assert.deepEqual(await search('merger'), [m1?.id]);
      assert.deepEqual(await search('rumours'), []);
      assert.equal(await s.messages.get(m2?.id as number), undefined);
      // replace with the default text
      const r2 = await ca.removeMessages(SYSTEM, { room: 'room-1', user: alice, filter: 'merger friday', replace: '' });
      assert.deepEqual(r2.ids, [m1?.id]);
      assert.equal((await s.messages.get(m1?.id as number))?.text, DEFAULT_REPLACEMENT);
      assert.deepEqual(await search('merger'), []);
      assert.deepEqual(await search('Persistent Chat administrator'), [m1?.id]);
      // CJK bigram index follows too
      assert.deepEqual(await search('合併'), [m4?.id]);
      await ca.removeMessages(SYSTEM, { room: 'General', filter: '秘密' });
      assert.deepEqual(await search('合併'), []);
      const history = (await s.messages.before('room-1', 50)).map((m) => m.text);
      assert.deepEqual(history, [DEFAULT_REPLACEMENT, 'lunch at noon']);
      assert.equal(m3 !== undefined, true);
      // the change stream tells running servers
      const changes = (await s.changes.since(0, 1000)).filter((c) => c.type === 'message.removed');
      assert.equal(changes.length, 3);
      assert.deepEqual(changes[1]?.data, { ids: [m1?.id], replacement: DEFAULT_REPLACEMENT, by: 'system' });
      // the compliance record keeps the originals and who removed them
      const rec = await env.compliance.forMessages([m1?.id as number, m2?.id as number]);
      const removal = rec.find((e) => e.type === 'REMOVE' && e.messageId === m2?.id);
      assert.equal(removal?.content, 'Merger rumours are false');
      assert.equal(removal?.sender, alice);
      assert.equal(removal?.data.author, bob);
      const replacement = rec.find((e) => e.type === 'REPLACE');
      assert.equal(replacement?.content, 'the merger closes friday');
      assert.equal(replacement?.data.replacement, DEFAULT_REPLACEMENT);
      assert.equal((await env.compliance.pending()).length, 0);
    });

    test('room clear removes content up to the end date, files included', async (t) => {
      if (!env) return engineUnavailable(t, engine);
      const s = env.chat;
      const old = Date.parse('2026-01-10T12:00:00Z');
      const file = { id: 'file-1', name: 'a.txt', size: 1, contentType: 'text/plain' };
      await s.files.put({ ...file, roomId: 'room-1', uploader: alice, ts: old, storageKey: 'ab/file-1' });
      await s.messages.append([
        msg('room-1', 'old one', { ts: old }),
        msg('room-1', 'a.txt', { ts: old, kind: 'file', file }),
        msg('room-1', 'keep me', { ts: Date.parse('2026-01-11T00:00:00Z') }),
      ]);
      const r = await ca.clearRoom(SYSTEM, 'General', '2026-01-10');
      assert.equal(r.messages >= 2, true);
      assert.equal(r.files, 1);
      assert.ok(removedFiles.includes('ab/file-1'));
      assert.equal(await s.files.get('file-1'), undefined);
      const texts = (await s.messages.before('room-1', 50)).map((m) => m.text);
      assert.ok(texts.includes('keep me'));
      assert.ok(!texts.includes('old one'));
      await assert.rejects(ca.clearRoom(SYSTEM, 'General', 'yesterday'), (e: PchatError) => e.code === 'INVALID_VALUE');
    });

    test('retention purges what expired, after compliance exported it, and nothing under legal hold', async (t) => {
      if (!env) return engineUnavailable(t, engine);
      const s = env.chat;
      const now = Date.now();
      // recorded like chat posts
      const rec = new ComplianceRecorder(env.compliance);
      const posted = await rec.around(
        s,
        [
          { door: 'ws', type: 'CHAT', roomId: 'room-1', sender: bob, content: 'expired bob', messageId: null, ts: now },
          {
            door: 'ws',
            type: 'CHAT',
            roomId: 'room-1',
            sender: alice,
            content: 'expired alice',
            messageId: null,
            ts: now,
          },
          {
            door: 'ws',
            type: 'CHAT',
            roomId: 'room-2',
            sender: bob,
            content: 'expired held room',
            messageId: null,
            ts: now,
          },
          { door: 'ws', type: 'CHAT', roomId: 'room-1', sender: bob, content: 'fresh', messageId: null, ts: now },
        ],
        (tx) =>
          tx.messages.append([
            msg('room-1', 'expired bob', { author: bob, ts: now - 40 * day }),
            msg('room-1', 'expired alice', { ts: now - 40 * day }),
            msg('room-2', 'expired held room', { author: bob, ts: now - 40 * day }),
            msg('room-1', 'fresh', { author: bob, ts: now - 1 * day }),
          ]),
        (out) => out.map((m) => m.id),
      );
      await ca.setRetention(SYSTEM, null, 30);
      await ca.addHold(SYSTEM, { room: 'Held' }, 'litigation 2026-17');
      await ca.addHold(SYSTEM, { user: alice });
      await assert.rejects(ca.addHold(SYSTEM, { user: alice }), (e: PchatError) => e.code === 'HOLD_EXISTS');
      await assert.rejects(ca.removeHold(SYSTEM, { user: bob }), (e: PchatError) => e.code === 'HOLD_NOT_FOUND');
      // compliance has not exported the posts yet: nothing is purged
      const first = await ca.runRetentionNow(SYSTEM);
      assert.equal(first.purged, 0);
      const w = await ca.runComplianceNow(SYSTEM);
      assert.equal(w.error, undefined);
      const second = await ca.runRetentionNow(SYSTEM);
      const left = async () => new Set((await s.messages.before('room-1', 100)).map((m) => m.text));
      const held = (await s.messages.before('room-2', 100)).map((m) => m.text);
      assert.ok(!(await left()).has('expired bob'), 'expired and not held: purged');
      assert.ok((await left()).has('expired alice'), 'user on hold: kept');
      assert.ok((await left()).has('fresh'), 'not expired: kept');
      assert.deepEqual(held, ['expired held room'], 'room on hold: kept');
      assert.equal(await s.messages.get(posted[0]?.id as number), undefined);
      assert.ok(second.purged >= 1);
      // the purge is recorded
      const purges = (await env.compliance.list()).filter((e) => e.type === 'PURGE');
      assert.ok(purges.some((e) => (e.data.ids as number[]).includes(posted[0]?.id as number)));
      // lifting the hold lets the next run purge
      await ca.removeHold(SYSTEM, { user: alice });
      await ca.runComplianceNow(SYSTEM);
      await ca.runRetentionNow(SYSTEM);
      assert.ok(!(await left()).has('expired alice'));
      assert.deepEqual(
        (await s.messages.before('room-2', 100)).map((m) => m.text),
        ['expired held room'],
      );
      assert.deepEqual(
        (await ca.listHolds(SYSTEM)).map((h) => `${h.kind}:${h.subject}`),
        ['room:room-2'],
      );
    });
  });
}
