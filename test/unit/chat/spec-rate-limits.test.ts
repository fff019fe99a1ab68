// The request budgets at rates other than one a second, with passed-in times: every operation of the token
// bucket (take, drain, waitMs, full) refills ratePerSecond tokens per second since the last request, capped at
// the burst; the wait it answers is ceil((1 - tokens) / rate · 1000) ms, 0 from exactly one token; a bucket is
// full when tokens + refill reach the burst. The per-user limiter keeps one budget per user whatever door asks
// (there is no budget per request kind: every request costs one token), answers the bucket's wait, and absorbs
// other servers' requests without reporting them back. Page sizes (clampLimit) are whole numbers from 1, cut to
// the maximum, refused naming the field 'limit' and the maximum. Nothing here waits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clampLimit } from '../../../src/chat/limits.js';
import { TokenBucket } from '../../../src/chat/token-bucket.js';
import { UserRateLimiter } from '../../../src/chat/user-rate-limiter.js';
import { PchatError } from '../../../src/core/errors.js';

/** A time well after any bucket of the test was made (a bucket's refill clock starts at its construction). */
const T = Date.now() + 60_000;

/** How many of `n` takes at `now` succeed. */
const takes = (b: TokenBucket, n: number, now: number) => {
  let ok = 0;
  for (let i = 0; i < n; i++) if (b.take(now)) ok++;
  return ok;
};

/** Rates whose token interval is a whole number of ms, so that k intervals refill exactly k tokens. */
const RATES: { rate: number; ms: number }[] = [
  { rate: 4, ms: 250 },
  { rate: 0.5, ms: 2000 },
  { rate: 2.5, ms: 400 },
  { rate: 8, ms: 125 },
  { rate: 0.25, ms: 4000 },
  { rate: 20, ms: 50 },
];

describe('token bucket: the refill is ratePerSecond tokens per second', () => {
  test('a take after k token intervals finds k tokens back (capped at the burst)', () => {
    for (const { rate, ms } of RATES) {
      for (const k of [1, 2, 3]) {
        // [ms after T, the takes that succeed then]
        const rows: [after: number, ok: number][] = [
          [k * ms - 1, k - 1],
          [k * ms, k],
        ];
        for (const [after, ok] of rows) {
          const b = new TokenBucket(rate, 3);
          assert.equal(takes(b, 3, T), 3, `rate ${rate}: the burst`);
          assert.equal(takes(b, 10, T + after), ok, `rate ${rate}: ${ok} tokens ${after} ms later`);
        }
      }
      const idle = new TokenBucket(rate, 3);
      takes(idle, 3, T);
      assert.equal(takes(idle, 10, T + 10 * ms), 3, `rate ${rate}: ten intervals give the burst, no more`);
    }
  });

  test('a drain counts the refill at the rate first: after k intervals k tokens are back to drain', () => {
    for (const { rate, ms } of RATES) {
      for (const k of [1, 2, 3]) {
        const b = new TokenBucket(rate, 3);
        b.drain(3, T);
        assert.equal(b.waitMs(T), ms, `rate ${rate}: empty`);
        // a drain of nothing is a refill only
        b.drain(0, T + k * ms);
        assert.equal(takes(b, 10, T + k * ms), k, `rate ${rate}: ${k} intervals, ${k} tokens`);
      }
      // the tokens refilled before a drain are spent by it: one interval back, two drained, one in debt
      for (const [after, ok] of [
        [3 * ms - 1, false],
        [3 * ms, true],
      ] as const) {
        const debt = new TokenBucket(rate, 3);
        debt.drain(3, T);
        debt.drain(2, T + ms);
        assert.equal(debt.waitMs(T + ms), 2 * ms, `rate ${rate}: one in debt`);
        assert.equal(debt.take(T + after), ok, `rate ${rate}: debt paid and a token back after ${3 * ms} ms`);
      }
    }
  });

  test('the wait is ceil((1 - tokens) / rate · 1000) ms, and 0 from exactly one token', () => {
    // [rate, burst, tokens spent at T (a drain), ms after T, the wait then]
    const cases: [rate: number, burst: number, spent: number, after: number, wait: number][] = [
      [4, 1, 1, 0, 250],
      [4, 1, 1, 1, 249],
      [4, 1, 1, 125, 125],
      [4, 1, 1, 250, 0], // exactly one token: no wait
      [4, 1, 1, 251, 0],
      [4, 1, 0, 0, 0], // a full bucket
      [4, 2, 1, 0, 0], // one token left: no wait
      [4, 2, 4, 0, 750], // two in debt: three tokens to wait for
      [4, 2, 4, 500, 250],
      [4, 2, 4, 750, 0],
      [0.5, 2, 2, 0, 2000],
      [0.5, 2, 2, 1500, 500],
      [0.5, 2, 2, 1000, 1000],
      [0.5, 2, 2, 2000, 0],
      [0.5, 2, 3, 2000, 2000], // one in debt
      [2.5, 1, 1, 100, 300],
      [3, 1, 1, 100, 234], // 0.3 tokens back: 233.3… ms rounded up
      [1000, 1, 1, 0, 1],
      [0.001, 1, 1, 0, 1_000_000],
    ];
    for (const [rate, burst, spent, after, wait] of cases) {
      const b = new TokenBucket(rate, burst);
      b.drain(spent, T);
      assert.equal(b.waitMs(T + after), wait, `rate ${rate}, burst ${burst}, ${spent} spent, ${after} ms later`);
      assert.equal(b.take(T + after), wait === 0, `rate ${rate}: a take succeeds exactly when there is no wait`);
    }
  });

  test('asking for the wait changes nothing', () => {
    const b = new TokenBucket(4, 2);
    takes(b, 2, T);
    for (let i = 0; i < 5; i++) assert.equal(b.waitMs(T + 100), 150);
    assert.equal(b.waitMs(T + 1000), 0, 'a later time, not the earlier questions, counts');
    assert.equal(takes(b, 5, T + 500), 2, 'two tokens back after 500 ms at 4 a second');
  });

  test('a bucket is full when tokens + refill at the rate reach the burst', () => {
    // [rate, burst, tokens spent at T (a drain), ms after T, full then]
    const cases: [rate: number, burst: number, spent: number, after: number, full: boolean][] = [
      [4, 2, 0, 0, true],
      [4, 2, 1, 0, false],
      [4, 2, 1, 249, false],
      [4, 2, 1, 250, true], // refilled exactly to the burst
      [4, 2, 2, 499, false],
      [4, 2, 2, 500, true],
      [4, 2, 4, 999, false], // a burst in debt: four tokens to refill, a second at 4 a second
      [4, 2, 4, 1000, true],
      [0.5, 1, 1, 1999, false],
      [0.5, 1, 1, 2000, true],
      [0.5, 3, 3, 4000, false],
      [0.5, 3, 3, 6000, true],
      [10, 5, 5, 499, false],
      [10, 5, 5, 500, true],
      [10, 5, 5, 3_600_000, true],
    ];
    for (const [rate, burst, spent, after, full] of cases) {
      const b = new TokenBucket(rate, burst);
      b.drain(spent, T);
      assert.equal(b.full(T + after), full, `rate ${rate}, burst ${burst}, ${spent} spent, ${after} ms later`);
    }
    const back = new TokenBucket(4, 2);
    back.take(T);
    assert.equal(back.full(T - 10_000), false, 'a clock that steps back refills nothing');
    assert.equal(new TokenBucket(4, 2).full(T - 10_000), true, 'a bucket never used is full');
  });
});

describe('per-user rate limiter', () => {
  test('one budget per user, whatever door asks: every request costs one token of the same bucket', () => {
    // one limiter is shared by REST, WebSocket and SIP (src/server.ts); the doors only pass the user
    const l = new UserRateLimiter({ ratePerSecond: 4, burst: 3 });
    const alice = 'sip:alice@contoso.com';
    const bob = 'sip:bob@contoso.com';
    // [door, user, ms after T, the answer: 0 = go ahead, else the wait in ms]
    const requests: [door: 'rest' | 'ws' | 'sip', user: string, after: number, answer: number][] = [
      ['rest', alice, 0, 0],
      ['ws', alice, 0, 0],
      ['sip', alice, 0, 0],
      ['rest', alice, 0, 250], // the burst of 3 is spent, over three doors
      ['ws', alice, 0, 250],
      ['sip', bob, 0, 0], // bob has his own budget
      ['ws', bob, 0, 0],
      ['sip', alice, 125, 125],
      ['rest', alice, 250, 0], // one token back after 250 ms at 4 a second
      ['sip', alice, 250, 250],
      ['ws', alice, 750, 0], // two more back by 750 ms
      ['rest', alice, 750, 0],
      ['ws', alice, 750, 250],
      ['rest', bob, 750, 0], // bob: 1 left + 3 back, capped at the burst
      ['sip', bob, 750, 0],
      ['ws', bob, 750, 0],
      ['rest', bob, 750, 250],
    ];
    for (const [door, user, after, answer] of requests) {
      assert.equal(l.take(user, T + after), answer, `${door} ${user} at +${after} ms`);
    }
    assert.equal(l.size, 2, 'one bucket per user, none per door');
  });

  test('a refused request spends nothing and is not reported to onTaken', () => {
    const l = new UserRateLimiter({ ratePerSecond: 4, burst: 2 });
    const taken: string[] = [];
    l.onTaken = (u) => void taken.push(u);
    const alice = 'sip:alice@contoso.com';
    assert.deepEqual([l.take(alice, T), l.take(alice, T)], [0, 0]);
    for (let i = 0; i < 20; i++) assert.equal(l.take(alice, T + 125), 125, 'refused: half a token back');
    assert.equal(l.take(alice, T + 250), 0, 'the token that came back was not spent by the refusals');
    assert.equal(l.take(alice, T + 250), 250);
    assert.deepEqual(taken, [alice, alice, alice], 'only the requests let through');
  });

  test("absorbed requests (another server's) spend the budget, refill at the rate, and are not reported back", () => {
    const l = new UserRateLimiter({ ratePerSecond: 4, burst: 2 });
    const taken: string[] = [];
    l.onTaken = (u) => void taken.push(u);
    const carol = 'sip:carol@contoso.com';
    l.absorb(carol, 3, T); // one in debt
    assert.equal(l.size, 1, 'absorbing for a user not seen here gives them a bucket');
    // [ms after T, the answer]
    const answers: [after: number, answer: number][] = [
      [0, 500],
      [250, 250],
      [375, 125],
      [500, 0],
      [500, 250],
    ];
    for (const [after, answer] of answers) assert.equal(l.take(carol, T + after), answer, `+${after} ms`);
    // a later absorb counts the refill since the last request first: 500 ms is two tokens, three drained
    l.absorb(carol, 3, T + 1000);
    assert.equal(l.take(carol, T + 1000), 500);
    assert.deepEqual(taken, [carol], 'absorbed requests are not reported to onTaken (no echo to the pool)');
  });

  test('check refuses with RATE_LIMITED, the wait in whole seconds as Retry-After and in the message', () => {
    // check reads the clock: the takes at T (in the future) leave a refill clock that the present cannot move
    const cases: [rate: number, burst: number, retryAfter: number][] = [
      [0.25, 1, 4],
      [0.5, 2, 2],
      [4, 1, 1],
      [0.1, 3, 10],
    ];
    for (const [rate, burst, retryAfter] of cases) {
      const l = new UserRateLimiter({ ratePerSecond: rate, burst });
      const dave = 'sip:dave@contoso.com';
      for (let i = 0; i < burst; i++) assert.equal(l.take(dave, T), 0);
      const err = (() => {
        try {
          l.check(dave);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(err instanceof PchatError, `rate ${rate}: refused`);
      assert.equal(err.code, 'RATE_LIMITED');
      assert.equal(err.status, 429);
      assert.deepEqual(err.details, { retryAfter }, `rate ${rate}`);
      assert.equal(err.message, `Too many requests; retry in ${retryAfter} s.`);
      assert.doesNotThrow(() => l.check('sip:erin@contoso.com'), 'another user goes ahead');
    }
  });

  test('above 10,000 tracked users, the buckets refilled at the rate to their burst are dropped', () => {
    const l = new UserRateLimiter({ ratePerSecond: 4, burst: 1 });
    const u = (i: number) => `sip:u${i}@contoso.com`;
    for (let i = 0; i < 10_000; i++) l.take(u(i), T);
    l.take(u(10_000), T + 249);
    assert.equal(l.size, 10_001, 'a ms before a token is back no bucket is full: none is dropped');
    l.take(u(10_001), T + 250);
    assert.equal(l.size, 2, 'a token later at 4 a second every bucket of a burst of 1 is full again');
    assert.ok(l.take(u(10_000), T + 250) > 0, "the busy user's budget was kept: their token is not back");
    assert.equal(l.take(u(5), T + 250), 0, 'a dropped user starts again with a full bucket');
  });
});

describe('page sizes (clampLimit)', () => {
  test('no limit asked is the default; a whole number from 1 is kept, cut to the maximum', () => {
    // [asked, default, maximum, the limit used]
    const cases: [asked: number | undefined, dflt: number, max: number, used: number][] = [
      [undefined, 50, 500, 50],
      [undefined, 100, 1000, 100],
      [1, 50, 500, 1],
      [2, 50, 500, 2],
      [499, 50, 500, 499],
      [500, 50, 500, 500],
      [501, 50, 500, 500],
      [10_000, 100, 1000, 1000],
      [Number.MAX_SAFE_INTEGER, 50, 500, 500],
    ];
    for (const [asked, dflt, max, used] of cases) assert.equal(clampLimit(asked, dflt, max), used, `${asked}`);
  });

  test("anything but a whole number from 1 is refused with INVALID_VALUE naming the field 'limit' and the maximum", () => {
    const bad: unknown[] = [
      0,
      -1,
      -0.5,
      0.5,
      1.5,
      500.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      2 ** 53,
      '5',
      null,
      true,
    ];
    for (const max of [500, 1000]) {
      for (const v of bad) {
        assert.throws(
          () => clampLimit(v as number, 50, max),
          (e: unknown) => {
            assert.ok(e instanceof PchatError);
            assert.equal(e.code, 'INVALID_VALUE', `${String(v)}: code`);
            assert.equal(e.field, 'limit', `${String(v)}: field`);
            assert.equal(e.message, `limit: must be a whole number from 1 to ${max}`, `${String(v)}: message`);
            return true;
          },
          `${String(v)} is refused`,
        );
      }
    }
  });
});
