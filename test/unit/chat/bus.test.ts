// The bus port: the in-process adapter, duplicate dropping, and the core delivering what arrives on a room's
// subject (from itself or from another server) to its local sessions exactly once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { registerRoster } from '../../../src/chat/roster.js';
import { type BusEnvelope, Dedupe, roomSubject } from '../../../src/pool/bus.js';
import { LocalBus } from '../../../src/pool/local-bus.js';
import { type ChatFixture, chatFixture, uri } from './fixture.js';

describe('bus port', () => {
  test('the local bus routes by subject prefix, in publish order, until unsubscribed', () => {
    const bus = new LocalBus('s1');
    const rooms: string[] = [];
    const users: string[] = [];
    const off = bus.subscribe('room.', (e) => void rooms.push(e.key));
    bus.subscribe('user.', (e) => void users.push(e.key));
    const env = (subject: string, key: string): BusEnvelope => ({
      subject,
      key,
      origin: 's1',
      body: { kind: 'sessions.revoked', user: 'u', reason: 'r' },
    });
    bus.publish(env('room.a', '1'));
    bus.publish(env('user.x', '2'));
    bus.publish(env('room.b', '3'));
    off();
    bus.publish(env('room.a', '4'));
    assert.deepEqual(rooms, ['1', '3']);
    assert.deepEqual(users, ['2']);
  });

  test('Dedupe passes a key once per subject and forgets the oldest beyond its window', () => {
    const d = new Dedupe(3);
    assert.equal(d.first('room.a', 'm:1'), true);
    assert.equal(d.first('room.a', 'm:1'), false);
    assert.equal(d.first('room.b', 'm:1'), true, 'another subject is another event');
    d.first('room.a', 'm:2');
    d.first('room.a', 'm:3');
    assert.equal(d.first('room.a', 'm:1'), true, 'beyond the window');
  });

  describe('the core on the bus', () => {
    let fx: ChatFixture;
    const bus = new LocalBus('server-a');
    before(async () => {
      fx = (await chatFixture('sqlite', registerRoster, { bus })) as ChatFixture;
    });
    after(async () => fx.close());

    test('a message delivered twice (at least once) reaches each session once; one from another server is rebuilt', async () => {
      const alice = fx.open('alice');
      await fx.core.join(alice, [fx.rooms.general]);
      const seen: BusEnvelope[] = [];
      bus.subscribe('room.', (e) => void seen.push(e));
      const bob = fx.open('bob');
      await fx.core.join(bob, [fx.rooms.general]);
      const m = await fx.core.post(bob, fx.rooms.general, { text: 'once' });
      const published = seen.find((e) => e.body.kind === 'message') as BusEnvelope;
      assert.equal(published.subject, roomSubject(fx.rooms.general));
      assert.equal(published.key, `m:${m.id}`);
      bus.publish(published); // redelivery
      bus.publish({ ...published, local: undefined, origin: 'server-b' }); // the same event via another server
      assert.equal(fx.got(alice).filter((e) => e.type === 'message').length, 1);
      // a message committed by another server: only its body (the stored message, no view) travels
      assert.ok(published.body.kind === 'message');
      const remote: BusEnvelope = {
        subject: roomSubject(fx.rooms.general),
        key: `m:${m.id + 1000}`,
        origin: 'server-b',
        body: {
          kind: 'message',
          roomId: fx.rooms.general,
          logged: true,
          message: { ...published.body.message, id: m.id + 1000, text: 'from b', file: null },
        },
      };
      bus.publish(remote);
      const texts = fx.got(alice).flatMap((e) => (e.type === 'message' ? [e.message.text] : []));
      assert.deepEqual(texts, ['once', 'from b']);
      const fromB = fx.got(alice).at(-1);
      assert.equal(fromB?.type === 'message' && fromB.message.authorName, 'Bob', 'rebuilt with the local directory');
      // a roster notice from another server
      bus.publish({
        subject: roomSubject(fx.rooms.general),
        key: 'server-b:1',
        origin: 'server-b',
        body: { kind: 'roster', roomId: fx.rooms.general, action: 'join', user: uri('carol'), displayName: 'Carol' },
      });
      assert.deepEqual(fx.got(alice).at(-1), {
        type: 'join',
        roomId: fx.rooms.general,
        user: uri('carol'),
        displayName: 'Carol',
      });
    });
  });
});
