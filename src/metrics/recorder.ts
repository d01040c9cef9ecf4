/**
 * Turns events into metrics: serving counters and latency per label set,
 * quality counters from the attribution join, sliding-window gauges, and
 * the count of every input line by result.
 */
import { HeldFeedback } from '../quality/held-feedback.js';
import type {
  FeedbackEvent,
  InferenceEvent,
  LineResult,
} from '../formats/events.js';
import {
  AttributionJoin,
  gainsAtK,
  type QualitySink,
} from '../quality/attribution.js';
import { f1, ratio } from '../quality/ranking.js';
import { SlidingWindow } from '../quality/window.js';
import * as defs from './definitions.js';
import type {
  CounterChild,
  GaugeChild,
  HistogramChild,
  MetricStore,
} from './store.js';

/** The value that label values past a series limit are folded into. */
export const OVERFLOW = 'overflow';

export interface RecorderOptions {
  k: number[];
  windowSeconds: number;
  attributionWindowSeconds: number;
  maxPendingLists: number;
  /** Distinct (model, version, scene) kept before folding into overflow. */
  maxLabelSets?: number;
  /** Distinct outcomes kept per label set before folding. */
  maxOutcomesPerLabelSet?: number;
  /**
   * Longest wait, in wall time, for feedback read ahead of the lists; 0
   * matches every feedback event with the lists there are, at once.
   */
  holdFeedbackMillis?: number;
  /** Most feedback events waiting at once. */
  maxHeldFeedback?: number;
  /** Wall clock in milliseconds; tests pass their own. */
  now?: () => number;
}

/** The children of one (model, version, scene), looked up once. */
interface LabelSet {
  values: [string, string, string];
  byOutcome: Map<string, CounterChild>;
  duration: HistogramChild;
  returned: CounterChild;
  lists: CounterChild;
  recommended: CounterChild;
  relevant: CounterChild;
  hits: CounterChild;
  atK: Array<{
    k: number;
    recommended: CounterChild;
    hits: CounterChild;
    listsHit: CounterChild;
    dcg: CounterChild;
    idealDcg: CounterChild;
  }>;
  window: SlidingWindow;
}

export class Recorder {
  readonly join: AttributionJoin;
  private readonly held: HeldFeedback | undefined;
  /** Latest event time of the lists read so far. */
  private listsReadUpTo = -Infinity;
  private readonly labelSets: LabelSet[] = [];
  private readonly labelIds = new Map<string, number>();
  private readonly now: () => number;
  private readonly startMs: number;
  private readonly f;
  /**
   * Children every line or feedback event touches, looked up once and only
   * on first use, so that a series appears exactly when it first counts.
   */
  private parsedLines: CounterChild | undefined;
  private lastLine: GaugeChild | undefined;
  private readonly feedbackChildren = new Map<
    string,
    Map<string, CounterChild>
  >();

  constructor(
    private readonly store: MetricStore,
    private readonly options: RecorderOptions,
  ) {
    for (const k of options.k) {
      if (!Number.isInteger(k) || k < 1)
        throw new Error(`attribution k must be whole numbers >= 1, got ${k}`);
    }
    this.now = options.now ?? Date.now;
    this.startMs = this.now();
    this.f = {
      requests: store.counter(defs.serving.requests),
      duration: store.histogram(
        defs.serving.duration,
        defs.LATENCY_BUCKETS_SECONDS,
      ),
      returned: store.counter(defs.serving.returnedItems),
      lists: store.counter(defs.quality.lists),
      recommended: store.counter(defs.quality.recommended),
      relevant: store.counter(defs.quality.relevant),
      hits: store.counter(defs.quality.hits),
      recommendedAtK: store.counter(defs.quality.recommendedAtK),
      hitsAtK: store.counter(defs.quality.hitsAtK),
      listsHitAtK: store.counter(defs.quality.listsHitAtK),
      dcgAtK: store.counter(defs.quality.dcgAtK),
      idealDcgAtK: store.counter(defs.quality.idealDcgAtK),
      feedback: store.counter(defs.attribution.feedback),
      pending: store.gauge(defs.attribution.pending),
      evictions: store.counter(defs.attribution.evictions),
      lines: store.counter(defs.ingest.lines),
      lastLine: store.gauge(defs.ingest.lastLine),
      qps: store.gauge(defs.window.qps),
      precision: store.gauge(defs.window.precision),
      recall: store.gauge(defs.window.recall),
      f1: store.gauge(defs.window.f1),
      windowSeconds: store.gauge(defs.window.windowSeconds),
      folded: store.counter(defs.limits.folded),
    };
    this.f.folded.labels('label_sets');
    this.f.folded.labels('outcomes');
    this.join = new AttributionJoin(
      {
        windowSeconds: options.attributionWindowSeconds,
        maxPendingLists: options.maxPendingLists,
      },
      this.sink(),
    );
    this.f.evictions.labels('age');
    this.f.evictions.labels('size');
    store.onCollect(() => this.collectWindows());
    const holdMillis = options.holdFeedbackMillis ?? 0;
    this.held =
      holdMillis > 0
        ? new HeldFeedback({
            holdMillis,
            maxHeld: options.maxHeldFeedback ?? 100_000,
            now: this.now,
          })
        : undefined;
  }

  /** Counts one input line by its parse result, then records its event. */
  line(result: LineResult): void {
    if (result.ok) {
      (this.parsedLines ??= this.f.lines.labels('parsed', 'ok')).inc();
      if (result.event.kind === 'inference') this.inference(result.event);
      else this.feedback(result.event);
    } else {
      const kind = result.skipped ? 'skipped' : 'malformed';
      this.f.lines.labels(kind, result.reason).inc();
    }
    (this.lastLine ??= this.f.lastLine.labels()).set(this.now() / 1000);
    this.releaseExpired();
  }

  inference(event: InferenceEvent): void {
    const id = this.labelId(event.model, event.version, event.scene);
    const set = this.labelSets[id]!;
    this.outcomeChild(set, event.outcome).inc();
    if (event.latencySeconds !== undefined)
      set.duration.observe(event.latencySeconds);
    set.returned.inc(event.items.length);
    set.window.add(this.now() / 1000, 'requests', 1);
    // Held feedback from before this list belongs to lists already read.
    this.releaseUpTo(event.timeMs, false);
    this.join.addList(event, id);
    if (event.timeMs > this.listsReadUpTo) this.listsReadUpTo = event.timeMs;
    this.releaseUpTo(this.listsReadUpTo, true);
  }

  /**
   * Feedback with a time past every list read so far may belong to a list
   * not read yet, so it waits for the lists to catch up.
   */
  feedback(event: FeedbackEvent): void {
    if (!this.held || event.timeMs <= this.listsReadUpTo) {
      this.join.addFeedback(event);
      return;
    }
    for (const released of this.held.hold(event)) {
      this.join.addFeedback(released);
    }
  }

  /** Matches held feedback whose hold time is over. */
  private releaseExpired(): void {
    if (!this.held || this.held.size === 0) return;
    for (const event of this.held.expired()) this.join.addFeedback(event);
  }

  private releaseUpTo(timeMs: number, inclusive: boolean): void {
    if (!this.held || this.held.size === 0) return;
    for (const event of this.held.upTo(timeMs, inclusive)) {
      this.join.addFeedback(event);
    }
  }

  private labelId(model: string, version: string, scene: string): number {
    const key = `${model}\u0000${version}\u0000${scene}`;
    const id = this.labelIds.get(key);
    if (id !== undefined) return id;
    if (this.labelSets.length >= (this.options.maxLabelSets ?? Infinity)) {
      this.f.folded.labels('label_sets').inc();
      return this.addLabelSet(OVERFLOW, OVERFLOW, OVERFLOW);
    }
    return this.addLabelSet(model, version, scene);
  }

  private addLabelSet(model: string, version: string, scene: string): number {
    const key = `${model}\u0000${version}\u0000${scene}`;
    let id = this.labelIds.get(key);
    if (id === undefined) {
      id = this.labelSets.length;
      this.labelSets.push(this.createLabelSet([model, version, scene]));
      this.labelIds.set(key, id);
    }
    return id;
  }

  private outcomeChild(set: LabelSet, outcome: string): CounterChild {
    const found = set.byOutcome.get(outcome);
    if (found) return found;
    let value = outcome;
    if (
      set.byOutcome.size >= (this.options.maxOutcomesPerLabelSet ?? Infinity)
    ) {
      this.f.folded.labels('outcomes').inc();
      value = OVERFLOW;
      const overflow = set.byOutcome.get(OVERFLOW);
      if (overflow) return overflow;
    }
    const child = this.f.requests.labels(...set.values, value);
    set.byOutcome.set(value, child);
    return child;
  }

  private createLabelSet(values: [string, string, string]): LabelSet {
    const f = this.f;
    return {
      values,
      byOutcome: new Map(),
      duration: f.duration.labels(...values),
      returned: f.returned.labels(...values),
      lists: f.lists.labels(...values),
      recommended: f.recommended.labels(...values),
      relevant: f.relevant.labels(...values),
      hits: f.hits.labels(...values),
      atK: this.options.k.map((k) => {
        const v = [...values, String(k)];
        return {
          k,
          recommended: f.recommendedAtK.labels(...v),
          hits: f.hitsAtK.labels(...v),
          listsHit: f.listsHitAtK.labels(...v),
          dcg: f.dcgAtK.labels(...v),
          idealDcg: f.idealDcgAtK.labels(...v),
        };
      }),
      window: new SlidingWindow(this.options.windowSeconds),
    };
  }

  private sink(): QualitySink {
    return {
      list: (labelId, length) => {
        const set = this.labelSets[labelId]!;
        set.lists.inc();
        set.recommended.inc(length);
        for (const at of set.atK) at.recommended.inc(Math.min(length, at.k));
        set.window.add(this.now() / 1000, 'recommended', length);
      },
      relevant: (labelId, ordinal, rank, best) =>
        this.credit(labelId, ordinal, rank, best),
      feedback: (action, attribution) =>
        this.feedbackChild(action, attribution).inc(),
      evicted: (reason, count) => this.f.evictions.labels(reason).inc(count),
    };
  }

  private feedbackChild(action: string, attribution: string): CounterChild {
    let byAttribution = this.feedbackChildren.get(action);
    if (!byAttribution) {
      byAttribution = new Map();
      this.feedbackChildren.set(action, byAttribution);
    }
    let child = byAttribution.get(attribution);
    if (!child) {
      child = this.f.feedback.labels(action, attribution);
      byAttribution.set(attribution, child);
    }
    return child;
  }

  private credit(
    labelId: number,
    ordinal: number,
    rank: number,
    best: number,
  ): void {
    const set = this.labelSets[labelId]!;
    const nowSeconds = this.now() / 1000;
    set.relevant.inc();
    set.window.add(nowSeconds, 'relevant', 1);
    if (rank > 0) {
      set.hits.inc();
      set.window.add(nowSeconds, 'hits', 1);
    }
    for (const at of set.atK) {
      const gain = gainsAtK(ordinal, rank, best, at.k);
      if (gain.hit) {
        at.hits.inc();
        at.dcg.inc(gain.dcg);
      }
      if (gain.firstHit) at.listsHit.inc();
      at.idealDcg.inc(gain.idealDcg);
    }
  }

  private collectWindows(): void {
    this.releaseExpired();
    const nowMs = this.now();
    const seconds = this.options.windowSeconds;
    const covered = Math.max(
      1,
      Math.min(seconds, (nowMs - this.startMs) / 1000),
    );
    this.f.windowSeconds.labels().set(seconds);
    this.f.pending.labels().set(this.join.pending);
    for (const set of this.labelSets) {
      const sums = set.window.sums(nowMs / 1000);
      const precision = ratio(sums.hits, sums.recommended);
      const recall = ratio(sums.hits, sums.relevant);
      this.f.qps.labels(...set.values).set(sums.requests / covered);
      this.f.precision.labels(...set.values).set(precision);
      this.f.recall.labels(...set.values).set(recall);
      this.f.f1.labels(...set.values).set(f1(precision, recall));
    }
  }
}
