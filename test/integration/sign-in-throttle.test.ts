// Issue #9 item 8: sign-in throttling per (user, source) with growing delays, a per-source cap, counters in the
// store (shared by every server of a pool), bounded rows, and equal work for unknown users. Both engines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PchatError } from '../../src/core/errors.js';
import { makeCredential, scryptCount, verifyPassword } from '../../src/directory/passwords.js';
import { SignInThrottle, sourceKey, THROTTLE_DEFAULTS } from '../../src/directory/sign-in-throttle.js';
import type { Store } from '../../src/store/port.js';
import { DIALECTS, type Engine, freshEngine } from '../support/engines.js';
import { engineUnavailable } from '../support/spec-engines.js';

const ALICE = 'sip:alice@contoso.com';
const ADMIN = 'sip:admin@contoso.com';
const HOME = '192.0.2.10';
const STRANGER = '198.51.100.66';

describe('sourceKey', () => {
  const rows: [string | undefined, string][] = [
    ['192.0.2.10', '192.0.2.10'],
    ['::ffff:192.0.2.10', '192.0.2.10'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0:0:0:9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['', 'unknown'],
    [undefined, 'unknown'],
  ];
  for (const [input, want] of rows) test(`${String(input)} → ${want}`, () => assert.equal(sourceKey(input), want));
  test('two hosts of one IPv6 /64 are one source', () =>
    assert.equal(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:2:ffff::2')));
});

describe('equal work for unknown users', () => {
  test('a wrong password, an unknown user, a user without a password and a broken credential: one scrypt each', async () => {
    const stored = await makeCredential(ALICE, 'correct horse', 'contoso.com');
    const work = async (fn: () => Promise<boolean>) => {
      const n = scryptCount();
      assert.equal(await fn(), false);
      return scryptCount() - n;
    };
    const known = await work(() => verifyPassword(stored, 'wrong password'));
    assert.equal(known, 1);
    assert.equal(await work(() => verifyPassword(undefined, 'wrong password')), known);
    assert.equal(await work(() => verifyPassword('not json', 'wrong password')), known);
    assert.equal(await work(() => verifyPassword(JSON.stringify({ scrypt: 'x$', ha1: '' }), 'pw')), known);
    const n = scryptCount();
    assert.equal(await verifyPassword(stored, 'correct horse'), true);
    assert.equal(scryptCount() - n, known);
  });
});

for (const dialect of DIALECTS) {
  describe(`sign-in throttle: ${dialect}`, { timeout: 120_000 }, () => {
    let engine: Engine | undefined;
    let store: Store;
    let now = 1_000_000_000_000;
    const clock = () => now;
    before(async () => {
      engine = await freshEngine(dialect, 'sign-in throttle');
      if (engine) store = await engine.open();
    });
    after(async () => {
      await store?.close();
      await engine?.cleanup();
    });
    // each case runs on the engine opened above (it is skipped, or fails under CI, when there is none)
    const it = (title: string, fn: (opened: Engine) => Promise<void>) =>
      test(title, async (t) => {
        if (!engine) return engineUnavailable(t, dialect);
        await fn(engine);
      });

    it("a stranger's 100 failures from another address do not slow the user down at theirs", async () => {
      const th = new SignInThrottle(store, { sourceCap: 1000 }, clock);
      for (let i = 0; i < 100; i++) {
        const v = await th.check(ADMIN, STRANGER);
        if (v.allowed) await th.failed(ADMIN, STRANGER);
        else now += v.retryAfterMs; // a patient stranger waits out every delay
      }
      assert.equal((await th.check(ADMIN, HOME)).allowed, true, 'the administrator signs in from home');
      await th.assertMayTry(ADMIN, HOME);
      // the stranger, meanwhile, must wait
      await th.failed(ADMIN, STRANGER);
      const v = await th.check(ADMIN, STRANGER);
      assert.equal(v.allowed, false);
    });

    it('the first failures are free, then each delay doubles, up to the cap', async () => {
      const th = new SignInThrottle(store, { sourceCap: 10_000 }, clock);
      const user = 'sip:delays@contoso.com';
      const waits: number[] = [];
      for (let i = 0; i < 20; i++) {
        const v = await th.check(user, HOME);
        waits.push(v.allowed ? 0 : v.retryAfterMs);
        if (!v.allowed) now += v.retryAfterMs;
        await th.failed(user, HOME);
      }
      const free = THROTTLE_DEFAULTS.free;
      assert.deepEqual(waits.slice(0, free), Array(free).fill(0));
      assert.equal(waits[free], THROTTLE_DEFAULTS.baseDelayMs);
      for (let i = free + 1; i < waits.length; i++) {
        const prev = waits[i - 1] as number;
        const cur = waits[i] as number;
        assert.ok(cur === Math.min(prev * 2, THROTTLE_DEFAULTS.maxDelayMs), `wait ${i}: ${cur} after ${prev}`);
      }
      assert.equal(waits[waits.length - 1], THROTTLE_DEFAULTS.maxDelayMs);
      // refused with RATE_LIMITED and how long to wait
      await th.failed(user, HOME);
      await assert.rejects(
        th.assertMayTry(user, HOME),
        (e: unknown) =>
          e instanceof PchatError &&
          e.code === 'RATE_LIMITED' &&
          (e.details?.retryAfterMs as number) === THROTTLE_DEFAULTS.maxDelayMs,
      );
      // a success clears the pair
      now += THROTTLE_DEFAULTS.maxDelayMs;
      await th.succeeded(user, HOME);
      await th.failed(user, HOME);
      assert.equal((await th.check(user, HOME)).allowed, true);
    });

    it('a pair that stops failing for the window starts again from zero', async () => {
      const th = new SignInThrottle(store, { sourceCap: 10_000 }, clock);
      const user = 'sip:window@contoso.com';
      for (let i = 0; i < 8; i++) {
        const v = await th.check(user, HOME);
        if (!v.allowed) now += v.retryAfterMs;
        await th.failed(user, HOME);
      }
      assert.equal((await th.check(user, HOME)).allowed, false);
      now += THROTTLE_DEFAULTS.windowMs + 1;
      assert.equal((await th.check(user, HOME)).allowed, true);
      await th.failed(user, HOME);
      assert.equal((await store.signInFailures.get(user, HOME))?.failures, 1);
    });

    it('one source spraying many names stops at the per-source cap; other sources are unaffected', async () => {
      const th = new SignInThrottle(store, { sourceCap: 50 }, clock);
      const sprayer = '203.0.113.5';
      let refusedAt = -1;
      for (let i = 0; i < 200; i++) {
        const name = `sip:spray${i}@contoso.com`;
        const v = await th.check(name, sprayer);
        if (!v.allowed) {
          assert.equal(v.reason, 'source');
          refusedAt = i;
          break;
        }
        await th.failed(name, sprayer);
      }
      assert.equal(refusedAt, 50);
      assert.equal((await th.check('sip:spray0@contoso.com', HOME)).allowed, true);
      assert.equal((await th.check(ALICE, '203.0.113.6')).allowed, true);
      now += THROTTLE_DEFAULTS.windowMs + 1;
      assert.equal((await th.check('sip:new@contoso.com', sprayer)).allowed, true, 'the cap ages out');
    });

    it('counters live in the store: a second server of the pool sees the first one’s failures', async (opened) => {
      const other = await opened.open();
      try {
        const a = new SignInThrottle(store, { sourceCap: 10_000 }, clock);
        const b = new SignInThrottle(other, { sourceCap: 10_000 }, clock);
        const user = 'sip:pool@contoso.com';
        for (let i = 0; i < THROTTLE_DEFAULTS.free + 1; i++) await (i % 2 ? a : b).failed(user, STRANGER);
        assert.equal((await a.check(user, STRANGER)).allowed, false);
        assert.equal((await b.check(user, STRANGER)).allowed, false);
      } finally {
        await other.close();
      }
    });

    it('rows stay bounded: old pairs are pruned and the table never grows past maxRows (no clearing it whole)', async () => {
      const maxRows = 100;
      const th = new SignInThrottle(store, { sourceCap: 1_000_000, maxRows, pruneEveryMs: 0 }, clock);
      now += THROTTLE_DEFAULTS.windowMs * 2; // everything recorded so far is old
      await th.failed('sip:first@contoso.com', HOME);
      assert.equal(await store.signInFailures.count(), 1, 'pairs older than the window were pruned');
      for (let i = 0; i < 400; i++) {
        now += 1;
        await th.failed(`sip:u${i}@contoso.com`, `10.1.${i >> 8}.${i & 255}`);
        assert.ok((await store.signInFailures.count()) <= maxRows + 1, `rows after ${i}`);
      }
      // the newest pairs are the ones kept: the latest attacker is still slowed
      const latest = 'sip:u399@contoso.com';
      for (let i = 0; i < THROTTLE_DEFAULTS.free; i++) await th.failed(latest, '10.1.1.143');
      assert.equal((await th.check(latest, '10.1.1.143')).allowed, false);
    });
  });
}
