// The request budgets: a token bucket (burst at once, refilled at a rate, a clock that steps back refilling
// nothing, debt from other servers at most one burst deep) and the per-user limiter every door asks before a
// request's work (one budget per user, the wait answered, RATE_LIMITED with Retry-After in seconds, idle
// buckets dropped above 10,000 tracked users). Times are passed in; none of this waits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBucket } from '../../../src/chat/token-bucket.js';
import { DEFAULT_RATE_LIMIT, rateLimited, UserRateLimiter } from '../../../src/chat/user-rate-limiter.js';
import { PchatError } from '../../../src/core/errors.js';

/** A time well after any bucket of the test was made (buckets start their refill clock at construction). */
const T = Date.now() + 60_000;

/** How many of `n` takes at `now` succeed. */
const takes = (b: TokenBucket, n: number, now: number) => {
  let ok = 0;
  for (let i = 0; i < n; i++) if (b.take(now)) ok++;
  return ok;
};

describe('token bucket', () => {
  test('a full bucket lets a burst through at once, then refuses', () => {
    for (const burst of [1, 3, 10]) {
      const b = new TokenBucket(1, burst);
      assert.equal(takes(b, burst + 5, T), burst, `burst ${burst}`);
      assert.equal(b.take(T), false);
    }
  });

  test('tokens come back at the rate; the wait until the next one is answered, rounded up to the ms', () => {
    const cases: { rate: number; burst: number; waitEmpty: number }[] = [
      { rate: 1, burst: 2, waitEmpty: 1000 },
      { rate: 4, burst: 1, waitEmpty: 250 },
      { rate: 3, burst: 1, waitEmpty: 334 }, // 333.3… ms
      { rate: 0.5, burst: 1, waitEmpty: 2000 },
    ];
    for (const c of cases) {
      const b = new TokenBucket(c.rate, c.burst);
      assert.equal(b.waitMs(T), 0, 'no wait while a token is there');
      takes(b, c.burst, T);
      assert.equal(b.waitMs(T), c.waitEmpty, `rate ${c.rate}: empty`);
      const half = Math.floor(c.waitEmpty / 2);
      assert.equal(b.waitMs(T + half), c.waitEmpty - half, `rate ${c.rate}: half way`);
      assert.equal(b.take(T + c.waitEmpty - 1), false, `rate ${c.rate}: a ms too early`);
      assert.equal(b.take(T + c.waitEmpty), true, `rate ${c.rate}: on time`);
      assert.equal(b.take(T + c.waitEmpty), false, 'one token came back, not more');
    }
  });

  test('a long idle time refills to the burst, never beyond', () => {
    const b = new TokenBucket(10, 3);
    takes(b, 3, T);
    assert.equal(takes(b, 100, T + 3_600_000), 3);
    assert.equal(b.waitMs(T + 3_600_000), 100);
  });

  test('a clock that steps back refills nothing and takes nothing away', () => {
    const b = new TokenBucket(1, 2);
    takes(b, 2, T);
    assert.equal(b.take(T - 5000), false, 'going back in time gives no token');
    assert.equal(b.waitMs(T - 5000), 1000);
    // the refill clock stayed at T: one second after T is one token, not six
    assert.equal(takes(b, 5, T + 1000), 1);
    const c = new TokenBucket(1, 2);
    assert.equal(c.take(T), true);
    assert.equal(c.take(T - 5000), true, 'a token already there can still be taken');
    assert.equal(c.take(T - 5000), false);
  });

  test('tokens spent elsewhere are drained: the bucket goes into debt at most one burst deep', () => {
    const cases: { burst: number; drained: number; waitMs: number }[] = [
      { burst: 2, drained: 1, waitMs: 0 }, // one left
      { burst: 2, drained: 2, waitMs: 1000 }, // empty
      { burst: 2, drained: 3, waitMs: 2000 }, // one in debt
      { burst: 2, drained: 4, waitMs: 3000 }, // a burst in debt
      { burst: 2, drained: 50, waitMs: 3000 }, // no deeper than a burst
    ];
    for (const c of cases) {
      const b = new TokenBucket(1, c.burst);
      b.drain(c.drained, T);
      assert.equal(b.waitMs(T), c.waitMs, `drained ${c.drained}`);
      assert.equal(b.take(T + c.waitMs), true, `drained ${c.drained}: a token after the wait`);
      if (c.waitMs > 0) {
        const again = new TokenBucket(1, c.burst);
        again.drain(c.drained, T);
        assert.equal(again.take(T + c.waitMs - 1), false, `drained ${c.drained}: not a ms before`);
      }
    }
  });

  test('a drain counts the refill since the last request first, and is capped at the burst like a take', () => {
    const b = new TokenBucket(1, 3);
    takes(b, 3, T);
    // 2 s later two tokens are back; draining 1 leaves one
    b.drain(1, T + 2000);
    assert.equal(takes(b, 5, T + 2000), 1);
    const idle = new TokenBucket(1, 3);
    takes(idle, 3, T);
    // an hour later the bucket is full (3), not 3600: draining 3 empties it
    idle.drain(3, T + 3_600_000);
    assert.equal(idle.take(T + 3_600_000), false);
    // a drain at an earlier time refills nothing
    const back = new TokenBucket(1, 2);
    takes(back, 2, T);
    back.drain(0, T - 10_000);
    assert.equal(back.take(T), false);
    assert.equal(back.take(T + 1000), true);
  });

  test('a bucket is full when it has refilled to its burst (exactly is enough)', () => {
    const b = new TokenBucket(1, 2);
    assert.equal(b.full(T), true, 'a new bucket');
    b.take(T);
    assert.equal(b.full(T), false, 'one token taken');
    assert.equal(b.full(T + 999), false, 'a ms short of refilled');
    assert.equal(b.full(T + 1000), true, 'refilled exactly to the burst');
    assert.equal(b.full(T + 50_000), true);
  });
});

describe('per-user rate limiter', () => {
  test('the defaults are 50 requests a second with a burst of 200; a partial option keeps the other default', () => {
    assert.deepEqual(DEFAULT_RATE_LIMIT, { ratePerSecond: 50, burst: 200 });
    assert.deepEqual(new UserRateLimiter().opts, { ratePerSecond: 50, burst: 200 });
    assert.deepEqual(new UserRateLimiter({ burst: 5 }).opts, { ratePerSecond: 50, burst: 5 });
    assert.deepEqual(new UserRateLimiter({ ratePerSecond: 2 }).opts, { ratePerSecond: 2, burst: 200 });
    const l = new UserRateLimiter();
    let ok = 0;
    for (let i = 0; i < 250; i++) if (l.take('sip:alice@contoso.com', T) === 0) ok++;
    assert.equal(ok, 200, 'a burst of 200 at once');
    assert.equal(l.take('sip:alice@contoso.com', T), 20, '1/50 s until the next');
  });

  test('take answers 0 to go ahead, else the wait in ms; each user has a budget of their own', () => {
    const l = new UserRateLimiter({ ratePerSecond: 2, burst: 2 });
    const alice = 'sip:alice@contoso.com';
    const bob = 'sip:bob@contoso.com';
    assert.deepEqual([l.take(alice, T), l.take(alice, T), l.take(alice, T), l.take(alice, T + 200)], [0, 0, 500, 300]);
    assert.deepEqual([l.take(bob, T), l.take(bob, T)], [0, 0], "alice's requests do not spend bob's budget");
    assert.equal(l.take(alice, T + 500), 0, 'after the wait');
    assert.equal(l.size, 2);
  });

  test('every request let through is reported to onTaken (a pool shares the counts); a refused one is not', () => {
    const l = new UserRateLimiter({ ratePerSecond: 1, burst: 2 });
    const seen: string[] = [];
    l.onTaken = (u) => void seen.push(u);
    l.take('sip:alice@contoso.com', T);
    l.take('sip:bob@contoso.com', T);
    l.take('sip:alice@contoso.com', T);
    l.take('sip:alice@contoso.com', T); // refused
    assert.deepEqual(seen, ['sip:alice@contoso.com', 'sip:bob@contoso.com', 'sip:alice@contoso.com']);
  });

  test("requests absorbed from another server spend the same user's budget here", () => {
    const l = new UserRateLimiter({ ratePerSecond: 1, burst: 3 });
    l.absorb('sip:alice@contoso.com', 2, T);
    assert.deepEqual([l.take('sip:alice@contoso.com', T), l.take('sip:alice@contoso.com', T)], [0, 1000]);
    assert.equal(l.take('sip:bob@contoso.com', T), 0, 'only that user');
    l.absorb('sip:carol@contoso.com', 100, T);
    assert.equal(l.take('sip:carol@contoso.com', T), 4000, 'at most one burst of debt');
  });

  test('check refuses with RATE_LIMITED and the Retry-After in whole seconds', () => {
    const l = new UserRateLimiter({ ratePerSecond: 0.5, burst: 1 });
    l.check('sip:alice@contoso.com');
    const err = (() => {
      try {
        l.check('sip:alice@contoso.com');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof PchatError, 'the second request is refused');
    assert.equal(err.code, 'RATE_LIMITED');
    assert.equal(err.status, 429);
    assert.deepEqual(err.details, { retryAfter: 2 });
    assert.doesNotThrow(() => l.check('sip:bob@contoso.com'));
  });

  test('rateLimited rounds the wait up to whole seconds, at least one', () => {
    const cases: [waitMs: number, retryAfter: number][] = [
      [0, 1],
      [1, 1],
      [999, 1],
      [1000, 1],
      [1001, 2],
      [2500, 3],
      [60_000, 60],
    ];
    for (const [waitMs, retryAfter] of cases) {
      const e = rateLimited(waitMs);
      assert.equal(e.code, 'RATE_LIMITED');
      assert.deepEqual(e.details, { retryAfter }, `${waitMs} ms`);
      assert.equal(e.message, `Too many requests; retry in ${retryAfter} s.`);
    }
  });

  test('above 10,000 tracked users, a new user drops the idle (refilled) buckets and keeps the busy ones', () => {
    const l = new UserRateLimiter({ ratePerSecond: 1, burst: 2 });
    const u = (i: number) => `sip:u${i}@contoso.com`;
    for (let i = 0; i < 9_999; i++) l.take(u(i), T);
    // every bucket has refilled exactly to its burst a second later, except u0's, spent again
    l.take(u(0), T + 1000);
    l.take(u(0), T + 1000);
    l.take(u(9_999), T + 1000);
    assert.equal(l.size, 10_000, 'up to 10,000 users nothing is dropped');
    l.take(u(10_000), T + 1000);
    assert.equal(l.size, 3, 'the 10,001st user swept the idle buckets: u0 (busy), u9999 (spent), the new one');
    assert.equal(l.take(u(0), T + 1000), 1000, "the busy user's budget was kept");
    assert.equal(l.take(u(5), T + 1000), 0, 'an idle user starts again with a full bucket');
  });
});
