// Topic feeds, on SQLite and PostgreSQL: a filter restricted to rooms or authors alerts (and reads) only the
// messages in those rooms or by those authors; a user's own messages and filters with alert off do not alert;
// a filter belongs to the user who made it: another user cannot read, change or delete it, and is told it does
// not exist (FILTER_NOT_FOUND naming the field 'id'). Changing or removing a filter changes its alerts at once.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Feeds } from '../../../src/chat/feeds.js';
import type { ChatEvent, Session } from '../../../src/chat/types.js';
import { parseListEdit } from '../../../src/core/principals.js';
import type { FeedFilter } from '../../../src/store/port.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, until, uri } from './fixture.js';

/** The alerts a session got, as "filter name: message text", sorted. */
const alerts = (got: ChatEvent[]): string[] =>
  got
    .filter((e) => e.type === 'alert')
    .map((e) => (e.type === 'alert' ? `${e.filterName}: ${e.message.text}` : ''))
    .sort();

const notFound = (id: string) => ({
  code: 'FILTER_NOT_FOUND',
  field: 'id',
  message: `id: feed ${id} does not exist`,
});

for (const engine of ENGINES) {
  describe(`topic feeds [${engine}]`, { timeout: 120_000 }, () => {
    let fx: ChatFixture | undefined;
    let feeds: Feeds;
    let ops: string;
    before(async () => {
      fx = await chatFixture(engine, (core) => {
        feeds = new Feeds(core);
      });
      if (!fx) return;
      await feeds.start();
      ops = (
        await fx.admin.newRoom({
          name: 'Ops',
          category: 'Eng',
          members: parseListEdit([uri('alice'), uri('bob'), uri('carol')].join(','), 'members'),
        })
      ).id;
      await fx.core.model.poll();
    });
    after(async () => fx?.close());
    const it = fixtureTest(engine, () => fx);

    /** Posts, then a marker in every room, and waits until `watcher` has the markers' alerts. */
    const postAll = async (fx: ChatFixture, watcher: Session, posts: [Session, string, string][]) => {
      for (const [s, room, text] of posts) await fx.core.post(s, room, { text });
      const alice = fx.open('alice');
      await fx.core.post(alice, fx.rooms.general, { text: 'zzmark general' });
      await fx.core.post(alice, ops, { text: 'zzmark ops' });
      await until(
        () => alerts(fx.got(watcher)).filter((a) => a.startsWith('marker:')).length === 2,
        'the markers’ alerts',
      );
      fx.core.closeSession(alice);
    };

    it('rooms and authors restrict which messages alert; own messages and alert off never do', async (fx) => {
      const bob = uri('bob');
      const mine: FeedFilter[] = [];
      for (const input of [
        { name: 'in general', keywords: ['deploy'], roomIds: [fx.rooms.general] },
        { name: 'by carol', keywords: ['deploy'], authors: [uri('carol')] },
        { name: 'quiet', keywords: ['deploy'], alert: false },
        { name: 'ops room', roomIds: [ops] },
        { name: 'carol', authors: [uri('carol')] },
        { name: 'carol again', authors: [uri('carol')] },
        { name: 'secret', roomIds: [fx.rooms.secret] },
        { name: 'marker', keywords: ['zzmark'] },
      ])
        mine.push(await feeds.putFeed(bob, input));
      const watcher = fx.open('bob');
      const alice = fx.open('alice');
      const carol = fx.open('carol');
      const bobPosting = fx.open('bob');
      await postAll(fx, watcher, [
        [alice, fx.rooms.general, 'deploy A'],
        [alice, ops, 'deploy B'],
        [carol, ops, 'deploy C'],
        [carol, ops, 'hello D'],
        [bobPosting, fx.rooms.general, 'deploy E'],
        [bobPosting, ops, 'bob in ops'],
        // bob may not read the secret room: no alert, not in any feed
        [alice, fx.rooms.secret, 'deploy S'],
      ]);
      // a story's title counts as its text
      await fx.core.post(alice, fx.rooms.general, { kind: 'story', title: 'Deploy plan', text: 'see inside' });
      await until(() => alerts(fx.got(watcher)).includes('in general: see inside'), 'the story’s alert');
      assert.deepEqual(alerts(fx.got(watcher)), [
        'by carol: deploy C',
        'carol again: deploy C',
        'carol again: hello D',
        'carol: deploy C',
        'carol: hello D',
        'in general: deploy A',
        'in general: see inside',
        'marker: zzmark general',
        'marker: zzmark ops',
        'ops room: deploy B',
        'ops room: deploy C',
        'ops room: hello D',
        'ops room: zzmark ops',
      ]);
      // reading a feed applies the same restrictions (own messages included), newest first
      const read = async (name: string) => {
        const f = mine.find((x) => x.name === name) as FeedFilter;
        return (await feeds.feed(bob, f.id)).map((m) => m.text);
      };
      assert.deepEqual(await read('in general'), ['see inside', 'deploy E', 'deploy A']);
      assert.deepEqual(await read('secret'), [], 'a filter on rooms one may not read reads nothing');
      assert.deepEqual(await read('by carol'), ['deploy C']);
      assert.deepEqual(await read('carol'), ['hello D', 'deploy C']);
      assert.deepEqual(await read('ops room'), ['zzmark ops', 'bob in ops', 'hello D', 'deploy C', 'deploy B']);
      for (const s of [watcher, alice, carol, bobPosting]) fx.core.closeSession(s);
      for (const f of mine) await feeds.removeFeed(bob, f.id);
    });

    it('another user’s filter cannot be read, changed or deleted: it does not exist for them', async () => {
      const carol = uri('carol');
      const bob = uri('bob');
      const theirs = await feeds.putFeed(carol, { name: 'carol’s', keywords: ['secret plan'] });
      const own = await feeds.putFeed(bob, { name: 'bob’s own', keywords: ['lunch'] });
      const bobsBefore = await feeds.listFeeds(bob);
      await assert.rejects(
        feeds.putFeed(bob, { id: theirs.id, name: 'hijacked', keywords: ['x'] }),
        notFound(theirs.id),
      );
      await assert.rejects(feeds.removeFeed(bob, theirs.id), notFound(theirs.id));
      await assert.rejects(feeds.feed(bob, theirs.id), notFound(theirs.id));
      assert.deepEqual(await feeds.listFeeds(carol), [theirs], 'carol’s filter is as she made it');
      assert.deepEqual(await feeds.listFeeds(bob), bobsBefore, 'bob got nothing');
      // an id nobody has is not a way to choose one's own ids
      await assert.rejects(
        feeds.putFeed(bob, { id: 'chosen-id', name: 'mine', keywords: ['x'] }),
        notFound('chosen-id'),
      );
      await assert.rejects(feeds.removeFeed(bob, 'chosen-id'), notFound('chosen-id'));
      assert.deepEqual(await feeds.listFeeds(bob), bobsBefore);
      await feeds.removeFeed(carol, theirs.id);
      await assert.rejects(feeds.removeFeed(carol, theirs.id), notFound(theirs.id), 'removed once only');
      assert.deepEqual(await feeds.listFeeds(carol), []);
      await feeds.removeFeed(bob, own.id);
    });

    it('changing a filter changes its alerts at once; a removed filter alerts no more', async (fx) => {
      const bob = uri('bob');
      const marker = await feeds.putFeed(bob, { name: 'marker', keywords: ['zzmark'] });
      const f = await feeds.putFeed(bob, { name: 'first', keywords: ['alpha'] });
      const watcher = fx.open('bob');
      const alice = fx.open('alice');
      await postAll(fx, watcher, [[alice, fx.rooms.general, 'alpha one']]);
      const changed = await feeds.putFeed(bob, { id: f.id, name: 'second', keywords: ['beta'] });
      assert.equal(changed.id, f.id, 'the same filter');
      assert.deepEqual(
        (await feeds.listFeeds(bob)).map((x) => [x.id, x.name]).sort(),
        [
          [f.id, 'second'],
          [marker.id, 'marker'],
        ].sort(),
      );
      fx.got(watcher).length = 0;
      await postAll(fx, watcher, [
        [alice, fx.rooms.general, 'alpha two'],
        [alice, fx.rooms.general, 'beta two'],
      ]);
      assert.deepEqual(
        alerts(fx.got(watcher)).filter((a) => !a.startsWith('marker:')),
        ['second: beta two'],
      );
      await feeds.removeFeed(bob, f.id);
      fx.got(watcher).length = 0;
      await postAll(fx, watcher, [[alice, fx.rooms.general, 'beta three']]);
      assert.deepEqual(
        alerts(fx.got(watcher)).filter((a) => !a.startsWith('marker:')),
        [],
      );
      await feeds.removeFeed(bob, marker.id);
      fx.core.closeSession(watcher);
      fx.core.closeSession(alice);
    });
  });
}
