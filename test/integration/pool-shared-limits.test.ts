// One request budget per user across the pool: requests let through on one server are counted against the same
// user's budget on the others (over the pool's NATS), so spreading requests over servers buys nothing.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { UserRateLimiter } from '../../src/chat/user-rate-limiter.js';
import { NatsBus } from '../../src/pool/nats-bus.js';
import { shareLimits } from '../../src/pool/shared-limits.js';
import { natsUrl } from '../support/nats.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pool-wide rate limits', async () => {
  const url = await natsUrl('pool-wide rate limits');
  const pool = `limits-${Date.now().toString(36)}`;
  const buses: NatsBus[] = [];
  after(async () => {
    for (const b of buses) await b.close();
  });

  test('a burst spent on one server is spent on the others; other users and pools keep theirs', {
    skip: !url,
  }, async () => {
    const open = async (id: string, p = pool) => {
      const bus = await NatsBus.connect({ url: url as string, pool: p, serverId: id });
      buses.push(bus);
      const limiter = new UserRateLimiter({ ratePerSecond: 1, burst: 10 });
      const shared = shareLimits(bus, p, limiter, 50);
      return { bus, limiter, shared };
    };
    const fe1 = await open('fe1');
    const fe2 = await open('fe2');
    const elsewhere = await open('fe1', `${pool}-other`);
    await Promise.all(buses.map((b) => b.flush()));
    const alice = 'sip:alice@contoso.com';
    let ok = 0;
    for (let i = 0; i < 10; i++) if (fe1.limiter.take(alice) === 0) ok++;
    assert.equal(ok, 10, 'the burst is there on fe1');
    await sleep(400); // > the 50 ms sharing interval
    const onFe2 = Array.from({ length: 10 }, () => fe2.limiter.take(alice)).filter((w) => w === 0).length;
    assert.ok(onFe2 <= 1, `fe2 lets at most what refilled meanwhile through, got ${onFe2}`);
    assert.equal(fe2.limiter.take('sip:bob@contoso.com'), 0, 'bob has his own budget');
    assert.equal(elsewhere.limiter.take(alice), 0, 'another pool counts apart');
    for (const s of [fe1, fe2, elsewhere]) s.shared.stop();
  });
});
