// Specification of message administration and retention in the store, on SQLite and PostgreSQL: a replaced message
// is found by its new text and no longer by its old one (the full-text indexes follow the change), a removed one
// is found by neither, and a removed file message loses its file record, which is handed back for deletion.
// Then, rule by rule (tables of cases): the admin selection's filters (author, inclusive since/until, afterId,
// limit, logged only, id order); rewrite's no-op cases and what it returns; room clearing and its one
// `room.cleared` change (none when nothing went); purges with one `message.purged` change per room; retention
// periods; legal holds' change entries; and the pool-wide lease (taken, refused, expired at now + ms, renewed).
// Change entries are read back through the public change log (`changes.since`), room contents through the
// archive pages (which include unlogged messages).
import assert from 'node:assert/strict';
import type {
  LegalHold,
  LegalHoldKind,
  MessageSelection,
  NewMessage,
  Store,
  StoredFile,
  StoredMessage,
} from '../../src/store/port.js';
import { forEachEngine, newMessage } from '../support/spec-engines.js';

const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';
const ADMIN = 'sip:admin@contoso.com';

const msg = (text: string, over: Partial<NewMessage> = {}): NewMessage => newMessage('mod', text, over);

forEachEngine('moderation specification', ({ store, storeTest }) => {
  const s = () => store() as Store;
  const it = (title: string, fn: () => Promise<void>) => storeTest(title, () => fn());
  const found = async (text: string) =>
    (await s().messages.search({ roomIds: ['mod'], text, limit: 10 })).messages.map((m) => m.text);

  it('a replaced message is found by its new text only; a removed one by neither', async () => {
    const [a, b] = await s().messages.append([msg('original wording 持久聊天'), msg('doomed sentence 讨论')]);
    assert.deepEqual(await found('wording'), ['original wording 持久聊天']);
    await s().moderation.rewrite('mod', [a?.id as number], 'corrected phrasing', 'sip:admin@contoso.com');
    await s().moderation.rewrite('mod', [b?.id as number], null, 'sip:admin@contoso.com');
    for (const gone of ['wording', '持久聊天', '持久', 'doomed', '讨论']) assert.deepEqual(await found(gone), [], gone);
    assert.deepEqual(await found('phrasing'), ['corrected phrasing']);
  });

  it('removing file messages removes their file records and hands them back', async () => {
    const files = ['f-a', 'f-b'].map((id) => ({
      id,
      roomId: 'mod',
      uploader: ALICE,
      name: `${id}.txt`,
      size: 3,
      contentType: 'text/plain',
      ts: 1000,
      storageKey: `key-${id}`,
    }));
    for (const f of files) await s().files.put(f);
    const stored = await s().messages.append(
      files.map((f) =>
        msg(`file ${f.id}`, { file: { id: f.id, name: f.name, size: f.size, contentType: f.contentType } }),
      ),
    );
    const out = await s().moderation.rewrite(
      'mod',
      stored.map((m) => m.id),
      null,
      'sip:admin@contoso.com',
    );
    assert.deepEqual(out.files.map((f) => f.storageKey).sort(), ['key-f-a', 'key-f-b']);
    for (const f of files) assert.equal(await s().files.get(f.id), undefined, `${f.id} removed`);
  });

  // ---- helpers over the public reads ------------------------------------------------------------------------

  /** The change entries `fn` appended, as type, subject and data (read back through `changes.since`). */
  const changesOf = async (fn: () => Promise<unknown>) => {
    const from = await s().changes.latestId();
    await fn();
    return (await s().changes.since(from, 1000)).map(({ type, subject, data }) => ({ type, subject, data }));
  };
  /** Everything a room holds: its messages (logged or not, with content) and its file records. */
  const roomState = async (roomId: string) => ({
    messages: await s().archive.messagePage(roomId, 0, 1000),
    files: await s().archive.filePage(roomId, '', 1000),
  });
  const fileRecord = (id: string, roomId: string, ts = 1000): StoredFile => ({
    id,
    roomId,
    uploader: ALICE,
    name: `${id}.txt`,
    size: 3,
    contentType: 'text/plain',
    ts,
    storageKey: `key-${id}`,
  });
  const fileRef = (f: StoredFile) => ({ id: f.id, name: f.name, size: f.size, contentType: f.contentType });
  const append = async (roomId: string, specs: Partial<NewMessage>[]) =>
    s().messages.append(specs.map((over, i) => newMessage(roomId, `${roomId} message ${i}`, over)));
  const idsOf = (ms: { id: number }[]) => ms.map((m) => m.id);

  // ---- select -------------------------------------------------------------------------------------------------

  // Room `sel`: ids follow the labels' order; ts deliberately not in id order.
  //   a alice 1500 | b alice 999 | c alice 2000 | d bob 1000 | e bob 2001 | u alice 1500 unlogged
  // and a message of another room (alice, 1500) that no selection of `sel` returns.
  const SELECT_CASES: {
    name: string;
    q: Omit<MessageSelection, 'roomId' | 'afterId'>;
    afterId?: string;
    out: string;
  }[] = [
    { name: 'no filter: every logged message of the room, from the start, by id', q: { limit: 100 }, out: 'abcde' },
    { name: 'author alice', q: { author: ALICE, limit: 100 }, out: 'abc' },
    { name: 'author bob', q: { author: BOB, limit: 100 }, out: 'de' },
    { name: 'author with no messages', q: { author: 'sip:carol@contoso.com', limit: 100 }, out: '' },
    { name: 'since 1000: a message exactly at since is in', q: { since: 1000, limit: 100 }, out: 'acde' },
    { name: 'since 1001: one ms after it is out', q: { since: 1001, limit: 100 }, out: 'ace' },
    { name: 'since 999 takes the oldest', q: { since: 999, limit: 100 }, out: 'abcde' },
    { name: 'until 2000: a message exactly at until is in', q: { until: 2000, limit: 100 }, out: 'abcd' },
    { name: 'until 1999: one ms before it is out', q: { until: 1999, limit: 100 }, out: 'abd' },
    { name: 'since 1000 until 2000', q: { since: 1000, until: 2000, limit: 100 }, out: 'acd' },
    { name: 'since = until = 1500', q: { since: 1500, until: 1500, limit: 100 }, out: 'a' },
    { name: 'since after until: nothing', q: { since: 2001, until: 2000, limit: 100 }, out: '' },
    { name: 'author and since', q: { author: BOB, since: 1001, limit: 100 }, out: 'e' },
    { name: 'author and until', q: { author: ALICE, until: 1999, limit: 100 }, out: 'ab' },
    { name: 'author, since and until', q: { author: ALICE, since: 1000, until: 2000, limit: 100 }, out: 'ac' },
    { name: 'afterId: only later ids', q: { limit: 100 }, afterId: 'b', out: 'cde' },
    { name: 'afterId and author', q: { author: BOB, limit: 100 }, afterId: 'd', out: 'e' },
    { name: 'afterId and since', q: { since: 1000, limit: 100 }, afterId: 'a', out: 'cde' },
    { name: 'limit: the first ones by id', q: { limit: 2 }, out: 'ab' },
    { name: 'limit after afterId', q: { limit: 2 }, afterId: 'a', out: 'bc' },
    { name: 'limit after the filters', q: { author: ALICE, since: 1000, limit: 1 }, out: 'a' },
  ];

  it('select: author, since (inclusive), until (inclusive), afterId and limit over logged messages, by id', async () => {
    const [a, b, c, d, e] = await append('sel', [
      { ts: 1500 },
      { ts: 999 },
      { ts: 2000 },
      { author: BOB, ts: 1000 },
      { author: BOB, ts: 2001 },
      { ts: 1500, logged: false },
    ]);
    await append('sel-other', [{ ts: 1500 }]);
    const label = new Map(Object.entries({ a, b, c, d, e }).map(([k, m]) => [m?.id as number, k]));
    const id = new Map([...label].map(([i, k]) => [k, i]));
    for (const t of SELECT_CASES) {
      const q: MessageSelection = { roomId: 'sel', ...t.q, ...(t.afterId ? { afterId: id.get(t.afterId) } : {}) };
      const got = await s().moderation.select(q);
      assert.equal(got.map((m) => label.get(m.id) ?? `?${m.id}`).join(''), t.out, t.name);
    }
    // What it returns is the message itself.
    assert.deepEqual(await s().moderation.select({ roomId: 'sel', author: BOB, since: 1001, limit: 10 }), [e]);
  });

  // ---- rewrite ------------------------------------------------------------------------------------------------

  it('rewrite of no ids, or of ids none of which is a logged message of that room, changes nothing', async () => {
    const [other] = await append('rw-other', [{}]);
    const [unlogged] = await append('rw-none', [{ logged: false }]);
    await s().files.put(fileRecord('rw-none-f', 'rw-none'));
    const [fileMsg] = await append('rw-none', [{ file: fileRef(fileRecord('rw-none-f', 'rw-none')) }]);
    const missing = (await s().archive.maxId()) + 1000;
    const cases: { name: string; ids: number[] }[] = [
      { name: 'no ids', ids: [] },
      { name: 'a message of another room', ids: [other?.id as number] },
      { name: 'an unlogged message of the room', ids: [unlogged?.id as number] },
      { name: 'an id that does not exist', ids: [missing] },
      { name: 'all of those', ids: [other?.id as number, unlogged?.id as number, missing] },
    ];
    for (const text of [null, 'replacement']) {
      for (const t of cases) {
        const before = { room: await roomState('rw-none'), other: await roomState('rw-other') };
        let out: unknown;
        const changes = await changesOf(async () => {
          out = await s().moderation.rewrite('rw-none', t.ids, text, ADMIN);
        });
        const label = `${t.name} (text ${text})`;
        assert.deepEqual(out, { messages: [], files: [] }, label);
        assert.deepEqual(changes, [], `${label}: no change entry`);
        assert.deepEqual({ room: await roomState('rw-none'), other: await roomState('rw-other') }, before, label);
      }
    }
    assert.ok(fileMsg && (await s().files.get('rw-none-f')), 'the file message and its record are untouched');
  });

  for (const text of [null, 'replaced by an administrator']) {
    it(`rewrite (text ${text === null ? 'null: remove' : 'given: replace'}) changes only the room's logged messages named, returns them as they were and removes the file records of the file messages among them`, async () => {
      const room = text === null ? 'rw-remove' : 'rw-replace';
      const fa = fileRecord(`${room}-fa`, room);
      const fb = fileRecord(`${room}-fb`, room);
      const fo = fileRecord(`${room}-fo`, `${room}-other`);
      for (const f of [fa, fb, fo]) await s().files.put(f);
      const [withFa, plain, withFb, unlogged] = await append(room, [
        { file: fileRef(fa), kind: 'regular' },
        { title: 'a title', kind: 'story' },
        { file: fileRef(fb) },
        { logged: false },
      ]);
      const [elsewhere] = await append(`${room}-other`, [{ file: fileRef(fo) }]);
      const named = [withFa, plain, unlogged, elsewhere].map((m) => m?.id as number);
      const otherBefore = await roomState(`${room}-other`);
      let out: Awaited<ReturnType<Store['moderation']['rewrite']>> | undefined;
      const changes = await changesOf(async () => {
        out = await s().moderation.rewrite(room, named, text, ADMIN);
      });
      assert.deepEqual(out?.messages, [withFa, plain], 'the changed messages, as they were, by id');
      assert.deepEqual(out?.files, [fa], 'the file records of the changed file messages');
      assert.equal(await s().files.get(fa.id), undefined, 'the removed file message’s record is deleted');
      assert.deepEqual(await s().files.get(fb.id), fb, 'a file message not named keeps its record');
      assert.deepEqual(await s().files.get(fo.id), fo, 'another room’s file message keeps its record');
      assert.deepEqual(await roomState(`${room}-other`), otherBefore, 'another room is untouched');
      assert.deepEqual(changes, [
        {
          type: 'message.removed',
          subject: room,
          data: { ids: idsOf([withFa, plain] as StoredMessage[]), replacement: text, by: ADMIN },
        },
      ]);
      const after = await s().moderation.select({ roomId: room, limit: 10 });
      if (text === null) assert.deepEqual(idsOf(after), [withFb?.id], 'removed messages leave the room’s history');
      else
        assert.deepEqual(
          after.map((m) => [m.id, m.kind, m.text, m.title, m.file]),
          [
            [withFa?.id, 'regular', text, null, null],
            [plain?.id, 'regular', text, null, null],
            [withFb?.id, 'regular', withFb?.text, null, fileRef(fb)],
          ],
          'replaced messages are regular messages with the replacement text',
        );
    });
  }

  // ---- clearRoom ----------------------------------------------------------------------------------------------

  // Each case is a room of its own; until is 1000. Messages are [ts, logged?], files their ts.
  const CLEAR_CASES: {
    name: string;
    messages: { ts: number; logged?: boolean }[];
    files: number[];
    limit?: number;
    cleared: { messages: number[]; files: number[] }; // indexes into messages / files
  }[] = [
    {
      name: 'messages only, up to until inclusive, logged or not',
      messages: [{ ts: 999 }, { ts: 1000 }, { ts: 1000, logged: false }, { ts: 1001 }],
      files: [],
      cleared: { messages: [0, 1, 2], files: [] },
    },
    {
      name: 'files only',
      messages: [{ ts: 1001 }],
      files: [1000, 999, 1001],
      cleared: { messages: [], files: [0, 1] },
    },
    {
      name: 'messages and files',
      messages: [{ ts: 1001 }, { ts: 500 }],
      files: [1000, 1001],
      cleared: { messages: [1], files: [0] },
    },
    {
      name: 'nothing at or before until',
      messages: [{ ts: 1001 }],
      files: [1001],
      cleared: { messages: [], files: [] },
    },
    { name: 'an empty room', messages: [], files: [], cleared: { messages: [], files: [] } },
    {
      name: 'limit: the oldest ids first',
      messages: [{ ts: 900 }, { ts: 800 }, { ts: 700 }],
      files: [],
      limit: 2,
      cleared: { messages: [0, 1], files: [] },
    },
  ];

  CLEAR_CASES.forEach((t, n) => {
    it(`clearRoom: ${t.name}; one room.cleared entry with {until, by, ids} when anything went, none otherwise`, async () => {
      const room = `clear-${n}`;
      const files = t.files.map((ts, i) => fileRecord(`${room}-f${i}`, room, ts));
      for (const f of files) await s().files.put(f);
      const messages = await append(
        room,
        t.messages.map((m) => ({ ts: m.ts, logged: m.logged ?? true })),
      );
      // The same in the next room, which clearing this one leaves alone.
      await s().files.put(fileRecord(`${room}-next-f`, `${room}-next`, 500));
      await append(`${room}-next`, [{ ts: 500 }]);
      const nextBefore = await roomState(`${room}-next`);
      const before = await roomState(room);
      let out: Awaited<ReturnType<Store['moderation']['clearRoom']>> | undefined;
      const changes = await changesOf(async () => {
        out = await s().moderation.clearRoom(room, 1000, ADMIN, t.limit ?? 100);
      });
      const clearedIds = t.cleared.messages.map((i) => messages[i]?.id as number);
      const clearedFiles = t.cleared.files.map((i) => files[i]?.id as string);
      assert.deepEqual(idsOf(out?.messages ?? []), clearedIds, 'the cleared messages');
      assert.deepEqual((out?.files ?? []).map((f) => f.id).sort(), [...clearedFiles].sort(), 'the cleared files');
      assert.deepEqual(await roomState(room), {
        messages: before.messages.filter((m) => !clearedIds.includes(m.id)),
        files: before.files.filter((f) => !clearedFiles.includes(f.id)),
      });
      assert.deepEqual(await roomState(`${room}-next`), nextBefore, 'another room is untouched');
      const anything = clearedIds.length + clearedFiles.length > 0;
      assert.deepEqual(
        changes,
        anything ? [{ type: 'room.cleared', subject: room, data: { until: 1000, by: ADMIN, ids: clearedIds } }] : [],
      );
    });
  });

  // ---- purge --------------------------------------------------------------------------------------------------

  it('purge of no ids returns nothing and appends nothing; of unknown ids likewise', async () => {
    const missing = (await s().archive.maxId()) + 1000;
    for (const ids of [[], [missing]]) {
      let out: StoredFile[] | undefined;
      const changes = await changesOf(async () => {
        out = await s().moderation.purge(ids);
      });
      assert.deepEqual(out, [], `${ids}`);
      assert.deepEqual(changes, [], `${ids}: no change entry`);
    }
  });

  it('purge deletes the messages and their file records, returns those records, one message.purged per room', async () => {
    const f1 = fileRecord('purge-f1', 'purge-1');
    const f2 = fileRecord('purge-f2', 'purge-2');
    const kept = fileRecord('purge-kept', 'purge-1');
    for (const f of [f1, f2, kept]) await s().files.put(f);
    const [p1a, p1file, p1kept, p1unlogged] = await append('purge-1', [
      {},
      { file: fileRef(f1) },
      { file: fileRef(kept) },
      { logged: false },
    ]);
    const [p2file, p2a] = await append('purge-2', [{ file: fileRef(f2) }, {}]);
    const [p3kept] = await append('purge-3', [{}]);
    const ids = [p2a, p1a, p1file, p2file, p1unlogged].map((m) => m?.id as number);
    let out: StoredFile[] | undefined;
    const changes = await changesOf(async () => {
      out = await s().moderation.purge(ids);
    });
    assert.deepEqual(
      (out ?? []).map((f) => f.id).sort(),
      [f1.id, f2.id],
      'the file records of the purged file messages',
    );
    assert.deepEqual(
      (out ?? []).find((f) => f.id === f1.id),
      f1,
    );
    assert.equal(await s().files.get(f1.id), undefined);
    assert.equal(await s().files.get(f2.id), undefined);
    assert.deepEqual(await s().files.get(kept.id), kept, 'a file message not purged keeps its record');
    assert.deepEqual(idsOf((await roomState('purge-1')).messages), [p1kept?.id], 'purge-1 keeps the one not named');
    assert.deepEqual((await roomState('purge-2')).messages, [], 'purge-2 is empty');
    assert.deepEqual(idsOf((await roomState('purge-3')).messages), [p3kept?.id], 'purge-3 is untouched');
    // One entry per room, each with that room's ids (in whatever order: the spec does not fix one).
    const perRoom = changes
      .map((c) => ({ ...c, data: { ids: [...(c.data.ids as number[])].sort((x, y) => x - y) } }))
      .sort((x, y) => x.subject.localeCompare(y.subject));
    const sorted = (ms: (StoredMessage | undefined)[]) => ms.map((m) => m?.id as number).sort((x, y) => x - y);
    assert.deepEqual(perRoom, [
      { type: 'message.purged', subject: 'purge-1', data: { ids: sorted([p1a, p1file, p1unlogged]) } },
      { type: 'message.purged', subject: 'purge-2', data: { ids: sorted([p2file, p2a]) } },
    ]);
    assert.deepEqual(Object.keys(changes[0]?.data ?? {}), ['ids'], 'the entry carries the ids only');
  });

  // ---- retention ----------------------------------------------------------------------------------------------

  it('setRetention: a number sets (or replaces) the scope’s period, null removes it; each appends retention.put {days}', async () => {
    const steps: { scope: string; days: number | null; period: number | undefined }[] = [
      { scope: 'ret-cat', days: 30, period: 30 },
      { scope: 'ret-cat', days: 7, period: 7 },
      { scope: 'ret-other', days: 90, period: 90 },
      { scope: 'ret-cat', days: null, period: undefined },
      { scope: 'ret-cat', days: 1, period: 1 },
    ];
    for (const [n, t] of steps.entries()) {
      const changes = await changesOf(() => s().moderation.setRetention(t.scope, t.days));
      const label = `step ${n}: ${t.scope} ${t.days}`;
      assert.deepEqual(changes, [{ type: 'retention.put', subject: t.scope, data: { days: t.days } }], label);
      const periods = await s().moderation.retention();
      assert.equal(periods.has(t.scope), t.period !== undefined, label);
      assert.equal(periods.get(t.scope), t.period, label);
    }
    const periods = await s().moderation.retention();
    assert.equal(periods.get('ret-other'), 90, 'another scope keeps its period');
  });

  // ---- legal holds --------------------------------------------------------------------------------------------

  it('legal holds: putting one appends hold.put keyed kind:subject with {by}; removing one appends hold.removed', async () => {
    const hold = (kind: LegalHoldKind, subject: string): LegalHold => ({
      kind,
      subject,
      reason: 'litigation',
      createdBy: ADMIN,
      createdAt: 5000,
    });
    const roomHold = hold('room', 'hold-x');
    const userHold = hold('user', 'hold-x');
    const steps: { name: string; act: () => Promise<boolean>; result: boolean; change?: [string, string] }[] = [
      {
        name: 'put a room hold',
        act: () => s().moderation.addHold(roomHold),
        result: true,
        change: ['hold.put', 'room:hold-x'],
      },
      { name: 'put it again', act: () => s().moderation.addHold({ ...roomHold, reason: 'again' }), result: false },
      {
        name: 'put a user hold on the same subject',
        act: () => s().moderation.addHold(userHold),
        result: true,
        change: ['hold.put', 'user:hold-x'],
      },
      {
        name: 'remove the room hold',
        act: () => s().moderation.removeHold('room', 'hold-x'),
        result: true,
        change: ['hold.removed', 'room:hold-x'],
      },
      { name: 'remove it again', act: () => s().moderation.removeHold('room', 'hold-x'), result: false },
      { name: 'remove a hold never put', act: () => s().moderation.removeHold('user', 'hold-none'), result: false },
    ];
    for (const t of steps) {
      let result: boolean | undefined;
      const changes = await changesOf(async () => {
        result = await t.act();
      });
      assert.equal(result, t.result, t.name);
      assert.deepEqual(
        changes.map((c) => [c.type, c.subject]),
        t.change ? [t.change] : [],
        `${t.name}: change entries`,
      );
      if (t.change?.[0] === 'hold.put') assert.deepEqual(changes[0]?.data, { by: ADMIN }, `${t.name}: {by}`);
    }
    const mine = (await s().moderation.holds()).filter((h) => h.subject === 'hold-x');
    assert.deepEqual(mine, [userHold], 'the user hold remains, as put');
  });

  // ---- leases -------------------------------------------------------------------------------------------------

  // One lease, steps in order. A lease taken at `now` for `ms` is held through now + ms; a later `now` is past it.
  const LEASE_STEPS: { name: string; owner: string; now: number; ms?: number; taken: boolean }[] = [
    { name: 'a free lease is taken', owner: 'A', now: 1000, ms: 100, taken: true },
    { name: 'another owner is refused while it is held', owner: 'B', now: 1000, taken: false },
    { name: 'another owner is refused just before now + ms', owner: 'B', now: 1099, taken: false },
    { name: 'another owner is refused at now + ms', owner: 'B', now: 1100, taken: false },
    { name: 'another owner takes it after now + ms', owner: 'B', now: 1101, ms: 100, taken: true },
    { name: 'the former owner is now refused', owner: 'A', now: 1150, taken: false },
    { name: 'the owner renews it', owner: 'B', now: 1150, ms: 100, taken: true },
    { name: 'the renewal counts from its own now (past the old expiry)', owner: 'A', now: 1240, taken: false },
    { name: 'still held at the renewed now + ms', owner: 'A', now: 1250, taken: false },
    { name: 'free after the renewed now + ms', owner: 'A', now: 1251, ms: 10, taken: true },
    { name: 'the owner may renew an expired lease', owner: 'A', now: 5000, ms: 10, taken: true },
  ];

  it('lease: free is taken, held is refused to others until now + ms, the owner renews', async () => {
    for (const t of LEASE_STEPS)
      assert.equal(await s().moderation.lease('lease-spec', t.owner, t.now, t.ms ?? 100), t.taken, t.name);
  });

  it('lease: leases of different names are independent; releasing frees it, for its owner only', async () => {
    assert.equal(await s().moderation.lease('lease-x', 'A', 1000, 100), true);
    assert.equal(await s().moderation.lease('lease-y', 'B', 1000, 100), true, 'another name is free');
    await s().moderation.releaseLease('lease-x', 'B');
    assert.equal(await s().moderation.lease('lease-x', 'B', 1010, 100), false, 'a non-owner cannot release it');
    await s().moderation.releaseLease('lease-x', 'A');
    assert.equal(await s().moderation.lease('lease-x', 'B', 1020, 100), true, 'released: another owner takes it');
  });
});
