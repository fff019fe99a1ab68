// Specification of message search in the store, on SQLite and PostgreSQL: the time bounds (`since` inclusive,
// `until` exclusive, as docs/protocol.md says), every term having to match (CJK included, whatever index serves
// the term), the room list being the only rooms searched, and paging by id.
import assert from 'node:assert/strict';
import { before } from 'node:test';
import type { MessageSearch, Store } from '../../src/store/port.js';
import { forEachEngine, newMessage } from '../support/spec-engines.js';

const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';

const msg = newMessage;

forEachEngine('search specification', ({ store, storeTest }) => {
  const s = () => store() as Store;
  const ids = new Map<string, number>();
  const it = (title: string, fn: () => Promise<void>) => storeTest(title, () => fn());

  before(async () => {
    if (!store()) return;
    const stored = await s().messages.append([
      // time bounds: one message per millisecond of interest, all containing "tick"
      msg('time', 'tick a', { ts: 1999 }),
      msg('time', 'tick b', { ts: 2000 }),
      msg('time', 'tick c', { ts: 2001 }),
      msg('time', 'tick d', { ts: 3000 }),
      // CJK: each text has some of the terms
      msg('cjk', '我们在持久聊天室里讨论架构'),
      msg('cjk', '持久聊天很好'),
      msg('cjk', '讨论架构设计'),
      msg('cjk', '聊天'),
      msg('cjk', '天聊'),
      // Latin words in any order, all required
      msg('words', 'deploy the frontend'),
      msg('words', 'frontend only'),
      msg('words', 'deploy only'),
      msg('words', 'Deploy FRONTEND loudly', { author: BOB }),
      // a room not in the list must never be searched
      msg('elsewhere', 'tick 我们在持久聊天室里讨论架构 deploy the frontend', { ts: 2000 }),
    ]);
    for (const m of stored) ids.set(`${m.roomId}:${m.text}`, m.id);
  });

  const texts = async (q: Partial<MessageSearch> & { roomIds: string[] }) =>
    (await s().messages.search({ limit: 50, ...q })).messages.map((m) => m.text).sort();

  const bounds: { name: string; since?: number; until?: number; want: string[] }[] = [
    { name: 'since is inclusive', since: 2000, want: ['tick b', 'tick c', 'tick d'] },
    { name: 'since one after', since: 2001, want: ['tick c', 'tick d'] },
    { name: 'until is exclusive', until: 2000, want: ['tick a'] },
    { name: 'until one after', until: 2001, want: ['tick a', 'tick b'] },
    { name: 'a one-millisecond window', since: 2000, until: 2001, want: ['tick b'] },
    { name: 'an empty window', since: 2000, until: 2000, want: [] },
    { name: 'an inverted window', since: 3000, until: 2000, want: [] },
    { name: 'both bounds around all', since: 0, until: 10_000, want: ['tick a', 'tick b', 'tick c', 'tick d'] },
    { name: 'no bounds', want: ['tick a', 'tick b', 'tick c', 'tick d'] },
  ];
  for (const b of bounds) {
    it(`time bounds: ${b.name} (since ${b.since ?? '-'}, until ${b.until ?? '-'})`, async () => {
      const q = { roomIds: ['time'], since: b.since, until: b.until };
      assert.deepEqual(await texts({ ...q, text: 'tick' }), b.want, 'with a text');
      assert.deepEqual(await texts(q), b.want, 'without a text');
    });
  }

  const terms: { text: string; want: string[] }[] = [
    // two-character terms (the bigram index on SQLite)
    { text: '聊天 架构', want: ['我们在持久聊天室里讨论架构'] },
    { text: '架构 聊天', want: ['我们在持久聊天室里讨论架构'] },
    { text: '持久 讨论 架构', want: ['我们在持久聊天室里讨论架构'] },
    // a long term and a two-character one (trigram and bigram together)
    { text: '持久聊天 架构', want: ['我们在持久聊天室里讨论架构'] },
    { text: '讨论架构 持久', want: ['我们在持久聊天室里讨论架构'] },
    // two long terms
    { text: '持久聊天 讨论架构', want: ['我们在持久聊天室里讨论架构'] },
    // one-character terms (a scan)
    { text: '们 构', want: ['我们在持久聊天室里讨论架构'] },
    { text: '聊 设', want: [] },
    // one term alone finds every text that has it
    { text: '聊天', want: ['我们在持久聊天室里讨论架构', '持久聊天很好', '聊天'] },
    { text: '架构', want: ['我们在持久聊天室里讨论架构', '讨论架构设计'] },
    // a term that no text has makes the whole query empty, whatever the other terms match
    { text: '聊天 架构 火箭', want: [] },
    { text: '火箭 聊天', want: [] },
    { text: '持久聊天 火箭', want: [] },
    // order of characters inside a term matters
    { text: '天聊', want: ['天聊'] },
  ];
  for (const t of terms) {
    it(`every CJK term must match: ${JSON.stringify(t.text)} → ${t.want.length}`, async () => {
      assert.deepEqual(await texts({ roomIds: ['cjk'], text: t.text }), [...t.want].sort());
    });
  }

  const words: { name: string; q: Partial<MessageSearch>; want: string[] }[] = [
    {
      name: 'both words, any order',
      q: { text: 'frontend deploy' },
      want: ['Deploy FRONTEND loudly', 'deploy the frontend'],
    },
    { name: 'a missing word', q: { text: 'deploy frontend rocket' }, want: [] },
    { name: 'exact phrase', q: { text: 'deploy the', exactPhrase: true }, want: ['deploy the frontend'] },
    { name: 'phrase in another order', q: { text: 'frontend deploy', exactPhrase: true }, want: [] },
    {
      name: 'case-sensitive, all words',
      q: { text: 'Deploy FRONTEND', caseSensitive: true },
      want: ['Deploy FRONTEND loudly'],
    },
    { name: 'case-sensitive, wrong case', q: { text: 'deploy FRONTEND', caseSensitive: true }, want: [] },
    { name: 'author filter', q: { text: 'deploy', authors: [BOB] }, want: ['Deploy FRONTEND loudly'] },
    {
      name: 'authors are alternatives',
      q: { text: 'only', authors: [BOB, ALICE] },
      want: ['deploy only', 'frontend only'],
    },
    {
      name: 'white space only is no text',
      q: { text: '   ' },
      want: ['Deploy FRONTEND loudly', 'deploy only', 'deploy the frontend', 'frontend only'],
    },
    { name: 'LIKE wildcards are literal', q: { text: '%o_' }, want: [] },
  ];
  for (const w of words) {
    it(`words: ${w.name}`, async () => {
      assert.deepEqual(await texts({ roomIds: ['words'], ...w.q }), [...w.want].sort());
    });
  }

  it('only the listed rooms are searched; an empty list finds nothing', async () => {
    assert.deepEqual(await texts({ roomIds: [], text: 'tick' }), []);
    assert.deepEqual(await texts({ roomIds: ['nowhere'], text: 'deploy' }), []);
    assert.deepEqual(await texts({ roomIds: ['time', 'words'], text: 'tick' }), [
      'tick a',
      'tick b',
      'tick c',
      'tick d',
    ]);
    assert.deepEqual(await texts({ roomIds: ['elsewhere'], text: 'tick' }), [
      'tick 我们在持久聊天室里讨论架构 deploy the frontend',
    ]);
  });

  it('pages newest first by id: beforeId is exclusive, limit caps the page, count counts them all', async () => {
    const all = await s().messages.search({ roomIds: ['time'], text: 'tick', limit: 50 });
    const idsDesc = ['tick d', 'tick c', 'tick b', 'tick a'].map((t) => ids.get(`time:${t}`));
    assert.deepEqual(
      all.messages.map((m) => m.id),
      idsDesc,
    );
    assert.equal(all.count, 4);
    assert.equal(all.exceededLimit, false);
    const page = await s().messages.search({ roomIds: ['time'], text: 'tick', limit: 2, beforeId: idsDesc[0] });
    assert.deepEqual(
      page.messages.map((m) => m.id),
      idsDesc.slice(1, 3),
    );
    const capped = await s().messages.search({ roomIds: ['time'], text: 'tick', limit: 2, countLimit: 3 });
    assert.equal(capped.messages.length, 2);
    assert.equal(capped.count, 3);
    assert.equal(capped.exceededLimit, true);
    const exact = await s().messages.search({ roomIds: ['time'], text: 'tick', limit: 2, countLimit: 4 });
    assert.equal(exact.count, 4);
    assert.equal(exact.exceededLimit, false);
  });
});
