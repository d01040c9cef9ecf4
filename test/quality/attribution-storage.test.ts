/**
 * The join's compact storage (typed-array chunks, item pages, fingerprint
 * indexes) checked against a plain reference join written here from the
 * documented rules (docs/log-format.md, "How feedback is attributed"):
 * for any sequence of lists and feedback both must tell the sink the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  FeedbackEvent,
  InferenceEvent,
} from '../../src/formats/events.js';
import {
  AttributionJoin,
  type Attribution,
  type QualitySink,
} from '../../src/quality/attribution.js';

interface RefList {
  requestId: string | undefined;
  userKey: string | undefined;
  timeMs: number;
  labelId: number;
  items: string[];
  acted: Set<string>;
  bestRank: number;
}

/** The rules with arrays and maps of strings, and nothing clever. */
class ReferenceJoin {
  private readonly lists: RefList[] = [];
  private readonly byRequest = new Map<string, RefList>();
  private readonly byUser = new Map<string, RefList>();
  private watermark = -Infinity;

  constructor(
    private readonly windowMs: number,
    private readonly capacity: number,
    private readonly maxLen: number,
    private readonly sink: QualitySink,
  ) {}

  addList(e: InferenceEvent, labelId: number): void {
    if (e.items.length === 0 || (!e.requestId && !e.userKey)) return;
    if (this.lists.length >= this.capacity) this.evict(1, 'size');
    const list: RefList = {
      requestId: e.requestId,
      userKey: e.userKey,
      timeMs: e.timeMs,
      labelId,
      items: e.items.slice(0, this.maxLen),
      acted: new Set(),
      bestRank: 0,
    };
    this.lists.push(list);
    if (e.requestId) this.byRequest.set(e.requestId, list);
    if (e.userKey) this.byUser.set(e.userKey, list);
    this.sink.list(labelId, list.items.length);
  }

  addFeedback(e: FeedbackEvent): Attribution {
    this.advance(e.timeMs);
    const inWindow = (l: RefList | undefined) =>
      l !== undefined &&
      e.timeMs >= l.timeMs &&
      e.timeMs - l.timeMs <= this.windowMs
        ? l
        : undefined;
    let list = inWindow(
      e.requestId ? this.byRequest.get(e.requestId) : undefined,
    );
    let attribution: Attribution = list ? 'request' : 'none';
    if (!list) {
      // The user's latest live list served at or before the feedback.
      const served = this.lists.filter(
        (l) => l.userKey !== undefined && l.userKey === e.userKey,
      );
      const before = served.filter((l) => l.timeMs <= e.timeMs);
      list = inWindow(before[before.length - 1]);
      if (list) attribution = 'user';
    }
    if (list && !list.acted.has(e.itemId)) {
      list.acted.add(e.itemId);
      const rank = list.items.indexOf(e.itemId) + 1;
      const best = list.bestRank;
      if (rank > 0 && (best === 0 || rank < best)) list.bestRank = rank;
      this.sink.relevant(list.labelId, list.acted.size, rank, best);
    }
    this.sink.feedback(e.action, attribution);
    return attribution;
  }

  private advance(timeMs: number): void {
    this.watermark = Math.max(this.watermark, timeMs);
    let expired = 0;
    while (
      expired < this.lists.length &&
      this.lists[expired]!.timeMs < this.watermark - this.windowMs
    )
      expired++;
    if (expired > 0) this.evict(expired, 'age');
  }

  private evict(count: number, reason: 'age' | 'size'): void {
    for (const list of this.lists.splice(0, count)) {
      if (list.requestId && this.byRequest.get(list.requestId) === list)
        this.byRequest.delete(list.requestId);
      if (list.userKey && this.byUser.get(list.userKey) === list)
        this.byUser.delete(list.userKey);
    }
    this.sink.evicted(reason, count);
  }
}

function recorder(): { sink: QualitySink; calls: string[] } {
  const calls: string[] = [];
  const sink: QualitySink = {
    list: (id, n) => calls.push(`list ${id} ${n}`),
    relevant: (id, ordinal, rank, best) =>
      calls.push(`relevant ${id} ${ordinal} ${rank} ${best}`),
    feedback: (action, attribution) =>
      calls.push(`feedback ${action} ${attribution}`),
    evicted: (reason, n) => calls.push(`evicted ${reason} ${n}`),
  };
  return { sink, calls };
}

type Step =
  | {
      list: true;
      dt: number;
      req?: number;
      user?: number;
      items: number[];
      labelId: number;
    }
  | { list: false; dt: number; req?: number; user?: number; item: number };

/** Plays the steps into both joins; returns both call logs. */
function play(
  steps: Step[],
  windowSeconds: number,
  capacity: number,
  maxLen: number,
  itemName = (i: number) => `sku-${i}`,
) {
  const ours = recorder();
  const theirs = recorder();
  const join = new AttributionJoin(
    { windowSeconds, maxPendingLists: capacity, maxListLength: maxLen },
    ours.sink,
  );
  const reference = new ReferenceJoin(
    windowSeconds * 1000,
    capacity,
    maxLen,
    theirs.sink,
  );
  let timeMs = 1_300_000_000_000;
  const key = (prefix: string, n: number | undefined) =>
    n === undefined ? undefined : `${prefix}-${n}`;
  for (const step of steps) {
    timeMs += step.dt;
    const requestId = key('req', step.req);
    const userKey = key('user', step.user);
    if (step.list) {
      const e: InferenceEvent = {
        kind: 'inference',
        timeMs,
        model: 'm',
        version: 'v1',
        scene: 'home',
        outcome: 'ok',
        items: step.items.map(itemName),
        requestId,
        userKey,
      };
      join.addList(e, step.labelId);
      reference.addList(e, step.labelId);
    } else {
      const e: FeedbackEvent = {
        kind: 'feedback',
        timeMs,
        itemId: itemName(step.item),
        action: 'click',
        requestId,
        userKey,
      };
      expect(join.addFeedback(e)).toBe(reference.addFeedback(e));
    }
  }
  return { ours: ours.calls, theirs: theirs.calls, pending: join.pending };
}

const keyOf = fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined });
/** Mostly small steps; sometimes a fraction of a millisecond or a 35-day jump, which 32-bit time offsets cannot hold. */
const dt = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: -2_000, max: 20_000 }) },
  { weight: 1, arbitrary: fc.constant(0.25) },
  { weight: 1, arbitrary: fc.constant(3e9) },
);
/** Label set ids, now and then one past 16 bits. */
const labelId = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(70_000));
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    list: fc.constant(true as const),
    dt,
    req: keyOf,
    user: keyOf,
    items: fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 8 }),
    labelId,
  }),
  fc.record({
    list: fc.constant(false as const),
    dt,
    req: keyOf,
    user: keyOf,
    item: fc.integer({ min: 0, max: 15 }),
  }),
);

describe('AttributionJoin storage', () => {
  it('tells the sink exactly what the reference join does, for any events', () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 120 }),
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 6 }),
        (steps, windowSeconds, capacity, maxLen) => {
          const { ours, theirs } = play(steps, windowSeconds, capacity, maxLen);
          expect(ours).toEqual(theirs);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('keeps thousands of keys through index growth, replacement and shrinking', () => {
    const steps: Step[] = [];
    // 5000 lists, each user seen twice so the index replaces entries.
    for (let i = 0; i < 5_000; i++) {
      steps.push({
        list: true,
        dt: 10,
        req: i,
        user: i % 2_500,
        items: [i % 40, (i + 1) % 40, (i + 2) % 40],
        labelId: i % 3,
      });
    }
    for (let i = 0; i < 5_000; i += 7)
      steps.push({ list: false, dt: 1, req: i, item: (i + 1) % 40 });
    for (let i = 0; i < 2_500; i += 3)
      steps.push({ list: false, dt: 1, user: i, item: (i + 2) % 40 });
    // Past the window: every list ages out, then nothing is found.
    steps.push({
      list: true,
      dt: 120_000,
      req: 99_999,
      items: [1],
      labelId: 0,
    });
    for (let i = 0; i < 300; i++)
      steps.push({ list: false, dt: 1, req: i, user: i, item: 1 });
    const { ours, theirs, pending } = play(steps, 60, 10_000, 10);
    expect(ours).toEqual(theirs);
    expect(pending).toBe(1);
    expect(
      ours.filter((c) => c.startsWith('feedback click request')).length,
    ).toBe(715);
    expect(ours).toContain('evicted age 5000');
  });

  it('agrees over a long run of size evictions with thousands of live keys', () => {
    // A fixed pseudo-random run: keys are reused, lists are pushed out by
    // size, and the index tables grow, wrap around and shift entries back.
    let seed = 1;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    const steps: Step[] = [];
    for (let i = 0; i < 60_000; i++) {
      const req = next(10) < 7 ? next(20_000) : undefined;
      const user = next(10) < 9 ? next(3_000) : undefined;
      if (next(2) === 0)
        steps.push({
          list: true,
          dt: next(30),
          req,
          user,
          items: [next(50), next(50), next(50)],
          labelId: 0,
        });
      else steps.push({ list: false, dt: next(30), req, user, item: next(50) });
    }
    const { ours, theirs, pending } = play(steps, 3_600, 5_000, 10);
    expect(ours).toEqual(theirs);
    expect(pending).toBe(5_000);
    expect(
      ours.filter((c) => c.startsWith('evicted size')).length,
    ).toBeGreaterThan(1_000);
  });

  it('finds items whose interned ids no longer fit in 16 bits', () => {
    // 70,000 distinct items in 7,000 lists of ten: ids past 65,535 widen the pages.
    const steps: Step[] = [];
    for (let i = 0; i < 7_000; i++) {
      steps.push({
        list: true,
        dt: 1,
        req: i,
        items: Array.from({ length: 10 }, (_, r) => i * 10 + r),
        labelId: 0,
      });
    }
    steps.push({ list: false, dt: 1, req: 6_999, item: 69_997 });
    steps.push({ list: false, dt: 1, req: 6_553, item: 65_530 });
    steps.push({ list: false, dt: 1, req: 10, item: 101 });
    const { ours, theirs } = play(steps, 3_600, 100_000, 10);
    expect(ours).toEqual(theirs);
    // Ranks 8, 1 and 2, each list's first relevant item.
    expect(ours.filter((c) => c.startsWith('relevant'))).toEqual([
      'relevant 0 1 8 0',
      'relevant 0 1 1 0',
      'relevant 0 1 2 0',
    ]);
  });
});
