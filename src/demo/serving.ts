/**
 * The demo model server itself: picks a model for each arriving customer,
 * times the recommendation, and writes the log lines an exporter reads.
 * Field names are the exporter's defaults (see src/config/schema.ts).
 */
import type { ShopSale } from './shop-data.js';
import {
  CooccurrenceModel,
  PopularityModel,
  type Recommender,
} from './recommender.js';

/** Scene of lists shown to signed-in customers. */
export const KNOWN_CUSTOMER_SCENE = 'recommend';
/** Scene of lists shown to anonymous visitors. */
export const ANONYMOUS_SCENE = 'home';

/** One served list, before it is written. */
export interface ServedList {
  requestId: string;
  model: string;
  version: string;
  scene: string;
  /** Customer id, or `session-<visit id>` for anonymous visits. */
  userKey: string;
  items: string[];
  /** Measured compute time of the list, in milliseconds. */
  latencyMs: number;
}

/**
 * FNV-1a over the UTF-16 code units: a stable hash, so a customer lands
 * in the same A/B arm in every run and every process.
 */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Serves and learns from sales, one invoice at a time, in file order. */
export class DemoModelServer {
  readonly popularity = new PopularityModel();
  readonly cooccurrence = new CooccurrenceModel(this.popularity);

  constructor(readonly k = 10) {}

  /** The model for a visit: popularity for anonymous ones and even hashes. */
  modelFor(customerId: string | undefined): Recommender {
    if (customerId === undefined) return this.popularity;
    return stableHash(customerId) % 2 === 0
      ? this.popularity
      : this.cooccurrence;
  }

  /**
   * The list shown when the sale's customer arrives, at data time timeMs.
   * `visitId` names the visit in request and session keys; the InvoiceNo
   * unless the replay has looped and must keep keys apart.
   */
  serve(sale: ShopSale, timeMs: number, visitId = sale.invoiceNo): ServedList {
    const model = this.modelFor(sale.customerId);
    const request = { timeMs, customerId: sale.customerId };

    const started = process.hrtime.bigint();
    const items = model.recommend(request, this.k);
    const elapsedNs = process.hrtime.bigint() - started;

    return {
      requestId: `req-${visitId}`,
      model: model.name,
      version: model.version,
      scene:
        sale.customerId === undefined ? ANONYMOUS_SCENE : KNOWN_CUSTOMER_SCENE,
      userKey: sale.customerId ?? `session-${visitId}`,
      items,
      latencyMs: Math.round(Number(elapsedNs) / 1000) / 1000,
    };
  }

  /** Teaches both models a sale that has been served. */
  learn(sale: ShopSale): void {
    this.popularity.learn(sale);
    this.cooccurrence.learn(sale);
  }
}

/** The JSON line of a served list. */
export function inferenceLine(list: ServedList, time: string): string {
  return JSON.stringify({
    type: 'inference',
    time,
    request_id: list.requestId,
    model: list.model,
    model_version: list.version,
    scene: list.scene,
    latency_ms: list.latencyMs,
    status: list.items.length > 0 ? 'ok' : 'empty',
    items: list.items,
    user: list.userKey,
  });
}

/**
 * One purchase line per distinct product of the sale. They carry no request
 * id: purchases come from the shop, so the exporter joins them by user.
 */
export function purchaseLines(
  sale: ShopSale,
  userKey: string,
  time: string,
): string[] {
  return sale.purchases.map(({ code }) =>
    JSON.stringify({
      type: 'feedback',
      time,
      user: userKey,
      item: code,
      action: 'purchase',
    }),
  );
}
