// One request budget per user across the whole pool. Each server counts the requests it lets through per user and
// publishes the counts on the pool's NATS every `intervalMs` (`pchat.<pool>.limits`); every other server drains
// those counts from the same user's bucket. A user who spreads requests over several servers therefore gets one
// budget, not one per server, at the price of at most one interval's lag.
import type { UserRateLimiter } from '../chat/user-rate-limiter.js';
import { type NatsBus, poolToken } from './nats-bus.js';

export interface SharedLimits {
  stop(): void;
}

export function shareLimits(bus: NatsBus, pool: string, limiter: UserRateLimiter, intervalMs = 250): SharedLimits {
  const subject = `pchat.${poolToken(pool)}.limits`;
  let counts = new Map<string, number>();
  limiter.onTaken = (user) => counts.set(user, (counts.get(user) ?? 0) + 1);
  const nc = bus.connection;
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      try {
        const m = JSON.parse(msg.string()) as { origin?: string; counts?: Record<string, number> };
        if (m.origin === bus.serverId || typeof m.counts !== 'object' || m.counts === null) return;
        for (const [user, n] of Object.entries(m.counts)) {
          if (Number.isFinite(n) && n > 0) limiter.absorb(user, Math.min(n, 1_000_000));
        }
      } catch {
        // not ours
      }
    },
  });
  const timer = setInterval(() => {
    if (counts.size === 0) return;
    const batch = counts;
    counts = new Map();
    try {
      nc.publish(subject, JSON.stringify({ origin: bus.serverId, counts: Object.fromEntries(batch) }));
    } catch {
      // the bus is away: this interval's counts are not shared (the budget is briefly per server)
    }
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      limiter.onTaken = undefined;
      sub.unsubscribe();
    },
  };
}
