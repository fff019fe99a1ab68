// Topic feed limits as a client sees them, on SQLite and PostgreSQL: a user keeps at most feedsPerUser filters,
// and one more is refused with INVALID_VALUE naming the field 'feeds' and the number; a filter id is a text of at
// most 128 characters: up to 128 it is looked up (FILTER_NOT_FOUND naming 'id' when the user has no such filter),
// past 128 or not a text it is refused as not a feed id. A refused filter stores nothing.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Feeds } from '../../../src/chat/feeds.js';
import { USER_STORAGE_LIMITS as L } from '../../../src/core/model.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, uri } from './fixture.js';

/** The refusal of a promise as [code, field, message], or 'ok'. */
const outcome = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    const err = e as { code?: string; field?: string; message?: string };
    return [err.code, err.field, err.message];
  }
};

for (const engine of ENGINES) {
  describe(`topic feed limits [${engine}]`, () => {
    let fx: ChatFixture | undefined;
    let feeds: Feeds;
    before(async () => {
      fx = await chatFixture(engine, (core) => {
        feeds = new Feeds(core);
      });
      if (fx) await feeds.start();
    });
    after(async () => fx?.close());
    const it = fixtureTest(engine, () => fx);

    it(`a filter past the ${L.feedsPerUser} a user keeps is refused naming the field 'feeds' and the limit; rewriting one of the ${L.feedsPerUser} is not`, async () => {
      const user = uri('carol');
      for (let i = 0; i < L.feedsPerUser; i++) await feeds.putFeed(user, { name: `feed ${i}`, keywords: [`k${i}`] });
      assert.deepEqual(await outcome(feeds.putFeed(user, { name: 'one more', keywords: ['x'] })), [
        'INVALID_VALUE',
        'feeds',
        `feeds: at most ${L.feedsPerUser} feed filters per user`,
      ]);
      const mine = await feeds.listFeeds(user);
      assert.equal(mine.length, L.feedsPerUser, 'nothing stored');
      assert.equal(await outcome(feeds.putFeed(user, { id: mine[0]?.id, name: 'renamed', keywords: ['y'] })), 'ok');
    });

    it('a filter id up to 128 characters is looked up; longer, or not a text, it is not a feed id', async () => {
      const user = uri('bob');
      const before = (await feeds.listFeeds(user)).length;
      const notFound = (id: string) => ['FILTER_NOT_FOUND', 'id', `id: feed ${id} does not exist`];
      const notAnId = ['INVALID_VALUE', 'id', 'id: not a feed id'];
      const cases: [what: string, id: unknown, want: unknown][] = [
        ['1 character', 'x', notFound('x')],
        ['127 characters', 'i'.repeat(127), notFound('i'.repeat(127))],
        ['128 characters', 'i'.repeat(128), notFound('i'.repeat(128))],
        ['129 characters', 'i'.repeat(129), notAnId],
        ['a number', 7, notAnId],
        ['null', null, notAnId],
      ];
      for (const [what, id, want] of cases) {
        assert.deepEqual(
          await outcome(feeds.putFeed(user, { id, name: 'by id', keywords: ['k'] } as never)),
          want,
          what,
        );
      }
      assert.equal((await feeds.listFeeds(user)).length, before, 'nothing stored');
    });
  });
}
