// A token bucket: `burst` requests at once, refilled at `ratePerSecond`. The per-connection rate limit of every
// transport (WebSocket frames, SIP INFOs) is one of these.
export class TokenBucket {
  private tokens: number;
  private refilledAt = Date.now();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one token; false when the bucket is empty (the request is over the limit). */
  take(now = Date.now()): boolean {
    // a clock that steps back refills nothing (and takes nothing away)
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.refilledAt) / 1000) * this.ratePerSecond);
    this.refilledAt = Math.max(now, this.refilledAt);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Takes `n` tokens spent elsewhere (another server of the pool): the bucket may go into debt, at most one burst
   * deep, so a user's budget stays one budget however their requests spread over the servers.
   */
  drain(n: number, now = Date.now()): void {
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.refilledAt) / 1000) * this.ratePerSecond);
    this.refilledAt = Math.max(now, this.refilledAt);
    this.tokens = Math.max(-this.burst, this.tokens - n);
  }

  /** Milliseconds until the next token (0 when one is there). */
  waitMs(now = Date.now()): number {
    const tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.refilledAt) / 1000) * this.ratePerSecond);
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / this.ratePerSecond) * 1000);
  }

  /** Refilled to the burst: holding it changes nothing. */
  full(now = Date.now()): boolean {
    return this.tokens + (Math.max(0, now - this.refilledAt) / 1000) * this.ratePerSecond >= this.burst;
  }
}
