// One request budget per user, shared by every door (REST, WebSocket, SIP): a token bucket per user, so more
// sockets or another door do not buy more requests. Each door asks `take(user)` before doing a request's work
// and refuses with RATE_LIMITED (and its Retry-After) when the answer is a wait.
import { PchatError } from '../core/errors.js';
import { TokenBucket } from './token-bucket.js';

export interface RateLimitOptions {
  /** Requests per second refilled into each user's bucket. */
  ratePerSecond: number;
  /** Requests a user may make at once. */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { ratePerSecond: 50, burst: 200 };

/** Above this many tracked users, buckets that are full again (idle users) are dropped. */
const SWEEP_AT = 10_000;

export class UserRateLimiter {
  readonly opts: RateLimitOptions;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(opts: Partial<RateLimitOptions> = {}) {
    this.opts = { ...DEFAULT_RATE_LIMIT, ...opts };
  }

  /** Called with each request this server lets through (a pool shares the counts: src/pool/shared-limits.ts). */
  onTaken: ((user: string) => void) | undefined;

  private bucket(user: string, now: number): TokenBucket {
    let b = this.buckets.get(user);
    if (!b) {
      if (this.buckets.size >= SWEEP_AT) this.sweep(now);
      b = new TokenBucket(this.opts.ratePerSecond, this.opts.burst);
      this.buckets.set(user, b);
    }
    return b;
  }

  /** 0 when the request may go ahead; otherwise the milliseconds until the user may try again. */
  take(user: string, now = Date.now()): number {
    const b = this.bucket(user, now);
    if (!b.take(now)) return Math.max(1, b.waitMs(now));
    this.onTaken?.(user);
    return 0;
  }

  /** Counts `n` requests the user made on another server of the pool against their budget here. */
  absorb(user: string, n: number, now = Date.now()): void {
    this.bucket(user, now).drain(n, now);
  }

  /** Takes one request from the user's budget or throws RATE_LIMITED with `details.retryAfter` in seconds. */
  check(user: string): void {
    const wait = this.take(user);
    if (wait > 0) throw rateLimited(wait);
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    for (const [user, b] of this.buckets) if (b.full(now)) this.buckets.delete(user);
  }
}

export function rateLimited(waitMs: number): PchatError {
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
  return new PchatError('RATE_LIMITED', `Too many requests; retry in ${retryAfter} s.`, { details: { retryAfter } });
}
