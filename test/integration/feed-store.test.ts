// Store side of topic feeds (issue #9 item 4) on both engines: a feed read is one query matching any of its
// keywords (short, long, any script), newest first, bounded by the page; preference usage per user.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NewMessage, Store } from '../../src/store/port.js';
import { DIALECTS, type Engine, freshEngine } from '../support/engines.js';
import { engineUnavailable } from '../support/spec-engines.js';

const msg = (roomId: string, text: string, title: string | null = null): NewMessage => ({
  roomId,
  author: 'sip:alice@contoso.com',
  ts: 1000,
  kind: title ? 'story' : 'regular',
  text,
  title,
  rich: null,
  file: null,
  logged: true,
});

for (const dialect of DIALECTS) {
  describe(`feed queries: ${dialect}`, { timeout: 60_000 }, () => {
    let engine: Engine | undefined;
    let store: Store;
    const ids = new Map<string, number>();
    before(async () => {
      engine = await freshEngine(dialect, 'feed queries');
      if (!engine) return;
      store = await engine.open();
      const texts: [string, string, string | null][] = [
        ['r1', 'We deploy on Friday', null],
        ['r1', 'Release notes are out', null],
        ['r1', '我们在持久聊天室里讨论架构', null],
        ['r2', 'コードレビューをお願いします', null],
        ['r2', 'Важное объявление', null],
        ['r1', 'a story body', 'Quarterly OKR'],
        ['r1', 'go 50% off_sale', null],
        ['r3', 'deploy in another room', null],
        ['r1', 'nothing here', null],
      ];
      for (const [room, text, title] of texts) {
        const [m] = await store.messages.append([msg(room, text, title)]);
        ids.set(text, (m as { id: number }).id);
      }
    });
    after(async () => {
      await store?.close();
      await engine?.cleanup();
    });
    const it = (title: string, fn: () => Promise<void>) =>
      test(title, async (t) => {
        if (!engine) return engineUnavailable(t, dialect);
        await fn();
      });
    const feed = async (anyOf: string[], roomIds = ['r1', 'r2'], extra: { beforeId?: number; limit?: number } = {}) =>
      (
        await store.messages.search({
          roomIds,
          anyOf,
          noCount: true,
          limit: extra.limit ?? 50,
          beforeId: extra.beforeId,
        })
      ).messages;

    it('matches any keyword, short or long, case-insensitively, newest first', async () => {
      const got = await feed(['DEPLOY', 'release', 'ok']);
      assert.deepEqual(
        got.map((m) => m.id),
        [ids.get('a story body'), ids.get('Release notes are out'), ids.get('We deploy on Friday')],
      );
    });
    it('matches keywords in any script, 2-character CJK included', async () => {
      const got = await feed(['聊天', 'レビュー', 'объявление']);
      assert.deepEqual(
        got.map((m) => m.text).sort(),
        ['Важное объявление', 'コードレビューをお願いします', '我们在持久聊天室里讨论架构'].sort(),
      );
    });
    it('LIKE wildcards and FTS syntax in keywords are plain characters', async () => {
      assert.deepEqual(
        (await feed(['50%'])).map((m) => m.text),
        ['go 50% off_sale'],
      );
      assert.deepEqual((await feed(['f_s'])).length, 1);
      assert.deepEqual((await feed(['%'])).length, 1);
      assert.deepEqual(await feed(['"OR"', 'NEAR(', '*']), []);
    });
    it('only in the given rooms; paged by id and bounded by the limit', async () => {
      assert.deepEqual(
        (await feed(['deploy'], ['r3'])).map((m) => m.text),
        ['deploy in another room'],
      );
      const page = await feed(['e'], ['r1', 'r2', 'r3'], { limit: 2 });
      assert.equal(page.length, 2);
      const next = await feed(['e'], ['r1', 'r2', 'r3'], { limit: 2, beforeId: page[1]?.id });
      assert.ok(next.every((m) => m.id < (page[1]?.id as number)));
    });
    it('a thousand keywords are still one query that answers', async () => {
      const many = Array.from({ length: 1000 }, (_, i) => `kw${i}-${'x'.repeat(50)}`);
      assert.deepEqual(await feed([...many, 'Friday']).then((r) => r.map((m) => m.text)), ['We deploy on Friday']);
    });
    it('preference usage counts documents and characters per user', async () => {
      assert.deepEqual(await store.prefs.usage('sip:alice@contoso.com'), { count: 0, chars: 0 });
      await store.prefs.set('sip:alice@contoso.com', 'a', 'x'.repeat(10));
      await store.prefs.set('sip:alice@contoso.com', 'b', '日本語');
      await store.prefs.set('sip:bob@contoso.com', 'a', 'y'.repeat(99));
      assert.deepEqual(await store.prefs.usage('sip:alice@contoso.com'), { count: 2, chars: 13 });
      await store.prefs.set('sip:alice@contoso.com', 'a', '');
      assert.deepEqual(await store.prefs.usage('sip:alice@contoso.com'), { count: 2, chars: 3 });
    });
  });
}
