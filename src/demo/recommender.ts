/**
 * The two recommendation models the demo serves. Both learn only from sales
 * they are handed after serving them, so a list never draws on the invoice
 * it is shown for: the replay serves an invoice first and teaches it after.
 */
import type { ShopSale } from './shop-data.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Who is asking, and when in data time. */
export interface RecommendRequest {
  timeMs: number;
  /** Absent for anonymous visits. */
  customerId?: string;
}

/** A model as the demo server runs it, named as in its log lines. */
export interface Recommender {
  readonly name: string;
  readonly version: string;
  /** Up to k product codes, best first; empty when nothing is known yet. */
  recommend(request: RecommendRequest, k: number): string[];
  /** Takes in a finished sale, no earlier in time than any before it. */
  learn(sale: ShopSale): void;
}

/**
 * The k keys with the highest counts, ties broken by key so that runs
 * repeat exactly; keys in `exclude` are passed over.
 */
export function topByCount(
  counts: ReadonlyMap<string, number>,
  k: number,
  exclude?: ReadonlySet<string>,
): string[] {
  const candidates: [string, number][] = [];
  for (const entry of counts) {
    if (!exclude?.has(entry[0])) candidates.push(entry);
  }
  candidates.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return candidates.slice(0, k).map(([key]) => key);
}

interface UnitsSold {
  timeMs: number;
  code: string;
  units: number;
}

/** Best sellers by units over the trailing window of data time. */
export class PopularityModel implements Recommender {
  readonly name = 'popularity';
  readonly version = 'v1';
  private readonly sold: UnitsSold[] = [];
  private oldest = 0;
  private readonly unitsByCode = new Map<string, number>();

  /** @param windowMillis how far back sales count; 7 days by default. */
  constructor(readonly windowMillis = 7 * DAY_MS) {}

  learn(sale: ShopSale): void {
    for (const { code, units } of sale.purchases) {
      this.sold.push({ timeMs: sale.timeMs, code, units });
      this.unitsByCode.set(code, (this.unitsByCode.get(code) ?? 0) + units);
    }
  }

  recommend(request: RecommendRequest, k: number): string[] {
    return this.top(request.timeMs, k);
  }

  /** The k best sellers in the window ending at timeMs, minus `exclude`. */
  top(timeMs: number, k: number, exclude?: ReadonlySet<string>): string[] {
    this.forgetBefore(timeMs - this.windowMillis);
    return topByCount(this.unitsByCode, k, exclude);
  }

  /** Drops sales at or before the cut-off; they are kept in time order. */
  private forgetBefore(cutoffMs: number): void {
    while (this.oldest < this.sold.length) {
      const entry = this.sold[this.oldest]!;
      if (entry.timeMs > cutoffMs) break;
      const left = this.unitsByCode.get(entry.code)! - entry.units;
      if (left > 0) this.unitsByCode.set(entry.code, left);
      else this.unitsByCode.delete(entry.code);
      this.oldest += 1;
    }
    // Compact now and then so a looping replay does not grow without end.
    if (this.oldest > 4096 && this.oldest * 2 > this.sold.length) {
      this.sold.splice(0, this.oldest);
      this.oldest = 0;
    }
  }
}

/**
 * Products most often bought on the same invoice as the customer's recent
 * purchases, leaving out those purchases themselves; the shared popularity
 * model fills any places left. Anonymous visits and new customers get the
 * popularity list.
 */
export class CooccurrenceModel implements Recommender {
  readonly name = 'cooccurrence';
  readonly version = 'v1';
  /** For each product, how many invoices held it with each other product. */
  private readonly together = new Map<string, Map<string, number>>();
  /** Each customer's most recent distinct products, oldest first. */
  private readonly recentByCustomer = new Map<string, string[]>();

  /**
   * @param fallback fills the list; the caller teaches it, not this model.
   * @param historyLimit how many recent products of a customer are used,
   *   which bounds the cost of one list for customers who buy hundreds.
   */
  constructor(
    private readonly fallback: PopularityModel,
    readonly historyLimit = 50,
  ) {}

  learn(sale: ShopSale): void {
    const codes = sale.purchases.map((p) => p.code);
    for (const code of codes) {
      let partners = this.together.get(code);
      if (!partners) this.together.set(code, (partners = new Map()));
      for (const other of codes) {
        if (other !== code) partners.set(other, (partners.get(other) ?? 0) + 1);
      }
    }
    if (sale.customerId !== undefined) this.remember(sale.customerId, codes);
  }

  recommend(request: RecommendRequest, k: number): string[] {
    const recent = this.recentByCustomer.get(request.customerId ?? '') ?? [];
    const owned = new Set(recent);
    const scores = new Map<string, number>();
    for (const code of recent) {
      for (const [other, n] of this.together.get(code) ?? []) {
        if (!owned.has(other)) scores.set(other, (scores.get(other) ?? 0) + n);
      }
    }

    const picked = topByCount(scores, k);
    if (picked.length < k) {
      const skip = new Set([...owned, ...picked]);
      const fill = this.fallback.top(request.timeMs, k - picked.length, skip);
      picked.push(...fill);
    }
    return picked;
  }

  private remember(customerId: string, codes: string[]): void {
    const recent = (this.recentByCustomer.get(customerId) ?? []).filter(
      (code) => !codes.includes(code),
    );
    recent.push(...codes);
    this.recentByCustomer.set(customerId, recent.slice(-this.historyLimit));
  }
}
