// The room sequencer: messages of one room reach local sessions in store-id order, whichever server committed
// them, exactly once; a gap is filled from the store after the hold time; a bus outage is caught up by resync.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RoomSequencer } from '../../../src/pool/room-sequencer.js';

interface Msg {
  id: number;
  prevId: number;
}

/** A room's stored messages (ids) and a sequencer that delivers into `out`. */
function harness(stored: number[], holdMs = 20) {
  const out: number[] = [];
  const fetches: [number, number | undefined][] = [];
  const seq = new RoomSequencer<number>({
    holdMs,
    async fetchAfter(_room, afterId, upToId) {
      fetches.push([afterId, upToId]);
      return stored
        .filter((id) => id > afterId && (upToId === undefined || id <= upToId))
        .map((id) => ({ id, event: id }));
    },
    deliver: (_room, id) => out.push(id),
  });
  seq.track('r', 0);
  const offer = (m: Msg) => seq.offer('r', m.id, m.prevId, m.id);
  return { seq, out, fetches, offer };
}

const chain = (ids: number[]): Msg[] => ids.map((id, i) => ({ id, prevId: i === 0 ? 0 : (ids[i - 1] as number) }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('room sequencer', () => {
  const orders: [string, number[]][] = [
    ['in order', [0, 1, 2, 3, 4]],
    ['reversed', [4, 3, 2, 1, 0]],
    ['interleaved', [1, 0, 3, 2, 4]],
    ['last first', [4, 0, 1, 2, 3]],
  ];
  for (const [name, order] of orders) {
    test(`arrivals ${name}: delivered once each, in id order, with no store read when nothing is missing`, async () => {
      const ids = [3, 7, 8, 15, 21];
      const msgs = chain(ids);
      const h = harness(ids);
      for (const i of order) h.offer(msgs[i] as Msg);
      assert.deepEqual(h.out, ids);
      await sleep(40);
      assert.deepEqual(h.fetches, [], 'the chain was complete: no fill');
    });
  }

  test('duplicates (at-least-once delivery) are dropped, before and after their first delivery', () => {
    const msgs = chain([5, 6, 9]);
    const h = harness([5, 6, 9]);
    for (const m of [msgs[0], msgs[0], msgs[2], msgs[2], msgs[1], msgs[1], msgs[0]]) h.offer(m as Msg);
    assert.deepEqual(h.out, [5, 6, 9]);
  });

  test('a lost envelope is filled from the store after the hold time, in order', async () => {
    const ids = [10, 11, 12, 13];
    const msgs = chain(ids);
    const h = harness(ids);
    h.offer(msgs[0] as Msg);
    h.offer(msgs[2] as Msg); // 11 never arrives
    h.offer(msgs[3] as Msg);
    assert.deepEqual(h.out, [10], 'held back behind the gap');
    await sleep(60);
    assert.deepEqual(h.out, ids);
    assert.deepEqual(h.fetches, [[10, 13]]);
  });

  test('a late envelope after its gap was filled is not delivered twice', async () => {
    const ids = [1, 2, 3];
    const msgs = chain(ids);
    const h = harness(ids);
    h.offer(msgs[2] as Msg);
    await sleep(60);
    h.offer(msgs[0] as Msg);
    h.offer(msgs[1] as Msg);
    assert.deepEqual(h.out, ids);
  });

  test('messages below the start id are what the joiner already has: dropped', () => {
    const h = harness([]);
    h.seq.track('r', 50); // raises the start of an already tracked room
    h.offer({ id: 40, prevId: 30 });
    h.offer({ id: 50, prevId: 40 });
    h.offer({ id: 51, prevId: 50 });
    assert.deepEqual(h.out, [51]);
  });

  test('resync fills everything committed while the bus was away', async () => {
    const h = harness([1, 2, 3, 4, 5]);
    h.offer({ id: 1, prevId: 0 });
    await h.seq.resync();
    assert.deepEqual(h.out, [1, 2, 3, 4, 5]);
    h.offer({ id: 5, prevId: 4 });
    h.offer({ id: 6, prevId: 5 });
    assert.deepEqual(h.out, [1, 2, 3, 4, 5, 6]);
  });

  test('an untracked room delivers nothing; a store failure still delivers what waits, in order', async () => {
    const out: number[] = [];
    const errors: unknown[] = [];
    const seq = new RoomSequencer<number>({
      holdMs: 10,
      fetchAfter: async () => {
        throw new Error('store down');
      },
      deliver: (_r, id) => out.push(id),
      onError: (_r, e) => errors.push(e),
    });
    seq.offer('nowhere', 1, 0, 1);
    assert.deepEqual(out, []);
    seq.track('r', 0);
    seq.offer('r', 9, 8, 9);
    seq.offer('r', 7, 6, 7);
    await sleep(40);
    assert.deepEqual(out, [7, 9]);
    assert.equal(errors.length, 1);
    seq.untrack('r');
    seq.offer('r', 10, 9, 10);
    assert.deepEqual(out, [7, 9]);
  });
});
