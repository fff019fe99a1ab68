// Topic feeds and preferences against hostile use (issue #9 item 4), on SQLite and PostgreSQL: what one user may
// keep is bounded, a feed read is one store query, and per-post alert matching finds exactly the filters whose
// keywords occur (in any script) without looking at the others.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AlertIndex, Feeds } from '../../../src/chat/feeds.js';
import { Preferences } from '../../../src/chat/preferences.js';
import type { MessageView } from '../../../src/chat/types.js';
import { normalizeForMatch } from '../../../src/core/keyword-matcher.js';
import { USER_STORAGE_LIMITS as L } from '../../../src/core/model.js';
import type { FeedFilter } from '../../../src/store/port.js';
import { type ChatFixture, chatFixture, type Engine, fixtureTest, uri } from './fixture.js';

const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};

const filter = (id: string, over: Partial<FeedFilter>): FeedFilter => ({
  id,
  user: uri('bob'),
  name: id,
  keywords: [],
  authors: [],
  roomIds: [],
  alert: true,
  ...over,
});

const message = (text: string, over: Partial<MessageView> = {}): MessageView =>
  ({ id: 1, roomId: 'r1', author: uri('alice'), ts: 1, kind: 'regular', text, title: null, ...over }) as MessageView;

describe('AlertIndex: per-post matching', () => {
  test('finds exactly the filters whose keywords occur, in any script, among thousands that do not', () => {
    const scripts = ['deploy', 'Release', '持久聊天', 'レビュー', 'объявление', 'مرحبا', 'नमस्ते', 'straße', '🚀'];
    const filters: FeedFilter[] = [];
    // 5,000 filters of other users whose keywords never occur in the messages below
    for (let i = 0; i < 5000; i++) filters.push(filter(`noise${i}`, { keywords: [`zq${i}xv`, `noise-${i}-kw`] }));
    scripts.forEach((k, i) => {
      filters.push(filter(`f${i}`, { keywords: [k, `unused${i}`] }));
    });
    filters.push(filter('by-author', { authors: [uri('alice')] }));
    filters.push(filter('by-room', { roomIds: ['r9'] }));
    filters.push(filter('no-alert', { keywords: ['deploy'], alert: false }));
    const index = new AlertIndex(filters);
    const texts = [
      'We DEPLOY the release tonight',
      '我们在持久聊天室里讨论架构',
      'コードレビューをお願いします',
      'Важное ОБЪЯВЛЕНИЕ',
      'قال مرحبا',
      'नमस्ते दुनिया',
      'Die STRASSE',
      'launch 🚀',
      'nothing at all',
    ];
    for (const text of texts) {
      const want = scripts
        .map((k, i) => (normalizeForMatch(text).includes(normalizeForMatch(k)) ? `f${i}` : undefined))
        .filter((x) => x !== undefined);
      const got = index
        .candidates(message(text, { author: uri('carol') }))
        .map((f) => f.id)
        .sort();
      assert.deepEqual(got, [...want].sort(), text);
    }
    assert.deepEqual(
      index
        .candidates(message('x', { author: uri('alice'), roomId: 'r9' }))
        .map((f) => f.id)
        .sort(),
      ['by-author', 'by-room'],
    );
  });
});

for (const engine of ['sqlite', 'postgres'] as Engine[]) {
  describe(`feeds and preferences bounds: ${engine}`, { timeout: 120_000 }, () => {
    let fx: ChatFixture | undefined;
    let feeds: Feeds;
    let prefs: Preferences;
    before(async () => {
      fx = await chatFixture(engine, (core) => {
        feeds = new Feeds(core);
        prefs = new Preferences(core);
      });
      await feeds?.start();
    });
    after(async () => fx?.close());
    const it = fixtureTest(engine, () => fx);

    it('a feed holds at most keywordsPerFeed keywords of at most keywordLength characters', async () => {
      const user = uri('carol');
      const ok = Array.from({ length: L.keywordsPerFeed }, (_, i) => `k${i}`);
      const cases: [string, Record<string, unknown>, string][] = [
        ['keywords at the limit', { name: 'a', keywords: ok }, 'ok'],
        ['one keyword too many', { name: 'b', keywords: [...ok, 'extra'] }, 'INVALID_VALUE'],
        ['thousands of keywords', { name: 'c', keywords: Array(5000).fill('x'.repeat(190)) }, 'INVALID_VALUE'],
        ['a keyword at the length limit', { name: 'd', keywords: ['é'.repeat(L.keywordLength)] }, 'ok'],
        ['a keyword one too long', { name: 'e', keywords: ['x'.repeat(L.keywordLength + 1)] }, 'INVALID_VALUE'],
        [
          'too many authors',
          { name: 'f', authors: Array.from({ length: L.authorsPerFeed + 1 }, (_, i) => uri(`u${i}`)) },
          'INVALID_VALUE',
        ],
        [
          'too many rooms',
          { name: 'g', roomIds: Array.from({ length: L.roomsPerFeed + 1 }, (_, i) => `r${i}`) },
          'INVALID_VALUE',
        ],
        ['a long name', { name: 'n'.repeat(L.feedNameLength + 1), keywords: ['x'] }, 'INVALID_VALUE'],
        ['keywords not a list', { name: 'h', keywords: 'deploy' }, 'INVALID_VALUE'],
      ];
      for (const [what, input, want] of cases) {
        const before = (await feeds.listFeeds(user)).length;
        assert.equal(await code(feeds.putFeed(user, input as never)), want, what);
        if (want !== 'ok') assert.equal((await feeds.listFeeds(user)).length, before, `${what}: nothing stored`);
      }
    });

    it('a user keeps at most feedsPerUser feeds; another user is not affected', async () => {
      const user = uri('dave');
      for (let i = 0; i < L.feedsPerUser; i++) await feeds.putFeed(user, { name: `feed ${i}`, keywords: [`k${i}`] });
      assert.equal(await code(feeds.putFeed(user, { name: 'one more', keywords: ['x'] })), 'INVALID_VALUE');
      assert.equal((await feeds.listFeeds(user)).length, L.feedsPerUser);
      // changing an existing feed is still allowed
      const first = (await feeds.listFeeds(user))[0] as FeedFilter;
      assert.equal(await code(feeds.putFeed(user, { id: first.id, name: 'renamed', keywords: ['y'] })), 'ok');
      assert.equal(await code(feeds.putFeed(uri('bob'), { name: 'bob’s', keywords: ['x'] })), 'ok');
    });

    it('reading a feed is one store query, whatever the number of keywords', async (fxx) => {
      const bob = uri('bob');
      const session = fxx.open('alice');
      await fxx.core.post(session, fxx.rooms.general, { text: 'deploy at noon' });
      await fxx.core.post(session, fxx.rooms.general, { text: 'レビュー please' });
      await fxx.core.post(session, fxx.rooms.general, { text: 'ok' });
      const keywords = [...Array.from({ length: L.keywordsPerFeed - 2 }, (_, i) => `none${i}`), 'DEPLOY', 'レビュー'];
      const f = await feeds.putFeed(bob, { name: 'many', keywords });
      const search = fxx.store.messages.search.bind(fxx.store.messages);
      let calls = 0;
      fxx.store.messages.search = (q) => {
        calls += 1;
        return search(q);
      };
      try {
        const got = await feeds.feed(bob, f.id);
        assert.deepEqual(
          got.map((m) => m.text),
          ['レビュー please', 'deploy at noon'],
        );
        assert.equal(calls, 1);
        const page = await feeds.feed(bob, f.id, { limit: 1 });
        assert.equal(page.length, 1);
      } finally {
        fxx.store.messages.search = search;
      }
    });

    it('preferences: at most prefsPerUser documents, prefChars each, prefTotalChars in all', async () => {
      const user = uri('bob');
      const big = 'p'.repeat(L.prefChars);
      assert.equal(await code(prefs.setPref(user, 'toolong', `${big}x`)), 'FRAME_TOO_LARGE');
      const fit = Math.floor(L.prefTotalChars / L.prefChars);
      for (let i = 0; i < fit; i++) await prefs.setPref(user, `big${i}`, big);
      assert.equal(await code(prefs.setPref(user, 'over', 'x')), 'FRAME_TOO_LARGE', 'the total is used up');
      assert.equal(await code(prefs.setPref(user, 'big0', 'small now')), 'ok', 'shrinking one frees room');
      for (let i = fit; i < L.prefsPerUser; i++) assert.equal(await code(prefs.setPref(user, `p${i}`, 'v')), 'ok');
      assert.equal(await code(prefs.setPref(user, 'one-more', 'v')), 'INVALID_VALUE');
      assert.equal(await code(prefs.setPref(user, 'p99', 'updated')), 'ok', 'updating an existing label is fine');
      assert.equal(await prefs.getPref(user, 'one-more'), undefined);
      assert.equal(await code(prefs.setPref(uri('carol'), 'x', 'v')), 'ok', 'another user is not affected');
    });
  });
}
