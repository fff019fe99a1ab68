// Specification of sign-in throttling (src/directory/sign-in-throttle.ts) with an injected clock, on a real store
// (SQLite and PostgreSQL): the keys failures are counted under, delays growing with a pair's failures after the
// free ones, the window after which a pair starts again, the per-source cap, pruning at most once per
// pruneEveryMs and down to maxRows, a success clearing the pair, and the RATE_LIMITED error a refusal becomes.
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import {
  SignInThrottle,
  sourceKey,
  THROTTLE_DEFAULTS,
  type ThrottleOptions,
  userKey,
} from '../../src/directory/sign-in-throttle.js';
import type { Store } from '../../src/store/port.js';
import { forEachEngine } from '../support/spec-engines.js';

const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';
const HOME = '192.0.2.10';
const AWAY = '198.51.100.66';
const T0 = 1_700_000_000_000;

describe('sourceKey: an IPv4 address, or the /64 of an IPv6 one; empty input is one bucket', () => {
  const rows: [string | undefined, string, string][] = [
    ['192.0.2.10', '192.0.2.10', 'IPv4 as it is'],
    [' 192.0.2.10 ', '192.0.2.10', 'trimmed'],
    ['::ffff:192.0.2.10', '192.0.2.10', 'IPv4-mapped IPv6 is IPv4'],
    ['::FFFF:192.0.2.10', '192.0.2.10', 'IPv4-mapped, upper case'],
    ['fe80::ffff:192.0.2.10', 'fe80:0:0:0::/64', 'only ::ffff: is the mapped prefix'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64', 'full IPv6: its first four groups'],
    ['2001:DB8:1:2::AAAA', '2001:db8:1:2::/64', 'lower-cased'],
    ['2001:0db8:0001:0002:0:0:0:9', '2001:db8:1:2::/64', 'leading zeros dropped'],
    ['2001:db8:0000:00::1', '2001:db8:0:0::/64', 'an all-zero group is 0'],
    ['2001:db8::1', '2001:db8:0:0::/64', ':: expanded in the middle'],
    ['2001:db8:1::', '2001:db8:1:0::/64', ':: at the end'],
    ['::1', '0:0:0:0::/64', ':: at the start'],
    ['::', '0:0:0:0::/64', 'the unspecified address'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64', 'a zone id is dropped'],
    ['1:2:3:4:5:6:7:8::9', '1:2:3:4::/64', 'too many groups: still a bucket, not an error'],
    ['localhost', 'localhost', 'a name is its own bucket'],
    ['x'.repeat(100), 'x'.repeat(64), 'a name is bounded at 64 characters'],
    ['', 'unknown', 'empty'],
    ['   ', 'unknown', 'blank'],
    [undefined, 'unknown', 'no address'],
  ];
  for (const [input, want, why] of rows) {
    test(`${why}: ${JSON.stringify(input)} → ${want}`, () => assert.equal(sourceKey(input), want));
  }
  test('two hosts of one /64 are one source; of two /64s, two', () => {
    assert.equal(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:2:ffff::2'));
    assert.notEqual(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:3::1'));
  });
});

describe('userKey: the user as a client sent it, trimmed, lower-cased, bounded', () => {
  const rows: [string, string][] = [
    [ALICE, ALICE],
    ['  SIP:Alice@Contoso.COM ', ALICE],
    ['alice', 'alice'],
    ['A'.repeat(301), 'a'.repeat(300)],
    ['', ''],
  ];
  for (const [input, want] of rows) {
    test(`${JSON.stringify(input.slice(0, 40))} → ${JSON.stringify(want.slice(0, 40))}`, () =>
      assert.equal(userKey(input), want));
  }
});

describe('the shipped throttle', () => {
  test('THROTTLE_DEFAULTS: 5 free failures, 1 s doubling up to 15 min, a 1 h window, 100 per source', () =>
    assert.deepEqual(THROTTLE_DEFAULTS, {
      free: 5,
      baseDelayMs: 1000,
      maxDelayMs: 15 * 60_000,
      windowMs: 60 * 60_000,
      sourceCap: 100,
      maxRows: 100_000,
      pruneEveryMs: 60_000,
    }));

  const noStore = {
    get signInFailures(): never {
      throw new Error('delayFor needs no store');
    },
  };
  test('delayFor with the defaults: 0 for the free failures, then 1 s, 2 s, … up to 15 min', () => {
    const th = new SignInThrottle(noStore);
    const rows: [number, number][] = [
      [0, 0],
      [4, 0],
      [5, 1000],
      [6, 2000],
      [7, 4000],
      [14, 512_000],
      [15, 15 * 60_000],
      [1000, 15 * 60_000],
    ];
    for (const [failures, want] of rows) assert.equal(th.delayFor(failures), want, `${failures} failures`);
  });
  test('options given override only themselves', () => {
    const th = new SignInThrottle(noStore, { free: 1 });
    assert.equal(th.delayFor(0), 0);
    assert.equal(th.delayFor(1), 1000);
    assert.equal(th.delayFor(3), 4000);
  });
  test('delayFor: the doubling stops at 2^30 times the base when there is no maximum', () => {
    const th = new SignInThrottle(noStore, { free: 0, baseDelayMs: 1, maxDelayMs: Number.POSITIVE_INFINITY });
    const rows: [number, number][] = [
      [0, 1],
      [1, 2],
      [10, 1024],
      [30, 2 ** 30],
      [31, 2 ** 30],
      [5000, 2 ** 30],
    ];
    for (const [failures, want] of rows) assert.equal(th.delayFor(failures), want, `${failures} failures`);
  });
});

forEachEngine('sign-in throttle specification', ({ store, storeTest }) => {
  const s = () => store() as Store;
  let now = T0;
  const clock = () => now;
  // 2 free failures, then 1.5 s, 3 s, 6 s, capped at 10 s; a 1 min window; 4 failures per source
  const OPTS: Partial<ThrottleOptions> = {
    free: 2,
    baseDelayMs: 1500,
    maxDelayMs: 10_000,
    windowMs: 60_000,
    sourceCap: 4,
    pruneEveryMs: 10_000,
  };
  const throttle = (opts: Partial<ThrottleOptions> = {}) => new SignInThrottle(s(), { ...OPTS, ...opts }, clock);
  // a case that gets the store: it fails when SQLite did not open, skips only an unreachable PostgreSQL
  const it = (title: string, fn: () => Promise<void>) => storeTest(title, fn);
  beforeEach(async () => {
    now = T0;
    if (store()) await s().signInFailures.prune(Number.MAX_SAFE_INTEGER, 1_000_000); // an empty table
  });

  it('a pair fails freely twice, then each attempt waits 1.5 s, 3 s, 6 s, 10 s from its last failure', async () => {
    const th = throttle({ sourceCap: 100 });
    const waits: unknown[] = [];
    for (let i = 0; i < 6; i++) {
      const v = await th.check(ALICE, HOME);
      waits.push(v);
      if (!v.allowed) now += v.retryAfterMs;
      await th.failed(ALICE, HOME);
      now += 100;
    }
    assert.deepEqual(waits, [
      { allowed: true },
      { allowed: true },
      { allowed: false, retryAfterMs: 1400, reason: 'user' }, // 1.5 s after the failure, 100 ms ago
      { allowed: false, retryAfterMs: 2900, reason: 'user' },
      { allowed: false, retryAfterMs: 5900, reason: 'user' },
      { allowed: false, retryAfterMs: 9900, reason: 'user' },
    ]);
    assert.equal((await s().signInFailures.get(ALICE, HOME))?.failures, 6);
  });

  it('the wait ends exactly at the last failure plus the delay', async () => {
    const th = throttle();
    await th.failed(ALICE, HOME);
    await th.failed(ALICE, HOME);
    now = T0 + 1499;
    assert.deepEqual(await th.check(ALICE, HOME), { allowed: false, retryAfterMs: 1, reason: 'user' });
    now = T0 + 1500;
    assert.deepEqual(await th.check(ALICE, HOME), { allowed: true });
  });

  it('failures count per (user, source): other users, and the user from another address, are not slowed', async () => {
    const th = throttle({ sourceCap: 100 });
    for (let i = 0; i < 5; i++) await th.failed(ALICE, AWAY);
    assert.equal((await th.check(ALICE, AWAY)).allowed, false);
    assert.deepEqual(await th.check(ALICE, HOME), { allowed: true });
    assert.deepEqual(await th.check(BOB, AWAY), { allowed: true });
  });

  it('failures count under the normalized user and source: case, spaces, IPv4-mapped and one /64 are one pair', async () => {
    const th = throttle();
    await th.failed(' SIP:Alice@Contoso.com ', '::ffff:192.0.2.10');
    await th.failed(ALICE, HOME);
    assert.equal((await s().signInFailures.get(ALICE, HOME))?.failures, 2);
    assert.equal((await th.check('sip:ALICE@contoso.com', ` ${HOME}`)).allowed, false);
    await th.failed(ALICE, '2001:db8:1:2::1');
    await th.failed(ALICE, '2001:db8:1:2::99');
    assert.equal((await th.check(ALICE, '2001:db8:1:2:ffff::2')).allowed, false);
  });

  it('a pair that has not failed for the window (inclusive) starts again from zero', async () => {
    // a delay longer than the window, so only the window can end it
    const th = throttle({ free: 0, baseDelayMs: 600_000, maxDelayMs: 600_000 });
    await th.failed(ALICE, HOME);
    now = T0 + 60_000; // exactly one window later: still counted
    assert.deepEqual(await th.check(ALICE, HOME), { allowed: false, retryAfterMs: 540_000, reason: 'user' });
    now = T0 + 60_001;
    assert.deepEqual(await th.check(ALICE, HOME), { allowed: true });
    await th.failed(ALICE, HOME);
    assert.equal((await s().signInFailures.get(ALICE, HOME))?.failures, 1, 'the next failure is the first again');
  });

  it('failures within the window keep adding up', async () => {
    const th = throttle({ free: 10 });
    await th.failed(ALICE, HOME);
    now = T0 + 60_000;
    await th.failed(ALICE, HOME);
    now = T0 + 120_000;
    await th.failed(ALICE, HOME);
    assert.equal((await s().signInFailures.get(ALICE, HOME))?.failures, 3);
  });

  it('a success clears the pair, and only that pair', async () => {
    const th = throttle({ sourceCap: 100 });
    for (let i = 0; i < 3; i++) {
      await th.failed(ALICE, HOME);
      await th.failed(ALICE, AWAY);
      await th.failed(BOB, HOME);
    }
    await th.succeeded(' SIP:Alice@contoso.com', '::ffff:192.0.2.10');
    assert.deepEqual(await th.check(ALICE, HOME), { allowed: true });
    assert.equal(await s().signInFailures.get(ALICE, HOME), undefined);
    assert.equal((await th.check(ALICE, AWAY)).allowed, false);
    assert.equal((await th.check(BOB, HOME)).allowed, false);
    await th.failed(ALICE, HOME);
    assert.equal((await s().signInFailures.get(ALICE, HOME))?.failures, 1);
  });

  it('one source fails at most sourceCap times per window across all users; then every user from it waits', async () => {
    const th = throttle();
    for (let i = 0; i < 3; i++) {
      await th.failed(`sip:spray${i}@contoso.com`, AWAY);
      now += 100;
    }
    assert.deepEqual(await th.check('sip:new@contoso.com', AWAY), { allowed: true }, 'three of four');
    await th.failed('sip:spray3@contoso.com', AWAY); // at T0 + 300
    now = T0 + 1000;
    // until the oldest of them (T0) leaves the window
    const refused = { allowed: false, retryAfterMs: 59_000, reason: 'source' };
    assert.deepEqual(await th.check('sip:new@contoso.com', AWAY), refused);
    assert.deepEqual(await th.check(ALICE, AWAY), refused);
    assert.deepEqual(await th.check(ALICE, HOME), { allowed: true }, 'other sources are not capped');
  });

  it('the source cap comes before the pair’s own delay', async () => {
    const th = throttle({ sourceCap: 3 });
    for (let i = 0; i < 3; i++) await th.failed(ALICE, AWAY); // the pair alone would wait 3 s
    assert.deepEqual(await th.check(ALICE, AWAY), { allowed: false, retryAfterMs: 60_000, reason: 'source' });
  });

  it('the cap lasts until the oldest failure is a full window old, never less than 1 ms, then lifts', async () => {
    const th = throttle();
    for (let i = 0; i < 4; i++) await th.failed(`sip:spray${i}@contoso.com`, AWAY); // all at T0
    now = T0 + 60_000; // the failures are still in the window (inclusive)
    assert.deepEqual(await th.check(BOB, AWAY), { allowed: false, retryAfterMs: 1, reason: 'source' });
    now = T0 + 60_001;
    assert.deepEqual(await th.check(BOB, AWAY), { allowed: true });
  });

  it('a source cap of 0 refuses every sign-in from anywhere for a whole window', async () => {
    const th = throttle({ sourceCap: 0 });
    assert.deepEqual(await th.check(ALICE, HOME), { allowed: false, retryAfterMs: 60_000, reason: 'source' });
  });

  it('assertMayTry: nothing when allowed; RATE_LIMITED naming the user, with retryAfter in whole seconds rounded up', async () => {
    const th = throttle();
    await th.assertMayTry(ALICE, HOME);
    await th.failed(ALICE, HOME);
    await th.failed(ALICE, HOME);
    const refusal = (retryAfter: number, retryAfterMs: number) => (e: unknown) => {
      assert.ok(e instanceof PchatError);
      assert.equal(e.code, 'RATE_LIMITED');
      assert.equal(
        e.message,
        `Too many failed sign-ins for this user from this address; try again in ${retryAfter} s.`,
      );
      assert.deepEqual(e.details, { retryAfter, retryAfterMs });
      return true;
    };
    await assert.rejects(th.assertMayTry(ALICE, HOME), refusal(2, 1500));
    now = T0 + 500;
    await assert.rejects(th.assertMayTry(ALICE, HOME), refusal(1, 1000));
    now = T0 + 1499;
    await assert.rejects(th.assertMayTry(ALICE, HOME), refusal(1, 1));
    now = T0 + 1500;
    await th.assertMayTry(ALICE, HOME);
  });

  it('assertMayTry: RATE_LIMITED naming the address when the source is capped', async () => {
    const th = throttle();
    for (let i = 0; i < 4; i++) await th.failed(`sip:spray${i}@contoso.com`, AWAY);
    now = T0 + 2500;
    await assert.rejects(th.assertMayTry(ALICE, AWAY), (e: unknown) => {
      assert.ok(e instanceof PchatError);
      assert.equal(e.code, 'RATE_LIMITED');
      assert.equal(e.message, 'Too many failed sign-ins from this address; try again in 58 s.');
      assert.deepEqual(e.details, { retryAfter: 58, retryAfterMs: 57_500 });
      return true;
    });
  });

  it('failing prunes pairs older than the window, at most once per pruneEveryMs', async () => {
    const th = throttle();
    const count = () => s().signInFailures.count();
    await s().signInFailures.record('sip:old@contoso.com', HOME, T0 - 60_001, 0); // older than the window
    await s().signInFailures.record('sip:recent@contoso.com', HOME, T0 - 60_000, 0); // just in it
    await th.failed(ALICE, HOME); // the first failure prunes
    assert.equal(await count(), 2);
    assert.equal(await s().signInFailures.get('sip:old@contoso.com', HOME), undefined);
    now = T0 + 9_999;
    await th.failed(BOB, HOME); // within pruneEveryMs of the last pruning: the recent pair is old now, but stays
    assert.equal(await count(), 3);
    now = T0 + 10_000;
    await th.failed(BOB, AWAY); // pruneEveryMs later: pruned again
    assert.equal(await count(), 3);
    assert.equal(await s().signInFailures.get('sip:recent@contoso.com', HOME), undefined);
    now = T0 + 60_001;
    await th.failed(BOB, HOME); // T0's failure is older than the window now; T0 + 9_999's is not
    assert.deepEqual(
      [await s().signInFailures.get(ALICE, HOME), (await s().signInFailures.get(BOB, HOME))?.failures],
      [undefined, 2],
    );
  });

  it('pruning keeps the table at maxRows, evicting the oldest pairs', async () => {
    const th = throttle({ maxRows: 2, pruneEveryMs: 0, sourceCap: 100 });
    for (let i = 0; i < 5; i++) {
      await th.failed(`sip:u${i}@contoso.com`, HOME);
      now += 1;
      assert.ok((await s().signInFailures.count()) <= 2, `after ${i + 1} pairs`);
    }
    assert.equal(await s().signInFailures.count(), 2);
    assert.ok(await s().signInFailures.get('sip:u4@contoso.com', HOME), 'the newest pair is kept');
    assert.equal(await s().signInFailures.get('sip:u0@contoso.com', HOME), undefined);
  });

  it('without a clock, the throttle counts in real time', async () => {
    const th = new SignInThrottle(s(), { free: 0, baseDelayMs: 60_000, maxDelayMs: 60_000 });
    await th.failed(ALICE, HOME);
    const v = await th.check(ALICE, HOME);
    assert.equal(v.allowed, false);
    if (!v.allowed) assert.ok(v.retryAfterMs > 50_000 && v.retryAfterMs <= 60_000, `${v.retryAfterMs}`);
  });
});
