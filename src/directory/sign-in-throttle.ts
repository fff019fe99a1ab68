// Password guessing, for every door (REST, WebSocket, SIP Digest), without letting a stranger lock a user out
// (OWASP Authentication Cheat Sheet: delays that grow per account and source rather than a hard lock-out).
//
//   - Failures are counted per (user, source address), in the store, so every server of a pool shares them.
//     A source is an IPv4 address or an IPv6 /64 (one host usually holds a whole /64).
//   - The first FREE failures of a pair cost nothing; after that each attempt from that pair must wait
//     base · 2^(failures − FREE), up to maxDelay, counted from its last failure. Waiting is refused with
//     RATE_LIMITED and a retryAfterMs, before any password is checked (so guessing does not go on meanwhile).
//   - A pair that has not failed for `window` starts again from zero; a success clears it.
//   - One source may fail at most sourceCap times per window across all users (a spray of names from one
//     address stops there), then every sign-in from it waits until its failures age out.
//   - Nothing is kept in memory; the table is pruned of pairs older than `window` (at most once per
//     pruneEveryMs) and capped at maxRows by evicting the oldest pairs, never cleared whole.
// A stranger's failures from another address live in another pair: the user's own address is not slowed.
import { PchatError } from '../core/errors.js';
import type { SignInFailureStore } from '../store/port.js';

export interface ThrottleOptions {
  free: number;
  baseDelayMs: number;
  maxDelayMs: number;
  windowMs: number;
  sourceCap: number;
  maxRows: number;
  pruneEveryMs: number;
}

export const THROTTLE_DEFAULTS: ThrottleOptions = {
  free: 5,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60_000,
  windowMs: 60 * 60_000,
  sourceCap: 100,
  maxRows: 100_000,
  pruneEveryMs: 60_000,
};

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterMs: number; reason: 'user' | 'source' };

/** An IPv4 address, or the /64 of an IPv6 one; IPv4-mapped IPv6 is IPv4. Empty or odd input is one bucket. */
export function sourceKey(address: string | undefined): string {
  const a = (address ?? '').trim().toLowerCase();
  if (a === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1] as string;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(a)) return a;
  if (!a.includes(':')) return a.slice(0, 64);
  // expand "::" so the first four groups are known
  const [head = '', tail = ''] = a.split('%')[0]?.split('::') ?? [];
  const h = head === '' ? [] : head.split(':');
  const t = a.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = a.includes('::') ? [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => (g.replace(/^0+(?=.)/, '') || '0').slice(0, 4))
    .join(':')}::/64`;
}

/** The key failures are counted under: the normalized user (any text a client sent, bounded). */
export function userKey(user: string): string {
  return String(user).trim().toLowerCase().slice(0, 300);
}

export class SignInThrottle {
  private readonly opts: ThrottleOptions;
  private lastPrune = 0;

  /**
   * `store` is asked for its signInFailures on every call (not once), so a store that a pool fails over to
   * another database (pool/switchable-store.ts) is followed.
   */
  constructor(
    private readonly store: { readonly signInFailures: SignInFailureStore },
    opts: Partial<ThrottleOptions> = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.opts = { ...THROTTLE_DEFAULTS, ...opts };
  }

  /** The wait a pair with `failures` failures owes after its last one. */
  delayFor(failures: number): number {
    const over = failures - this.opts.free;
    if (over < 0) return 0;
    return Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(over, 30));
  }

  /** May `user` try a password from `address` now? */
  async check(user: string, address: string | undefined): Promise<ThrottleVerdict> {
    const now = this.clock();
    const source = sourceKey(address);
    const since = now - this.opts.windowMs;
    const fromSource = await this.store.signInFailures.fromSource(source, since);
    if (fromSource.failures >= this.opts.sourceCap) {
      const retryAfterMs = Math.max(1, (fromSource.oldestAt ?? now) + this.opts.windowMs - now);
      return { allowed: false, retryAfterMs, reason: 'source' };
    }
    const pair = await this.store.signInFailures.get(userKey(user), source);
    if (!pair || pair.lastAt < since) return { allowed: true };
    const wait = pair.lastAt + this.delayFor(pair.failures) - now;
    return wait > 0 ? { allowed: false, retryAfterMs: wait, reason: 'user' } : { allowed: true };
  }

  /** `check`, throwing RATE_LIMITED (with details.retryAfterMs) when the attempt must wait. */
  async assertMayTry(user: string, address: string | undefined): Promise<void> {
    const v = await this.check(user, address);
    if (v.allowed) return;
    const seconds = Math.ceil(v.retryAfterMs / 1000);
    throw new PchatError(
      'RATE_LIMITED',
      v.reason === 'source'
        ? `Too many failed sign-ins from this address; try again in ${seconds} s.`
        : `Too many failed sign-ins for this user from this address; try again in ${seconds} s.`,
      // retryAfter in seconds, as for the request budget (REST turns it into Retry-After)
      { details: { retryAfter: seconds, retryAfterMs: v.retryAfterMs } },
    );
  }

  async failed(user: string, address: string | undefined): Promise<void> {
    const now = this.clock();
    await this.store.signInFailures.record(userKey(user), sourceKey(address), now, now - this.opts.windowMs);
    if (now - this.lastPrune >= this.opts.pruneEveryMs) {
      this.lastPrune = now;
      await this.store.signInFailures.prune(now - this.opts.windowMs, this.opts.maxRows);
    }
  }

  async succeeded(user: string, address: string | undefined): Promise<void> {
    await this.store.signInFailures.clear(userKey(user), sourceKey(address));
  }
}
