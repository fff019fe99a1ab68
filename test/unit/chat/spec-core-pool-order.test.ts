// The chat core in pool mode (several servers commit into one store; ChatCoreOptions.poolOrder): a room's
// messages reach this server's sessions in store-id order whatever order the bus brings them in; a message
// whose predecessor does not arrive is held for the hold time and the gap is filled from the store, up to the
// held message and no further, starting after the newest message the join answered; after a bus outage resync
// fills every room; when the store cannot be read the held messages go out anyway and the failure is logged.
// Each message this server publishes names its room's previous message. Admin message changes and room changes
// that arrive on the bus reach the modules, and a failure applying a room change is logged. On SQLite and
// PostgreSQL: another server's commits are written straight into the store and their envelopes published by hand.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Backchat } from '../../../src/chat/backchat.js';
import type { ChatEvents } from '../../../src/chat/events.js';
import type { Session } from '../../../src/chat/types.js';
import { PchatError } from '../../../src/core/errors.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { type BusEnvelope, roomSubject } from '../../../src/pool/bus.js';
import { LocalBus } from '../../../src/pool/local-bus.js';
import type { StoredMessage } from '../../../src/store/port.js';
import { engineUnavailable, newMessage } from '../../support/spec-engines.js';
import { type ChatFixture, chatFixture, ENGINES, until, uri } from './fixture.js';

const HOLD_MS = 30;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The envelope another server of the pool publishes for a message it committed. */
const fromServerB = (m: StoredMessage, prevId: number): BusEnvelope => ({
  subject: roomSubject(m.roomId),
  key: `m:${m.id}`,
  origin: 'server-b',
  body: { kind: 'message', roomId: m.roomId, message: m, logged: true, prevId },
});

for (const engine of ENGINES) {
  describe(`chat core in pool mode (${engine})`, () => {
    let fx: ChatFixture | undefined;
    const bus = new LocalBus('server-a');
    const arrived: ChatEvents['message.arrived'][] = [];
    const removed: ChatEvents['message.removed'][] = [];
    const replaced: ChatEvents['message.replaced'][] = [];
    const roomChanges: ChatEvents['room.changed'][] = [];
    let roomSeq = 0;

    before(async () => {
      fx = await chatFixture(
        engine,
        (core) => {
          new Backchat(core).register();
          core.events.on('message.arrived', (e) => void arrived.push(e));
          core.events.on('message.removed', (e) => void removed.push(e));
          core.events.on('message.replaced', (e) => void replaced.push(e));
          core.events.on('room.changed', (e) => void roomChanges.push(e));
          core.events.on('committing', ({ items }) => {
            if (items.some((i) => i.message.text === 'poison')) throw new Error('recorder refuses poison');
          });
        },
        // admin changes are read only when a test (or a room change) asks
        { bus, poolOrder: { holdMs: HOLD_MS }, pollMs: 60_000 },
      );
    });
    after(async () => fx?.close());

    /** A new room for alice and bob, known to the core. */
    const freshRoom = async (f: ChatFixture): Promise<string> => {
      const members = parseListEdit(`${uri('alice')},${uri('bob')}`, 'members');
      const room = await f.admin.newRoom({ name: `Pool room ${++roomSeq}`, category: 'Eng', members });
      await f.core.model.poll();
      return room.id;
    };
    /** Messages another server committed in the room, in one transaction. */
    const commitElsewhere = (f: ChatFixture, roomId: string, texts: string[]) =>
      f.store.messages.append(texts.map((t) => newMessage(roomId, t, { author: uri('bob'), ts: Date.now() })));
    const texts = (f: ChatFixture, s: Session) =>
      f.got(s).flatMap((e) => (e.type === 'message' ? [e.message.text] : []));
    const joined = async (f: ChatFixture, roomId: string) => {
      const s = f.open('alice');
      const [r] = await f.core.join(s, [roomId]);
      assert.ok(r?.ok, 'alice joined');
      return { s, history: r.joined.history.map((m) => m.text) };
    };

    test('messages arriving out of order reach the sessions in id order, once each, with nothing read', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const room = await freshRoom(fx);
      const { s } = await joined(fx, room);
      const [b1, b2, b3] = (await commitElsewhere(fx, room, ['b1', 'b2', 'b3'])) as StoredMessage[] &
        [StoredMessage, StoredMessage, StoredMessage];
      arrived.length = 0;
      bus.publish(fromServerB(b3, b2.id));
      assert.deepEqual(texts(fx, s), [], 'b3 waits for its predecessor');
      bus.publish(fromServerB(b1, 0));
      assert.deepEqual(texts(fx, s), ['b1']);
      bus.publish(fromServerB(b2, b1.id));
      assert.deepEqual(texts(fx, s), ['b1', 'b2', 'b3']);
      bus.publish(fromServerB(b1, 0)); // at-least-once: a redelivery
      await sleep(HOLD_MS * 3);
      assert.deepEqual(texts(fx, s), ['b1', 'b2', 'b3'], 'no duplicate, no fill');
      assert.deepEqual(
        arrived.map((a) => [a.message.text, a.logged]),
        [
          ['b1', true],
          ['b2', true],
          ['b3', true],
        ],
      );
      fx.core.closeSession(s);
    });

    test('a gap is filled from the store after the hold time: after what the join answered, up to the held message', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const room = await freshRoom(fx);
      await commitElsewhere(fx, room, ['e1', 'e2']);
      const { s, history } = await joined(fx, room);
      assert.deepEqual(history, ['e1', 'e2'], 'the join answered the recent messages');
      const [, g2, g3, g4] = (await commitElsewhere(fx, room, ['g1', 'g2', 'g3', 'g4'])) as StoredMessage[] &
        [StoredMessage, StoredMessage, StoredMessage, StoredMessage];
      arrived.length = 0;
      // g1 and g2's envelopes are lost; g4 is committed but its envelope is still on its way
      bus.publish(fromServerB(g3, g2.id));
      assert.deepEqual(texts(fx, s), [], 'held for the hold time');
      await until(() => texts(fx as ChatFixture, s).length >= 3, 'the gap filled');
      assert.deepEqual(texts(fx, s), ['g1', 'g2', 'g3'], 'g4 is not read ahead of its envelope');
      assert.deepEqual(
        arrived.map((a) => [a.message.text, a.logged, a.message.authorName]),
        [
          ['g1', true, 'Bob'],
          ['g2', true, 'Bob'],
          ['g3', true, 'Bob'],
        ],
        'the filled messages reach the modules as logged messages',
      );
      bus.publish(fromServerB(g4, g3.id));
      assert.deepEqual(texts(fx, s), ['g1', 'g2', 'g3', 'g4']);
      assert.deepEqual(fx.logs, []);
      fx.core.closeSession(s);
    });

    test('after a bus outage, resync delivers what was committed meanwhile', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const room = await freshRoom(fx);
      const { s } = await joined(fx, room);
      await commitElsewhere(fx, room, ['r1', 'r2']);
      fx.logs.length = 0;
      await fx.core.resync();
      assert.deepEqual(texts(fx, s), ['r1', 'r2']);
      assert.deepEqual(fx.logs, []);
      fx.core.closeSession(s);
    });

    test('a resync that cannot read the store is logged as "catching up after a bus outage failed"', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { changes } = fx.store;
      const since = changes.since;
      changes.since = async () => {
        throw new Error('store is down');
      };
      fx.logs.length = 0;
      try {
        await fx.core.resync();
      } finally {
        changes.since = since;
      }
      assert.deepEqual(
        fx.logs.map((l) => [l.level, l.msg, (l.fields?.err as Error | undefined)?.message]),
        [['error', 'catching up after a bus outage failed', 'store is down']],
      );
    });

    test('when the store cannot fill a gap, the held messages go out anyway and the failure is logged', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const room = await freshRoom(fx);
      const { s } = await joined(fx, room);
      const [f1, f2] = (await commitElsewhere(fx, room, ['f1', 'f2'])) as StoredMessage[] &
        [StoredMessage, StoredMessage];
      const { messages } = fx.store;
      const afterFn = messages.after;
      messages.after = async () => {
        throw new Error('store is down');
      };
      fx.logs.length = 0;
      try {
        bus.publish(fromServerB(f2, f1.id));
        await until(() => texts(fx as ChatFixture, s).length >= 1, 'the held message');
      } finally {
        messages.after = afterFn;
      }
      assert.deepEqual(texts(fx, s), ['f2']);
      assert.deepEqual(
        fx.logs.map((l) => [l.level, l.msg, l.fields?.roomId, (l.fields?.err as Error | undefined)?.message]),
        [['error', 'filling a gap in a room from the store failed', room, 'store is down']],
      );
      fx.core.closeSession(s);
    });

    test('a message for a room with no session here still reaches the modules', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const room = await freshRoom(fx);
      const [q1, q2] = (await commitElsewhere(fx, room, ['q1', 'q2'])) as StoredMessage[] &
        [StoredMessage, StoredMessage];
      arrived.length = 0;
      bus.publish(fromServerB(q2, q1.id));
      bus.publish(fromServerB(q1, 0));
      assert.deepEqual(
        arrived.map((a) => a.message.text),
        ['q2', 'q1'],
        'as they come: no room here to order',
      );
    });

    test('each message this server commits names its room’s previous message, within a batch too', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const roomA = await freshRoom(fx);
      const roomB = await freshRoom(fx);
      const [earlier] = (await commitElsewhere(fx, roomA, ['earlier'])) as [StoredMessage];
      const { s: alice } = await joined(fx, roomA);
      const bob = fx.open('bob');
      const seen: BusEnvelope[] = [];
      const off = bus.subscribe('room.', (e) => void seen.push(e));
      fx.logs.length = 0;
      try {
        // one turn, one batch: two messages in A, one in the empty room B, and one the recorder refuses
        const results = await Promise.allSettled([
          fx.core.post(alice, roomA, { text: 'a1' }),
          fx.core.post(bob, roomB, { text: 'b1' }),
          fx.core.post(bob, roomA, { text: 'poison' }),
          fx.core.post(bob, roomA, { text: 'a2' }),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
        );
        const ids = new Map(
          seen.flatMap((e) => (e.body.kind === 'message' ? [[e.body.message.text, e.body.message.id]] : [])),
        );
        assert.deepEqual(
          seen.flatMap((e) => (e.body.kind === 'message' ? [[e.body.message.text, e.body.prevId]] : [])),
          [
            ['a1', earlier.id],
            ['b1', 0],
            ['a2', ids.get('a1')],
          ],
        );
        assert.deepEqual(texts(fx, alice), ['a1', 'a2']);
        assert.deepEqual(
          fx.logs.filter((l) => l.msg === 'reading the previous message id failed'),
          [],
        );
      } finally {
        off();
      }
      fx.core.closeSession(alice);
      fx.core.closeSession(bob);
    });

    test('when the previous id cannot be read, the message goes out as the first of its room and it is logged', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const room = await freshRoom(fx);
      const { s } = await joined(fx, room);
      const seen: BusEnvelope[] = [];
      const off = bus.subscribe('room.', (e) => void seen.push(e));
      const { messages } = fx.store;
      const lastIdBefore = messages.lastIdBefore;
      messages.lastIdBefore = async () => {
        throw new Error('store is down');
      };
      fx.logs.length = 0;
      try {
        const m = await fx.core.post(s, room, { text: 'orphan' });
        assert.equal(m.text, 'orphan');
      } finally {
        messages.lastIdBefore = lastIdBefore;
        off();
      }
      assert.deepEqual(
        seen.map((e) => e.body.kind === 'message' && e.body.prevId),
        [0],
      );
      assert.deepEqual(
        fx.logs.map((l) => [l.level, l.msg, l.fields?.roomId, (l.fields?.err as Error | undefined)?.message]),
        [['error', 'reading the previous message id failed', room, 'store is down']],
      );
      assert.deepEqual(texts(fx, s), ['orphan']);
      fx.core.closeSession(s);
    });

    test('messages an administrator removed or replaced on another server reach the modules, one event per message', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const { rooms } = fx;
      const admin = uri('admin');
      removed.length = 0;
      replaced.length = 0;
      const changed = (key: string, roomId: string, ids: number[], replacement: string | null): BusEnvelope => ({
        subject: roomSubject(roomId),
        key,
        origin: 'server-b',
        body: { kind: 'messages.changed', roomId, ids, replacement, by: admin },
      });
      bus.publish(changed('server-b:1', rooms.general, [11, 12], null));
      bus.publish(changed('server-b:2', 'gone-room', [13], 'redacted'));
      bus.publish(changed('server-b:2', 'gone-room', [13], 'redacted')); // a redelivery
      const who = { user: admin, displayName: admin, door: 'rest' };
      assert.deepEqual(
        removed.map(({ at: _at, ...e }) => e),
        [11, 12].map((id) => ({
          who,
          where: { id: rooms.general, name: 'General' },
          message: { id, kind: 'regular', text: '' },
        })),
      );
      assert.deepEqual(
        replaced.map(({ at: _at, ...e }) => e),
        [
          {
            who,
            where: { id: 'gone-room', name: 'gone-room' },
            message: { id: 13, kind: 'regular', text: '' },
            replacement: { id: 13, kind: 'regular', text: 'redacted' },
          },
        ],
      );
      for (const e of [...removed, ...replaced]) assert.ok(Math.abs(e.at - Date.now()) < 5000);
    });

    test('a room change from another server is applied with the newest model; a failure applying it is logged', async (t) => {
      if (!fx) return engineUnavailable(t, engine);
      const room = await freshRoom(fx);
      await fx.admin.setRoom(room, { description: 'changed on server b' });
      const changeId = await fx.store.changes.latestId();
      roomChanges.length = 0;
      fx.core.publishRoomChange(room, changeId);
      await until(() => roomChanges.length > 0, 'the room change');
      assert.equal(roomChanges[0]?.changeId, changeId);
      assert.equal(roomChanges[0]?.room?.description, 'changed on server b', 'the model was read first');
      assert.deepEqual(roomChanges[0]?.where, fx.core.where(room));

      const off = fx.core.events.on(
        'room.changed',
        () => {
          throw new PchatError('INTERNAL', 'live effects broke');
        },
        { module: 'live-effects' },
      );
      fx.logs.length = 0;
      try {
        await fx.admin.setRoom(room, { description: 'again' });
        const failing = await fx.store.changes.latestId();
        fx.core.publishRoomChange(room, failing);
        await until(() => fx?.logs.some((l) => l.msg === 'applying a room change failed') === true, 'the log');
        const logged = fx.logs.find((l) => l.msg === 'applying a room change failed');
        assert.deepEqual(
          [
            logged?.level,
            logged?.fields?.roomId,
            logged?.fields?.changeId,
            (logged?.fields?.err as Error | undefined)?.message,
          ],
          ['error', room, failing, 'live effects broke'],
        );
      } finally {
        off();
      }
      // a room removed meanwhile: the modules are told with no room, named by its id
      await fx.admin.removeRoom(room);
      const removal = await fx.store.changes.latestId();
      roomChanges.length = 0;
      fx.core.publishRoomChange(room, removal);
      await until(() => roomChanges.length > 0, 'the removal');
      assert.deepEqual(
        roomChanges.map(({ at: _at, ...e }) => e),
        [{ where: { id: room, name: room }, changeId: removal, room: undefined }],
      );
    });
  });
}
