/**
 * Sliding-window sums in one-second buckets, for the gauges that report
 * QPS, precision, recall and F1 over the last few minutes of wall time.
 */

/** The quantities the window keeps per label set. */
export const WINDOW_FIELDS = [
  'requests',
  'recommended',
  'relevant',
  'hits',
] as const;
export type WindowField = (typeof WINDOW_FIELDS)[number];
const FIELD_COUNT = WINDOW_FIELDS.length;

export class SlidingWindow {
  private readonly buckets: Float64Array;
  /** The second each bucket currently holds; stale buckets are skipped. */
  private readonly stamps: Float64Array;

  constructor(readonly seconds: number) {
    if (!Number.isInteger(seconds) || seconds < 1) {
      throw new Error(
        `window seconds must be a whole number >= 1, got ${seconds}`,
      );
    }
    this.buckets = new Float64Array(seconds * FIELD_COUNT);
    this.stamps = new Float64Array(seconds).fill(-1);
  }

  add(nowSeconds: number, field: WindowField, amount: number): void {
    const second = Math.floor(nowSeconds);
    const slot = second % this.seconds;
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second;
      this.buckets.fill(0, slot * FIELD_COUNT, (slot + 1) * FIELD_COUNT);
    }
    this.buckets[slot * FIELD_COUNT + WINDOW_FIELDS.indexOf(field)]! += amount;
  }

  /** Sums of each field over the `seconds` seconds up to and including now. */
  sums(nowSeconds: number): Record<WindowField, number> {
    const now = Math.floor(nowSeconds);
    const totals = new Float64Array(FIELD_COUNT);
    for (let slot = 0; slot < this.seconds; slot++) {
      const stamp = this.stamps[slot]!;
      if (stamp < 0 || stamp > now || now - stamp >= this.seconds) continue;
      for (let f = 0; f < FIELD_COUNT; f++)
        totals[f]! += this.buckets[slot * FIELD_COUNT + f]!;
    }
    return {
      requests: totals[0]!,
      recommended: totals[1]!,
      relevant: totals[2]!,
      hits: totals[3]!,
    };
  }
}
