// The NATS adapter of the bus port, on a real NATS: envelopes reach the other servers of the same pool (not other
// pools, not back to their origin), keep one publisher's order, survive any room id or SIP URI as a subject, and
// a NATS restart is followed by a resync call once the link is back.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { BusEnvelope } from '../../src/pool/bus.js';
import { NatsBus } from '../../src/pool/nats-bus.js';
import { natsUrl, ThrowawayNats } from '../support/nats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
const env = (subject: string, key: string, origin: string): BusEnvelope => ({
  subject,
  key,
  origin,
  body: { kind: 'room.changed', roomId: subject.slice(5), changeId: 1 },
});

describe('NATS bus', async () => {
  const url = await natsUrl('NATS bus');
  const pool = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const buses: NatsBus[] = [];
  const open = async (serverId: string, p = pool) => {
    const b = await NatsBus.connect({ url: url as string, pool: p, serverId });
    buses.push(b);
    return b;
  };
  after(async () => {
    for (const b of buses) await b.close();
  });

  test('the other servers of the pool receive each envelope once, in publish order; the origin only locally', {
    skip: !url,
  }, async () => {
    const fe1 = await open('fe1');
    const fe2 = await open('fe2');
    const fe3 = await open('fe3');
    const other = await open('fe1', `${pool}-other`);
    const got: Record<string, string[]> = { fe1: [], fe2: [], fe3: [], other: [] };
    fe1.subscribe('room.', (e) => got.fe1?.push(e.key));
    fe2.subscribe('room.', (e) => got.fe2?.push(e.key));
    fe3.subscribe('room.', (e) => got.fe3?.push(e.key));
    other.subscribe('room.', (e) => got.other?.push(e.key));
    await Promise.all(buses.map((b) => b.flush()));
    const rooms = ['abc', 'a.b.c', 'x>*y', '会議室', ''];
    const keys: string[] = [];
    for (let i = 0; i < 200; i++) {
      const key = `m:${i}`;
      keys.push(key);
      fe1.publish(env(`room.${rooms[i % rooms.length]}`, key, 'fe1'));
    }
    await fe1.flush();
    await until(() => got.fe2?.length === 200 && got.fe3?.length === 200, 5000, 'deliveries');
    assert.deepEqual(got.fe1, keys, 'the origin delivers locally, at once, in order');
    assert.deepEqual(got.fe2, keys);
    assert.deepEqual(got.fe3, keys);
    await sleep(100);
    assert.deepEqual(got.other, [], 'another pool hears nothing');
    assert.equal(got.fe1?.length, 200, 'no echo from NATS back to the origin');
  });

  test('subjects keep their prefix: a user. subscriber does not get room. envelopes', { skip: !url }, async () => {
    const a = await open('ua');
    const b = await open('ub');
    const rooms: string[] = [];
    const users: string[] = [];
    b.subscribe('room.', (e) => rooms.push(e.subject));
    b.subscribe('user.', (e) => users.push(e.subject));
    await b.flush();
    a.publish(env('room.r1', 'k1', 'ua'));
    a.publish({
      subject: 'user.sip:alice@contoso.com',
      key: 'k2',
      origin: 'ua',
      body: { kind: 'sessions.revoked', user: 'sip:alice@contoso.com', reason: 'x' },
    });
    await a.flush();
    await until(() => rooms.length === 1 && users.length === 1, 5000, 'both');
    assert.deepEqual(rooms, ['room.r1']);
    assert.deepEqual(users, ['user.sip:alice@contoso.com']);
  });

  test('NATS stopped and started again: publishing pauses, resumes, and resync is called', { skip: !url }, async () => {
    const nats = await ThrowawayNats.start();
    assert.ok(nats);
    let resyncs = 0;
    const a = await NatsBus.connect({ url: nats.url, pool, serverId: 'ra' });
    const b = await NatsBus.connect({ url: nats.url, pool, serverId: 'rb', onResync: () => resyncs++ });
    buses.push(a, b);
    const got: string[] = [];
    b.subscribe('room.', (e) => got.push(e.key));
    await b.flush();
    a.publish(env('room.x', 'before', 'ra'));
    await until(() => got.includes('before'), 5000, 'first delivery');
    await nats.down();
    await sleep(300);
    await nats.up();
    await until(() => resyncs > 0, 10_000, 'resync after the restart');
    // subscriptions are restored by the client on reconnect
    await until(
      () => {
        a.publish(env('room.x', `after-${got.length}`, 'ra'));
        return got.some((k) => k.startsWith('after-'));
      },
      10_000,
      'delivery after the restart',
    );
    await a.close();
    await b.close();
    await nats.destroy();
  });
});
