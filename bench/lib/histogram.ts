// A small HDR-like histogram of non-negative values (microseconds in practice): exact below 2048, then
// 1,024 sub-buckets per power of two (relative error < 0.1 %). Mergeable across processes as a sparse list.

const SUB_BITS = 10;
const SUB = 1 << SUB_BITS; // 1024
const LINEAR = SUB * 2; // values below this are exact

function bucketOf(v: number): number {
  if (v < LINEAR) return v;
  const exp = Math.floor(Math.log2(v)) - SUB_BITS; // >= 1
  const mant = Math.floor(v / 2 ** exp) - SUB; // 0..1023 (v / 2^exp is in [1024, 2048))
  return LINEAR + (exp - 1) * SUB + mant;
}

function bucketValue(b: number): number {
  if (b < LINEAR) return b;
  const exp = Math.floor((b - LINEAR) / SUB) + 1;
  const mant = (b - LINEAR) % SUB;
  // the middle of the bucket
  return (SUB + mant + 0.5) * 2 ** exp;
}

export type HistogramData = [bucket: number, count: number][];

export class Histogram {
  private readonly counts = new Map<number, number>();
  count = 0;
  max = 0;
  min = Number.POSITIVE_INFINITY;
  sum = 0;

  record(value: number): void {
    const v = value < 0 ? 0 : Math.round(value);
    const b = bucketOf(v);
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
    if (v < this.min) this.min = v;
  }

  merge(other: Histogram | { data: HistogramData; max: number; min: number; sum: number }): void {
    const data = other instanceof Histogram ? other.toJSON().data : other.data;
    for (const [b, n] of data) {
      this.counts.set(b, (this.counts.get(b) ?? 0) + n);
      this.count += n;
    }
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
    if (other.min < this.min) this.min = other.min;
  }

  /** The value at quantile q (0..1). */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    if (q >= 1) return this.max;
    const rank = Math.max(1, Math.ceil(q * this.count));
    const buckets = [...this.counts.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const b of buckets) {
      seen += this.counts.get(b) ?? 0;
      if (seen >= rank) return Math.min(bucketValue(b), this.max);
    }
    return this.max;
  }

  mean(): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count;
  }

  toJSON(): { data: HistogramData; max: number; min: number; sum: number } {
    return { data: [...this.counts.entries()], max: this.max, min: this.min, sum: this.sum };
  }

  static from(j: { data: HistogramData; max: number; min: number; sum: number }): Histogram {
    const h = new Histogram();
    h.merge(j);
    return h;
  }

  /** p50/p95/p99/max in milliseconds (the recorded unit is µs). */
  summaryMs(): { n: number; p50: number; p95: number; p99: number; max: number } {
    const ms = (v: number) => Math.round(v) / 1000;
    return {
      n: this.count,
      p50: ms(this.quantile(0.5)),
      p95: ms(this.quantile(0.95)),
      p99: ms(this.quantile(0.99)),
      max: ms(this.max),
    };
  }
}
