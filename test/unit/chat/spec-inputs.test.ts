// What a client may send to the feed, search and preference modules, on SQLite and PostgreSQL: every refused
// input is answered with INVALID_VALUE (or FRAME_TOO_LARGE) naming the field a client shows next to its input,
// with a sentence that says what is wrong, and leaves the user's stored feeds and preferences as they were; the
// inputs at the edge of each rule are accepted.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { ChatEvents } from '../../../src/chat/events.js';
import { Feeds } from '../../../src/chat/feeds.js';
import { Follows } from '../../../src/chat/follows.js';
import { Preferences } from '../../../src/chat/preferences.js';
import { MessageSearch } from '../../../src/chat/search.js';
import type { FeedInput, SearchQuery } from '../../../src/chat/types.js';
import { USER_STORAGE_LIMITS as L } from '../../../src/core/model.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, uri } from './fixture.js';

interface Refusal {
  code: string;
  field: string | undefined;
  message: string;
}

/** How `p` was refused; fails when it was not. */
const refusal = async (p: Promise<unknown>): Promise<Refusal> => {
  try {
    await p;
  } catch (e) {
    const { code, field, message } = e as { code?: string; field?: string; message: string };
    return { code: code ?? String(e), field, message };
  }
  assert.fail('accepted');
};

/** [what, input, code, field, message] */
type Row<I> = [string, I, string, string | undefined, RegExp];

const assertRefused = (got: Refusal, [what, , code, field, message]: Row<unknown>) => {
  assert.equal(got.code, code, `${what}: code`);
  assert.equal(got.field, field, `${what}: field`);
  assert.match(got.message, message, `${what}: message`);
};

for (const engine of ENGINES) {
  describe(`chat module inputs [${engine}]`, { timeout: 120_000 }, () => {
    let fx: ChatFixture | undefined;
    let feeds: Feeds;
    let search: MessageSearch;
    let prefs: Preferences;
    let follows: Follows;
    const searched: ChatEvents['searched'][] = [];
    before(async () => {
      fx = await chatFixture(engine, (core) => {
        feeds = new Feeds(core);
        search = new MessageSearch(core);
        prefs = new Preferences(core);
        follows = new Follows(core);
        core.events.on('searched', (e) => void searched.push(e));
      });
      await feeds?.start();
    });
    after(async () => fx?.close());
    const it = fixtureTest(engine, () => fx);

    it('a feed filter that breaks a rule is refused naming its field, and nothing is stored', async () => {
      const carol = uri('carol');
      const kept = await feeds.putFeed(carol, { name: 'kept', keywords: ['release'] });
      const rows: Row<Record<string, unknown>>[] = [
        [
          'no keyword, author or room',
          { name: 'empty' },
          'INVALID_VALUE',
          'keywords',
          /at least one keyword, author or room/,
        ],
        [
          'empty lists',
          { name: 'empty', keywords: [], authors: [], roomIds: [] },
          'INVALID_VALUE',
          'keywords',
          /^keywords: a feed needs at least one keyword, author or room$/,
        ],
        [
          'keywords that are only blanks',
          { name: 'blank', keywords: ['  ', ''] },
          'INVALID_VALUE',
          'keywords',
          /at least one keyword, author or room/,
        ],
        [
          'no name',
          { keywords: ['x'] },
          'INVALID_VALUE',
          'name',
          /^name: a feed needs a name of at most 128 characters$/,
        ],
        ['a blank name', { name: '   ', keywords: ['x'] }, 'INVALID_VALUE', 'name', /needs a name/],
        ['a name that is not text', { name: 42, keywords: ['x'] }, 'INVALID_VALUE', 'name', /needs a name/],
        [
          'a name with U+0000',
          { name: 'a\u0000b', keywords: ['x'] },
          'INVALID_VALUE',
          'name',
          /^name: must not contain U\+0000/,
        ],
        [
          'keywords not a list',
          { name: 'n', keywords: 'deploy' },
          'INVALID_VALUE',
          'keywords',
          /^keywords: must be a list of strings$/,
        ],
        ['a keyword not text', { name: 'n', keywords: ['ok', 7] }, 'INVALID_VALUE', 'keywords', /list of strings/],
        [
          'too many keywords',
          { name: 'n', keywords: Array.from({ length: L.keywordsPerFeed + 1 }, (_, i) => `k${i}`) },
          'INVALID_VALUE',
          'keywords',
          new RegExp(`^keywords: at most ${L.keywordsPerFeed} entries$`),
        ],
        [
          'a keyword too long',
          { name: 'n', keywords: ['k'.repeat(L.keywordLength + 1)] },
          'INVALID_VALUE',
          'keywords',
          new RegExp(`^keywords: at most ${L.keywordLength} characters each$`),
        ],
        [
          'one keyword too long among short ones',
          { name: 'n', keywords: ['ok', 'k'.repeat(L.keywordLength + 1)] },
          'INVALID_VALUE',
          'keywords',
          /^keywords: at most \d+ characters each$/,
        ],
        [
          'a name one character too long',
          { name: '🚀'.repeat(L.feedNameLength + 1), keywords: ['x'] },
          'INVALID_VALUE',
          'name',
          /needs a name of at most/,
        ],
        [
          'an author that is not a SIP URI',
          { name: 'n', authors: ['not a uri'] },
          'INVALID_VALUE',
          'authors',
          /^authors: "not a uri" is not a SIP URI/,
        ],
        ['authors not a list', { name: 'n', authors: uri('bob') }, 'INVALID_VALUE', 'authors', /list of strings/],
        [
          'a room id over 128 characters',
          { name: 'n', roomIds: ['r'.repeat(129)] },
          'INVALID_VALUE',
          'roomIds',
          /^roomIds: not a room id$/,
        ],
        ['room ids not a list', { name: 'n', roomIds: 'r1' }, 'INVALID_VALUE', 'roomIds', /list of strings/],
        [
          'an id over 128 characters',
          { name: 'n', keywords: ['x'], id: 'i'.repeat(129) },
          'INVALID_VALUE',
          'id',
          /^id: not a feed id$/,
        ],
        [
          'an id that is not text',
          { name: 'n', keywords: ['x'], id: 42 },
          'INVALID_VALUE',
          'id',
          /^id: not a feed id$/,
        ],
      ];
      for (const row of rows) {
        assertRefused(await refusal(feeds.putFeed(carol, row[1] as unknown as FeedInput)), row);
        assert.deepEqual(await feeds.listFeeds(carol), [kept], `${row[0]}: nothing stored`);
      }
    });

    it('a feed needs only one of keywords, authors or rooms; room ids of 128 characters and authors are normalized', async () => {
      const dave = uri('dave');
      const longRoom = 'r'.repeat(128);
      const rows: [string, FeedInput, Record<string, unknown>][] = [
        [
          'keywords only',
          { name: 'k', keywords: [' deploy ', 'deploy', ''] },
          { keywords: ['deploy'], authors: [], roomIds: [] },
        ],
        [
          'authors only',
          { name: 'a', authors: ['Bob@Contoso.com'] },
          { keywords: [], authors: [uri('bob')], roomIds: [] },
        ],
        ['rooms only', { name: 'r', roomIds: [longRoom] }, { keywords: [], authors: [], roomIds: [longRoom] }],
        ['alert off', { name: ' quiet ', keywords: ['x'], alert: false }, { name: 'quiet', alert: false }],
        ['alert on unless said otherwise', { name: 'loud', keywords: ['x'] }, { alert: true }],
        [
          'a name of feedNameLength characters (not UTF-16 units)',
          { name: '🚀'.repeat(L.feedNameLength), keywords: ['x'] },
          { name: '🚀'.repeat(L.feedNameLength) },
        ],
      ];
      for (const [what, input, want] of rows) {
        const f = await feeds.putFeed(dave, input);
        const stored = (await feeds.listFeeds(dave)).find((x) => x.id === f.id);
        assert.deepEqual(stored, f, `${what}: stored as returned`);
        for (const [k, v] of Object.entries(want)) assert.deepEqual(f[k as keyof typeof f], v, `${what}: ${k}`);
        assert.equal(f.user, dave);
      }
    });

    it('a search query that breaks a rule is refused naming its field, and no search is recorded', async () => {
      const bob = uri('bob');
      const rows: Row<Record<string, unknown>>[] = [
        ['text a number', { text: 42 }, 'INVALID_VALUE', 'text', /^text: must be a string$/],
        ['text a list', { text: ['deploy'] }, 'INVALID_VALUE', 'text', /^text: must be a string$/],
        [
          'text over 1000 characters',
          { text: 'a'.repeat(1001) },
          'INVALID_VALUE',
          'text',
          /^text: at most 1000 characters$/,
        ],
        ['text with U+0000', { text: 'a\u0000' }, 'INVALID_VALUE', 'text', /^text: must not contain U\+0000/],
        ['since not whole', { since: 1.5 }, 'INVALID_VALUE', 'since', /^since: must be a whole number/],
        ['until not a number', { until: 'tomorrow' }, 'INVALID_VALUE', 'until', /whole number/],
        ['beforeId too large', { beforeId: 2 ** 60 }, 'INVALID_VALUE', 'before', /^before: must be a whole number/],
        [
          'an author not a SIP URI',
          { authors: ['no one'] },
          'INVALID_VALUE',
          'authors',
          /^authors: "no one" is not a SIP URI/,
        ],
      ];
      for (const row of rows) {
        const n = searched.length;
        assertRefused(await refusal(search.search(bob, row[1] as SearchQuery)), row);
        assert.equal(searched.length, n, `${row[0]}: no search was run`);
      }
    });

    it('search text of exactly 1000 characters is accepted; a door not named is rest', async () => {
      const r = await search.search(uri('bob'), { text: 'a'.repeat(1000) });
      assert.deepEqual(r.messages, []);
      const e = searched.at(-1);
      assert.equal(e?.query.text?.length, 1000);
      assert.equal(e?.who.door, 'rest');
    });

    it('a search reads only rooms one may read, a page of 50 unless asked, counting every match', async (fx) => {
      const alice = fx.open('alice');
      for (let i = 0; i < 51; i++) await fx.core.post(alice, fx.rooms.general, { text: `needle ${i}` });
      await fx.core.post(alice, fx.rooms.secret, { text: 'needle in the secret room' });
      const bob = await search.search(uri('bob'), { text: 'needle' });
      assert.equal(bob.messages.length, 50, 'a page of 50');
      assert.equal(bob.count, 51, 'the secret room is not searched');
      assert.ok(bob.messages.every((m) => m.roomId === fx.rooms.general));
      assert.equal((await search.search(uri('bob'), { text: 'needle', limit: 60 })).messages.length, 51);
      assert.equal((await search.search(uri('alice'), { text: 'needle', limit: 60 })).count, 52);
      assert.equal((await search.search(uri('carol'), { text: 'needle' })).count, 0, 'a closed room one is not in');
      await assert.rejects(search.search(uri('bob'), { text: 'needle', roomId: fx.rooms.secret }), {
        code: 'ROOM_NOT_FOUND',
        field: 'room',
      });
      await assert.rejects(search.search(uri('carol'), { text: 'needle', roomId: fx.rooms.general }), {
        code: 'NOT_A_MEMBER',
        field: 'room',
      });
      fx.core.closeSession(alice);
    });

    it('a preference write that breaks a rule is refused naming its field, and the document stays', async () => {
      const alice = uri('alice');
      await prefs.setPref(alice, 'ui.theme', 'dark');
      const big = 'p'.repeat(L.prefChars + 1);
      const rows: Row<[unknown, unknown]>[] = [
        ['content a number', ['ui.theme', 42], 'INVALID_VALUE', 'content', /^content: must be text$/],
        ['content missing', ['ui.theme', undefined], 'INVALID_VALUE', 'content', /^content: must be text$/],
        ['content an object', ['ui.theme', { theme: 'light' }], 'INVALID_VALUE', 'content', /^content: must be text$/],
        [
          'content with U+0000',
          ['ui.theme', 'a\u0000'],
          'INVALID_VALUE',
          'content',
          /^content: must not contain U\+0000/,
        ],
        ['content over the size', ['ui.theme', big], 'FRAME_TOO_LARGE', undefined, /^content: at most 64 KiB$/],
        ['a label with a blank', ['ui theme', 'light'], 'INVALID_VALUE', 'label', /^label: must be 1–128 letters/],
        ['an empty label', ['', 'light'], 'INVALID_VALUE', 'label', /^label: must be 1–128/],
        ['a label over 128 characters', ['l'.repeat(129), 'light'], 'INVALID_VALUE', 'label', /^label: must be 1–128/],
        ['a label not text', [7, 'light'], 'INVALID_VALUE', 'label', /^label: must be 1–128/],
      ];
      for (const row of rows) {
        const [label, content] = row[1];
        assertRefused(await refusal(prefs.setPref(alice, label as string, content as string)), row);
        assert.equal(await prefs.getPref(alice, 'ui.theme'), 'dark', `${row[0]}: unchanged`);
      }
      assertRefused(await refusal(prefs.getPref(alice, 'no good')), [
        'reading a bad label',
        null,
        'INVALID_VALUE',
        'label',
        /^label: must be/,
      ]);
      await prefs.setPref(alice, 'l'.repeat(128), 'edge');
      assert.equal(await prefs.getPref(alice, 'l'.repeat(128)), 'edge');
      await prefs.setPref(alice, 'ui.theme', '');
      assert.equal(await prefs.getPref(alice, 'ui.theme'), '', 'empty text is a document');
    });

    it('past the number or total size of preference documents, the refusal says which limit', async () => {
      const dave = uri('dave');
      const big = 'p'.repeat(L.prefChars);
      const fit = Math.floor(L.prefTotalChars / L.prefChars);
      for (let i = 0; i < fit; i++) await prefs.setPref(dave, `big${i}`, big);
      assertRefused(await refusal(prefs.setPref(dave, 'over', 'x')), [
        'the total used up',
        null,
        'FRAME_TOO_LARGE',
        undefined,
        new RegExp(`^content: at most ${L.prefTotalChars} characters of preferences per user$`),
      ]);
      for (let i = fit; i < L.prefsPerUser; i++) await prefs.setPref(dave, `p${i}`, '');
      assertRefused(await refusal(prefs.setPref(dave, 'one-more', '')), [
        'too many documents',
        null,
        'INVALID_VALUE',
        'label',
        new RegExp(`^label: at most ${L.prefsPerUser} preference documents per user$`),
      ]);
      assert.equal(await prefs.getPref(dave, 'over'), undefined);
      assert.equal(await prefs.getPref(dave, 'one-more'), undefined);
    });

    it('follows: a read mark is a message id from 0; unfollowing works even where one may no longer read', async (fx) => {
      const bob = uri('bob');
      await follows.follow(bob, fx.rooms.general, true);
      const m = await fx.core.post(fx.open('alice'), fx.rooms.general, { text: 'to be read' });
      await follows.markRead(bob, fx.rooms.general, m.id);
      for (const bad of [-1, 1.5, 2 ** 60, '7', Number.NaN]) {
        assertRefused(await refusal(follows.markRead(bob, fx.rooms.general, bad as number)), [
          String(bad),
          null,
          'INVALID_VALUE',
          'messageId',
          /^messageId: must be a message id$/,
        ]);
        assert.equal((await follows.follows(bob))[0]?.lastReadId, m.id, `${bad}: the mark stays`);
      }
      await follows.markRead(bob, fx.rooms.general, 0);
      assert.equal((await follows.follows(bob))[0]?.lastReadId, m.id, '0 is accepted; a mark never moves back');
      await assert.rejects(follows.follow(bob, fx.rooms.secret, true), { code: 'ROOM_NOT_FOUND', field: 'room' });
      await follows.follow(bob, fx.rooms.general, false);
      assert.deepEqual(await follows.follows(bob), [], 'unfollowed');
      await follows.follow(bob, fx.rooms.secret, false);
      assert.deepEqual(await follows.follows(bob), [], 'unfollowing a room one may not read is no error');
    });

    it('a page size is a whole number from 1; larger ones are cut to the most allowed', async (fx) => {
      const max = fx.core.model.config.searchLimit;
      for (const bad of [0, -5, 2.5]) {
        assertRefused(await refusal(search.search(uri('bob'), { limit: bad })), [
          String(bad),
          null,
          'INVALID_VALUE',
          'limit',
          new RegExp(`^limit: must be a whole number from 1 to ${max}$`),
        ]);
      }
      assert.equal((await search.search(uri('bob'), { limit: 1 })).messages.length, 1);
      assert.ok((await search.search(uri('bob'), { limit: max * 10 })).messages.length <= max);
    });
  });
}
