/**
 * The attribution join: each feedback event is credited to the ranked list
 * that preceded it, for the same request id or else the same user, within
 * the attribution window. What it finds is reported to a sink as counter
 * increments, so precision, recall and NDCG stay ratios of sums.
 *
 * Pending lists sit in a ring in arrival order; their items are interned to
 * numbers and kept in one typed array, so a million pending lists stay
 * within a bounded, predictable amount of memory.
 */
import type { FeedbackEvent, InferenceEvent } from '../formats/events.js';
import { discount } from './ranking.js';

/** Receives what the join learns, per label set id. */
export interface QualitySink {
  /** A list entered the join with `length` items. */
  list(labelId: number, length: number): void;
  /**
   * A new distinct relevant item for a list: the `ordinal`-th one, found at
   * 1-based `rank` in the list, or rank 0 when the list did not hold it.
   * `bestEarlierRank` is the best rank of the list's earlier hits, 0 if none.
   */
  relevant(labelId: number, ordinal: number, rank: number, bestEarlierRank: number): void;
  /** A feedback event, and how it was attributed. */
  feedback(action: FeedbackEvent['action'], attribution: Attribution): void;
  evicted(reason: 'age' | 'size', count: number): void;
}

export type Attribution = 'request' | 'user' | 'none';

export interface AttributionOptions {
  windowSeconds: number;
  maxPendingLists: number;
  /** Most items kept per list; ranks past it cannot be hits. */
  maxListLength?: number;
}

const DEFAULT_MAX_LIST_LENGTH = 100;
/** Lists are stored in chunks, so an idle join holds little memory. */
const CHUNK = 65_536;

export class AttributionJoin {
  private readonly windowMs: number;
  private readonly capacity: number;
  private readonly maxLen: number;

  /** Sequence numbers: lists [oldest, next) are live. */
  private oldest = 0;
  private next = 0;
  private watermarkMs = -Infinity;

  private readonly times: Float64Array[] = [];
  private readonly labelIds: Int32Array[] = [];
  private readonly itemStarts: Int32Array[] = [];
  private readonly lengths: Uint16Array[] = [];
  private items = new Int32Array(0);
  private itemHead = 0;
  private liveItems = 0;
  private readonly requestKeys: Array<string | undefined> = [];
  private readonly userKeys: Array<string | undefined> = [];

  private readonly byRequest = new Map<string, number>();
  private readonly byUser = new Map<string, number>();
  /** Items acted on and best hit rank, only for lists that got feedback. */
  private readonly acted = new Map<number, { items: Set<number>; bestRank: number }>();
  private readonly itemIds = new Map<string, number>();

  constructor(
    options: AttributionOptions,
    private readonly sink: QualitySink,
  ) {
    if (!(options.windowSeconds > 0)) {
      throw new Error(`attribution window_seconds must be > 0, got ${options.windowSeconds}`);
    }
    if (!(options.maxPendingLists >= 1)) {
      throw new Error(`attribution max_pending_lists must be >= 1, got ${options.maxPendingLists}`);
    }
    this.windowMs = options.windowSeconds * 1000;
    this.capacity = Math.floor(options.maxPendingLists);
    this.maxLen = options.maxListLength ?? DEFAULT_MAX_LIST_LENGTH;
  }

  /** Lists waiting for feedback. */
  get pending(): number {
    return this.next - this.oldest;
  }

  /** Distinct item ids seen so far. */
  get knownItems(): number {
    return this.itemIds.size;
  }

  /** Adds a served list; lists with no items or no join key are ignored. */
  addList(event: InferenceEvent, labelId: number): void {
    if (event.items.length === 0) return;
    if (!event.requestId && !event.userKey) return;
    this.advance(event.timeMs);
    if (this.pending >= this.capacity) this.evict(1, 'size');

    const length = Math.min(event.items.length, this.maxLen);
    const seq = this.next++;
    this.ensureChunk(seq);
    const chunk = Math.floor(seq / CHUNK);
    const at = seq % CHUNK;
    this.times[chunk]![at] = event.timeMs;
    this.labelIds[chunk]![at] = labelId;
    this.lengths[chunk]![at] = length;
    this.itemStarts[chunk]![at] = this.storeItems(event.items, length);

    const slot = seq % this.capacity;
    this.requestKeys[slot] = event.requestId;
    this.userKeys[slot] = event.userKey;
    if (event.requestId) this.byRequest.set(event.requestId, seq);
    if (event.userKey) this.byUser.set(event.userKey, seq);
    this.sink.list(labelId, length);
  }

  /** Credits a feedback event to the list it follows, if any. */
  addFeedback(event: FeedbackEvent): Attribution {
    this.advance(event.timeMs);
    let attribution: Attribution = 'none';
    let seq = this.lookup(this.byRequest, event.requestId, event.timeMs);
    if (seq !== undefined) attribution = 'request';
    else {
      seq = this.lookup(this.byUser, event.userKey, event.timeMs);
      if (seq !== undefined) attribution = 'user';
    }
    if (seq !== undefined) this.credit(seq, event.itemId);
    this.sink.feedback(event.action, attribution);
    return attribution;
  }

  private lookup(index: Map<string, number>, key: string | undefined, timeMs: number): number | undefined {
    if (!key) return undefined;
    const seq = index.get(key);
    if (seq === undefined || seq < this.oldest) return undefined;
    const listTime = this.timeOf(seq);
    if (timeMs < listTime || timeMs - listTime > this.windowMs) return undefined;
    return seq;
  }

  private credit(seq: number, itemId: string): void {
    const item = this.intern(itemId);
    let seen = this.acted.get(seq);
    if (!seen) this.acted.set(seq, (seen = { items: new Set(), bestRank: 0 }));
    if (seen.items.has(item)) return;
    seen.items.add(item);

    const chunk = Math.floor(seq / CHUNK);
    const at = seq % CHUNK;
    const start = this.itemStarts[chunk]![at]!;
    const length = this.lengths[chunk]![at]!;
    let rank = 0;
    for (let i = 0; i < length; i++) {
      if (this.items[(start + i) % this.items.length] === item) {
        rank = i + 1;
        break;
      }
    }
    const bestEarlierRank = seen.bestRank;
    if (rank > 0 && (bestEarlierRank === 0 || rank < bestEarlierRank)) seen.bestRank = rank;
    this.sink.relevant(this.labelIds[chunk]![at]!, seen.items.size, rank, bestEarlierRank);
  }

  /** Moves the event-time watermark and evicts lists past the window. */
  private advance(timeMs: number): void {
    if (timeMs > this.watermarkMs) this.watermarkMs = timeMs;
    const horizon = this.watermarkMs - this.windowMs;
    let expired = 0;
    while (this.oldest + expired < this.next && this.timeOf(this.oldest + expired) < horizon) {
      expired++;
    }
    if (expired > 0) this.evict(expired, 'age');
  }

  private evict(count: number, reason: 'age' | 'size'): void {
    for (let i = 0; i < count; i++) {
      const seq = this.oldest++;
      const slot = seq % this.capacity;
      const requestId = this.requestKeys[slot];
      const userKey = this.userKeys[slot];
      if (requestId && this.byRequest.get(requestId) === seq) this.byRequest.delete(requestId);
      if (userKey && this.byUser.get(userKey) === seq) this.byUser.delete(userKey);
      this.requestKeys[slot] = undefined;
      this.userKeys[slot] = undefined;
      this.acted.delete(seq);
      this.liveItems -= this.lengths[Math.floor(seq / CHUNK)]![seq % CHUNK]!;
      if (seq % CHUNK === CHUNK - 1) this.releaseChunk(Math.floor(seq / CHUNK));
    }
    this.sink.evicted(reason, count);
  }

  private timeOf(seq: number): number {
    return this.times[Math.floor(seq / CHUNK)]![seq % CHUNK]!;
  }

  private ensureChunk(seq: number): void {
    const chunk = Math.floor(seq / CHUNK);
    if (this.times[chunk]) return;
    this.times[chunk] = new Float64Array(CHUNK);
    this.labelIds[chunk] = new Int32Array(CHUNK);
    this.itemStarts[chunk] = new Int32Array(CHUNK);
    this.lengths[chunk] = new Uint16Array(CHUNK);
  }

  private releaseChunk(chunk: number): void {
    delete this.times[chunk];
    delete this.labelIds[chunk];
    delete this.itemStarts[chunk];
    delete this.lengths[chunk];
  }

  /**
   * Items go into one ring of item ids that holds exactly the live lists;
   * it doubles when a new list would not fit, and never shrinks.
   */
  private storeItems(items: string[], length: number): number {
    if (this.liveItems + length > this.items.length) {
      this.growItems(Math.max(1024, this.items.length * 2, this.liveItems + length));
    }
    const size = this.items.length;
    const start = this.itemHead;
    for (let i = 0; i < length; i++) {
      this.items[(start + i) % size] = this.intern(items[i]!);
    }
    this.itemHead = (start + length) % size;
    this.liveItems += length;
    return start;
  }

  /** Copies the live lists, oldest first, to the start of a larger ring. */
  private growItems(size: number): void {
    const grown = new Int32Array(size);
    const old = this.items;
    let head = 0;
    for (let seq = this.oldest; seq < this.next - 1; seq++) {
      const chunk = Math.floor(seq / CHUNK);
      const at = seq % CHUNK;
      const start = this.itemStarts[chunk]![at]!;
      const length = this.lengths[chunk]![at]!;
      for (let i = 0; i < length; i++) grown[head + i] = old[(start + i) % old.length]!;
      this.itemStarts[chunk]![at] = head;
      head += length;
    }
    this.items = grown;
    this.itemHead = head;
  }

  private intern(itemId: string): number {
    let id = this.itemIds.get(itemId);
    if (id === undefined) this.itemIds.set(itemId, (id = this.itemIds.size));
    return id;
  }
}

/** What one list's relevant item adds to the @k counters. */
export function gainsAtK(
  ordinal: number,
  rank: number,
  bestEarlierRank: number,
  k: number,
): { hit: boolean; firstHit: boolean; dcg: number; idealDcg: number } {
  const hit = rank > 0 && rank <= k;
  const hadHit = bestEarlierRank > 0 && bestEarlierRank <= k;
  return {
    hit,
    firstHit: hit && !hadHit,
    dcg: hit ? discount(rank) : 0,
    idealDcg: ordinal <= k ? discount(ordinal) : 0,
  };
}
