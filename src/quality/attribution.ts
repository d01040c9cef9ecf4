/**
 * The attribution join: each feedback event is credited to the ranked list
 * that preceded it, for the same request id or else the same user, within
 * the attribution window. What it finds is reported to a sink as counter
 * increments, so precision, recall and NDCG stay ratios of sums.
 *
 * Pending lists sit in chunks in arrival order, as typed arrays: their items
 * are interned to numbers, and their request ids and user keys are kept only
 * as 64-bit fingerprints in two open-addressing indexes, never as strings.
 * A million pending lists of ten items thus take about 62 MB, and an idle
 * join holds little.
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
  relevant(
    labelId: number,
    ordinal: number,
    rank: number,
    bestEarlierRank: number,
  ): void;
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
  /** Wall clock in milliseconds; tests pass their own. */
  now?: () => number;
}

const DEFAULT_MAX_LIST_LENGTH = 100;
/** Lists are stored in chunks, so an idle join holds little memory. */
const CHUNK = 65_536;
const CHUNK_BITS = 16;
/** Most pending lists: ring slots are 32-bit integers. */
const MAX_PENDING_LISTS = 2 ** 31 - 1;
/** Smallest key index table; it never shrinks below this. */
const MIN_INDEX_SIZE = 1024;
/** Share of a key index table that may be used before it grows. */
const MAX_INDEX_LOAD = 0.7;
/**
 * Items are kept in pages of this many, so memory is taken and given back
 * in equal blocks, never copied to grow; a list never straddles two pages.
 */
const PAGE_ITEMS = 65_536;
const PAGE_BITS = 16;
/** Largest interned item id or label set id 16 bits can hold. */
const NARROW_MAX = 0xffff;
const INT32_MAX = 2 ** 31 - 1;

type ItemPage = Uint16Array | Int32Array;

/** The two 32-bit halves of the last key fingerprinted. */
let printHigh = 0;
let printLow = 0;

/** Final mixing of a 32-bit lane, so every input bit moves every output bit. */
function avalanche(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A 64-bit fingerprint of a join key, from two differently seeded and
 * multiplied lanes over its UTF-16 code units, left in printHigh/printLow
 * so that the per-event path allocates nothing. Two live keys share one
 * with a chance of about n^2 / 2^65 (1 in 37 million for a million keys).
 */
function fingerprint(key: string): void {
  let high = 0x9e3779b9 ^ key.length;
  let low = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i);
    low = Math.imul(low ^ unit, 0x01000193);
    high = Math.imul(high ^ unit, 0x5bd1e995);
    high ^= high >>> 15;
  }
  printHigh = avalanche(high ^ low);
  // All zeros marks a slot without a key, so no key may have it.
  printLow = avalanche(low) || (printHigh === 0 ? 1 : 0);
}

/**
 * Join keys to the ring slot of the latest pending list that carries them.
 * The fingerprint of each slot's key is kept per slot (zero: no key); the
 * table holds only slots (-1 for empty), probed linearly from a home bucket
 * scaled from the fingerprint's low half. Deletions shift entries back so
 * no tombstones pile up. The table grows by half when 70% full and halves
 * when an eighth full: at a million keys it takes 6 MB, not the 8 MB a
 * power-of-two size would.
 */
class KeyIndex {
  private table = new Int32Array(MIN_INDEX_SIZE).fill(-1);
  /** Table size over 2^32: a 32-bit value times it is a home bucket. */
  private scale = MIN_INDEX_SIZE / 2 ** 32;
  private count = 0;
  /** Fingerprint halves per ring slot, in chunks of slots. */
  private readonly highs: Uint32Array[] = [];
  private readonly lows: Uint32Array[] = [];

  /** The slot holding the latest list for `key`, or -1. */
  get(key: string): number {
    fingerprint(key);
    const table = this.table;
    const size = table.length;
    for (
      let i = Math.floor(printLow * this.scale);
      ;
      i = i + 1 === size ? 0 : i + 1
    ) {
      const slot = table[i]!;
      if (slot < 0 || this.holds(slot, printHigh, printLow)) return slot;
    }
  }

  /** Makes `slot` the latest list for `key`, replacing any earlier one. */
  set(slot: number, key: string): void {
    fingerprint(key);
    const high = printHigh;
    const low = printLow;
    const chunk = slot >>> CHUNK_BITS;
    if (!this.lows[chunk]) {
      this.highs[chunk] = new Uint32Array(CHUNK);
      this.lows[chunk] = new Uint32Array(CHUNK);
    }
    const at = slot & (CHUNK - 1);
    this.highs[chunk]![at] = high;
    this.lows[chunk]![at] = low;

    const full = this.table.length * MAX_INDEX_LOAD;
    if (this.count + 1 > full) this.resize(Math.ceil(this.table.length * 1.5));
    const table = this.table;
    const size = table.length;
    let i = Math.floor(low * this.scale);
    while (table[i]! >= 0 && !this.holds(table[i]!, high, low)) {
      i = i + 1 === size ? 0 : i + 1;
    }
    if (table[i]! < 0) this.count++;
    else this.forget(table[i]!);
    table[i] = slot;
  }

  /** Forgets the key of `slot`, if the index still leads to that slot. */
  remove(slot: number): void {
    const chunk = slot >>> CHUNK_BITS;
    const at = slot & (CHUNK - 1);
    if (!this.lows[chunk]?.[at] && !this.highs[chunk]?.[at]) return;
    const table = this.table;
    let i = this.home(slot);
    while (table[i] !== slot) i = i + 1 === table.length ? 0 : i + 1;
    this.deleteAt(i);
    this.forget(slot);
    this.count--;
    const size = table.length;
    if (size > MIN_INDEX_SIZE && this.count * 8 < size) {
      this.resize(Math.max(MIN_INDEX_SIZE, Math.floor(size / 2)));
    }
  }

  /** Marks `slot` as holding no key the table leads to. */
  private forget(slot: number): void {
    this.highs[slot >>> CHUNK_BITS]![slot & (CHUNK - 1)] = 0;
    this.lows[slot >>> CHUNK_BITS]![slot & (CHUNK - 1)] = 0;
  }

  private holds(slot: number, high: number, low: number): boolean {
    const chunk = slot >>> CHUNK_BITS;
    const at = slot & (CHUNK - 1);
    return this.lows[chunk]![at] === low && this.highs[chunk]![at] === high;
  }

  private home(slot: number): number {
    const low = this.lows[slot >>> CHUNK_BITS]![slot & (CHUNK - 1)]!;
    return Math.floor(low * this.scale);
  }

  /** Empties table[hole], moving later entries of its run back into it. */
  private deleteAt(hole: number): void {
    const table = this.table;
    const size = table.length;
    const after = (i: number): number => (i + 1 === size ? 0 : i + 1);
    for (let i = after(hole); table[i]! >= 0; i = after(i)) {
      const home = this.home(table[i]!);
      // An entry may fill the hole only if its home is not after the hole
      // on the way round from its home to where it sits.
      const stays =
        hole <= i ? hole < home && home <= i : hole < home || home <= i;
      if (stays) continue;
      table[hole] = table[i]!;
      hole = i;
    }
    table[hole] = -1;
  }

  private resize(size: number): void {
    const old = this.table;
    this.table = new Int32Array(size).fill(-1);
    this.scale = size / 2 ** 32;
    for (const slot of old) {
      if (slot < 0) continue;
      let i = this.home(slot);
      while (this.table[i]! >= 0) i = i + 1 === size ? 0 : i + 1;
      this.table[i] = slot;
    }
  }
}

export class AttributionJoin {
  private readonly windowMs: number;
  private readonly capacity: number;
  private readonly maxLen: number;

  /** Sequence numbers: lists [oldest, next) are live. */
  private oldest = 0;
  private next = 0;
  private watermarkMs = -Infinity;
  private readonly now: () => number;

  /**
   * Per chunk, list times as whole milliseconds after the chunk's base time
   * (32-bit), or as plain numbers once a time does not fit that way.
   */
  private readonly times: Array<Int32Array | Float64Array> = [];
  private readonly timeBases: number[] = [];
  /** Label set ids, 16-bit until an id needs more. */
  private readonly labelIds: Array<Uint16Array | Int32Array> = [];
  private readonly itemStarts: Int32Array[] = [];
  /**
   * Per list, how many lists back the same user's previous one is; a chunk
   * gets its array only when one of its lists has such a link.
   */
  private readonly userPrev: Array<Int32Array | undefined> = [];
  /** 8-bit when no list may be longer than 255 items. */
  private readonly lengths: Array<Uint8Array | Uint16Array> = [];
  private wideLabels = false;
  /**
   * Each chunk's item pages, and the position (page * PAGE_ITEMS + offset)
   * where its next list's items go. Pages are 16-bit until an item id
   * needs more.
   */
  private readonly itemPages: ItemPage[][] = [];
  private readonly itemsUsed: number[] = [];
  private wideItems = false;

  private readonly byRequest = new KeyIndex();
  private readonly byUser = new KeyIndex();
  /** Items acted on and best hit rank, only for lists that got feedback. */
  private readonly acted = new Map<
    number,
    { items: Set<number>; bestRank: number }
  >();
  private readonly itemIds = new Map<string, number>();

  constructor(
    options: AttributionOptions,
    private readonly sink: QualitySink,
  ) {
    if (!(options.windowSeconds > 0)) {
      throw new Error(
        `attribution window_seconds must be > 0, got ${options.windowSeconds}`,
      );
    }
    const max = options.maxPendingLists;
    if (!(max >= 1)) {
      throw new Error(`attribution max_pending_lists must be >= 1, got ${max}`);
    }
    if (max > MAX_PENDING_LISTS) {
      throw new Error(
        `attribution max_pending_lists must be <= ${MAX_PENDING_LISTS}, got ${max}`,
      );
    }
    this.windowMs = options.windowSeconds * 1000;
    this.capacity = Math.floor(max);
    this.maxLen = options.maxListLength ?? DEFAULT_MAX_LIST_LENGTH;
    this.now = options.now ?? Date.now;
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
    if (this.pending >= this.capacity) this.evict(1, 'size');

    const length = Math.min(event.items.length, this.maxLen);
    const seq = this.next++;
    this.ensureChunk(seq, event.timeMs);
    const chunk = Math.floor(seq / CHUNK);
    const at = seq % CHUNK;
    this.storeTime(chunk, at, event.timeMs);
    this.storeLabelId(chunk, at, labelId);
    this.lengths[chunk]![at] = length;
    this.itemStarts[chunk]![at] = this.storeItems(chunk, event.items, length);

    const slot = seq % this.capacity;
    if (event.requestId) this.byRequest.set(slot, event.requestId);
    if (event.userKey) {
      // Most users have one list at a time, so the links are kept sparse.
      const back = this.distanceToUsersLast(seq, event.userKey);
      if (back > 0) (this.userPrev[chunk] ??= new Int32Array(CHUNK))[at] = back;
      this.byUser.set(slot, event.userKey);
    }
    this.sink.list(labelId, length);
  }

  /** Credits a feedback event to the list it follows, if any. */
  addFeedback(event: FeedbackEvent): Attribution {
    this.advance(event.timeMs);
    let attribution: Attribution = 'none';
    let seq = this.lookup(this.byRequest, event.requestId, event.timeMs);
    if (seq !== undefined) attribution = 'request';
    else {
      seq = this.lookupUser(event.userKey, event.timeMs);
      if (seq !== undefined) attribution = 'user';
    }
    if (seq !== undefined) this.credit(seq, event.itemId);
    this.sink.feedback(event.action, attribution);
    return attribution;
  }

  private lookup(
    index: KeyIndex,
    key: string | undefined,
    timeMs: number,
  ): number | undefined {
    if (!key) return undefined;
    const slot = index.get(key);
    if (slot < 0) return undefined;
    const seq = this.seqAt(slot);
    const listTime = this.timeOf(seq);
    if (timeMs < listTime || timeMs - listTime > this.windowMs)
      return undefined;
    return seq;
  }

  /**
   * The user's latest list served at or before `timeMs`, within the window:
   * lists read ahead of their feedback are passed over by walking back
   * through the user's earlier lists.
   */
  private lookupUser(
    key: string | undefined,
    timeMs: number,
  ): number | undefined {
    if (!key) return undefined;
    const slot = this.byUser.get(key);
    if (slot < 0) return undefined;
    let seq = this.seqAt(slot);
    while (this.timeOf(seq) > timeMs) {
      const back = this.userPrev[Math.floor(seq / CHUNK)]?.[seq % CHUNK] ?? 0;
      if (back === 0 || seq - back < this.oldest) return undefined;
      seq -= back;
    }
    return timeMs - this.timeOf(seq) > this.windowMs ? undefined : seq;
  }

  /** How many lists back the user's previous live list is; 0 for none. */
  private distanceToUsersLast(seq: number, userKey: string): number {
    const slot = this.byUser.get(userKey);
    if (slot < 0) return 0;
    const distance = seq - this.seqAt(slot);
    return distance > 0 && distance <= 0x7fffffff ? distance : 0;
  }

  /** The live list in ring slot `slot`: the one seq in [oldest, next) on it. */
  private seqAt(slot: number): number {
    const oldestSlot = this.oldest % this.capacity;
    const ahead = slot - oldestSlot;
    return this.oldest + (ahead >= 0 ? ahead : ahead + this.capacity);
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
    const page = this.itemPages[chunk]![start >>> PAGE_BITS]!;
    const offset = start & (PAGE_ITEMS - 1);
    let rank = 0;
    for (let i = 0; i < length; i++) {
      if (page[offset + i] === item) {
        rank = i + 1;
        break;
      }
    }
    const bestEarlierRank = seen.bestRank;
    if (rank > 0 && (bestEarlierRank === 0 || rank < bestEarlierRank))
      seen.bestRank = rank;
    this.sink.relevant(
      this.labelIds[chunk]![at]!,
      seen.items.size,
      rank,
      bestEarlierRank,
    );
  }

  /**
   * Moves the feedback watermark and evicts lists past the window. Only
   * feedback moves it: a list can take feedback until feedback times have
   * passed it by a window, however far ahead the lists were read.
   */
  private advance(timeMs: number): void {
    // A time further ahead of the wall clock than one window is a broken
    // clock or a bad line; letting it move the watermark would expire every
    // list that follows before its feedback could arrive.
    if (timeMs > this.watermarkMs && timeMs <= this.now() + this.windowMs) {
      this.watermarkMs = timeMs;
    }
    const horizon = this.watermarkMs - this.windowMs;
    let expired = 0;
    while (
      this.oldest + expired < this.next &&
      this.timeOf(this.oldest + expired) < horizon
    ) {
      expired++;
    }
    if (expired > 0) this.evict(expired, 'age');
  }

  private evict(count: number, reason: 'age' | 'size'): void {
    for (let i = 0; i < count; i++) {
      const seq = this.oldest++;
      const slot = seq % this.capacity;
      this.byRequest.remove(slot);
      this.byUser.remove(slot);
      this.acted.delete(seq);
      if (seq % CHUNK === CHUNK - 1) this.releaseChunk(Math.floor(seq / CHUNK));
    }
    this.sink.evicted(reason, count);
  }

  private timeOf(seq: number): number {
    const chunk = Math.floor(seq / CHUNK);
    const times = this.times[chunk]!;
    const stored = times[seq % CHUNK]!;
    return times instanceof Int32Array
      ? this.timeBases[chunk]! + stored
      : stored;
  }

  private storeTime(chunk: number, at: number, timeMs: number): void {
    let times = this.times[chunk]!;
    if (times instanceof Int32Array) {
      const base = this.timeBases[chunk]!;
      const offset = timeMs - base;
      if (Number.isInteger(offset) && Math.abs(offset) <= INT32_MAX) {
        times[at] = offset;
        return;
      }
      const plain = new Float64Array(CHUNK);
      for (let i = 0; i < at; i++) plain[i] = base + times[i]!;
      this.times[chunk] = times = plain;
    }
    times[at] = timeMs;
  }

  private storeLabelId(chunk: number, at: number, labelId: number): void {
    let ids = this.labelIds[chunk]!;
    if (!(ids instanceof Int32Array) && (labelId < 0 || labelId > NARROW_MAX)) {
      this.wideLabels = true;
      this.labelIds[chunk] = ids = Int32Array.from(ids);
    }
    ids[at] = labelId;
  }

  private ensureChunk(seq: number, firstTimeMs: number): void {
    const chunk = Math.floor(seq / CHUNK);
    if (this.times[chunk]) return;
    this.times[chunk] = new Int32Array(CHUNK);
    this.timeBases[chunk] = Math.trunc(firstTimeMs) || 0;
    this.labelIds[chunk] = this.wideLabels
      ? new Int32Array(CHUNK)
      : new Uint16Array(CHUNK);
    this.itemStarts[chunk] = new Int32Array(CHUNK);
    this.lengths[chunk] =
      this.maxLen <= 0xff ? new Uint8Array(CHUNK) : new Uint16Array(CHUNK);
    this.itemPages[chunk] = [];
    this.itemsUsed[chunk] = 0;
  }

  private releaseChunk(chunk: number): void {
    delete this.times[chunk];
    delete this.timeBases[chunk];
    delete this.labelIds[chunk];
    delete this.itemStarts[chunk];
    delete this.userPrev[chunk];
    delete this.lengths[chunk];
    delete this.itemPages[chunk];
    delete this.itemsUsed[chunk];
  }

  /** Appends a list's interned items to its chunk's pages; their position. */
  private storeItems(chunk: number, items: string[], length: number): number {
    const pages = this.itemPages[chunk]!;
    let position = this.itemsUsed[chunk]!;
    const offset0 = position & (PAGE_ITEMS - 1);
    if (offset0 > 0 && offset0 + length > PAGE_ITEMS) {
      position += PAGE_ITEMS - offset0;
    }
    const index = position >>> PAGE_BITS;
    if (index === pages.length) {
      const wide = this.wideItems;
      pages.push(
        wide ? new Int32Array(PAGE_ITEMS) : new Uint16Array(PAGE_ITEMS),
      );
    }
    let page = pages[index]!;
    const offset = position & (PAGE_ITEMS - 1);
    for (let i = 0; i < length; i++) {
      const id = this.intern(items[i]!);
      if (id > NARROW_MAX && !(page instanceof Int32Array)) {
        this.wideItems = true;
        page = pages[index] = Int32Array.from(page);
      }
      page[offset + i] = id;
    }
    this.itemsUsed[chunk] = position + length;
    return position;
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
