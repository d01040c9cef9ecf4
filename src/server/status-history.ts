/**
 * A short in-process history for the status page: every few seconds it
 * reads the metric store and keeps, per (model, version, scene), how much
 * each counter grew since the previous reading, plus the host gauges. The
 * page's figures are ratios and quantiles of those increases, as a PromQL
 * `rate` over the same span would give.
 */
import type { MetricStore } from '../metrics/store.js';
import { cumulativeBuckets, histogramQuantile } from './histogram-quantile.js';
import { RingBuffer } from './ring-buffer.js';
import {
  latencyBounds,
  readHost,
  readModels,
  zeroCounts,
  type HostReading,
  type ModelLabels,
  type ModelReading,
  type ServingCounts,
} from './status-readings.js';

export interface StatusHistoryOptions {
  /** Seconds between readings. Default 5. */
  intervalSeconds?: number;
  /** Readings kept; with the interval, the span shown. Default 120. */
  points?: number;
  /** Wall clock in milliseconds; tests pass their own. */
  now?: () => number;
  /** Where a failed reading is reported; the timer never throws. */
  onError?: (err: unknown) => void;
}

/** Figures of one label set over a span of time; null when undefined. */
export interface ServingFigures {
  qps: number | null;
  latencyP50Seconds: number | null;
  latencyP99Seconds: number | null;
  /** Requests with outcome error or timeout over all requests. */
  errorRatio: number | null;
  /** Hits over recommended items. */
  precision: number | null;
  /** Hits over relevant items. */
  recall: number | null;
  f1: number | null;
}

/** One label set: figures over the whole span, and one point per reading. */
export interface ModelHistory extends ModelLabels, ServingFigures {
  history: {
    qps: Array<number | null>;
    p99: Array<number | null>;
    precision: Array<number | null>;
  };
}

/** Host gauges at each reading, oldest first. */
export interface HostHistory {
  cpuUtilization: Array<number | null>;
  memoryUtilization: Array<number | null>;
  networkReceiveBytesPerSecond: Array<number | null>;
  networkTransmitBytesPerSecond: Array<number | null>;
}

export interface StatusHistoryReport {
  /** Seconds the figures cover: from the oldest kept reading to the last. */
  windowSeconds: number;
  /** Sorted by model, version, scene. */
  models: ModelHistory[];
  host: HostHistory;
}

/** One reading: seconds since the previous one, and the host gauges. */
interface Reading {
  seconds: number;
  host: HostReading;
}

/** One label set's increases, aligned with the readings. */
interface Series {
  labels: ModelLabels;
  increases: RingBuffer<ServingCounts>;
  previous: ServingCounts;
}

const DEFAULT_INTERVAL_SECONDS = 5;
const DEFAULT_POINTS = 120;

export class StatusHistory {
  readonly intervalSeconds: number;
  readonly points: number;
  private readonly readings: RingBuffer<Reading>;
  private readonly series = new Map<string, Series>();
  private readonly now: () => number;
  private readonly onError: (err: unknown) => void;
  private lastTimeMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: MetricStore,
    options: StatusHistoryOptions = {},
  ) {
    this.intervalSeconds = options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
    this.points = options.points ?? DEFAULT_POINTS;
    if (!(this.intervalSeconds > 0) || !Number.isFinite(this.intervalSeconds)) {
      throw new Error(
        `status history intervalSeconds must be a number > 0, got ${this.intervalSeconds}`,
      );
    }
    if (!Number.isInteger(this.points) || this.points < 1) {
      throw new Error(
        `status history points must be a whole number >= 1, got ${this.points}`,
      );
    }
    this.readings = new RingBuffer(this.points);
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => {});
  }

  /** Takes the first reading now, then one per interval. */
  start(): void {
    if (this.timer) return;
    this.guardedSample();
    this.timer = setInterval(
      () => this.guardedSample(),
      this.intervalSeconds * 1000,
    );
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private guardedSample(): void {
    try {
      this.sample();
    } catch (err) {
      this.onError(err);
    }
  }

  /**
   * Reads the store. The first reading is only a baseline: counters
   * restored at startup are not traffic of the first interval.
   */
  sample(): void {
    const nowMs = this.now();
    const totals = readModels(this.store);
    const previousMs = this.lastTimeMs;
    this.lastTimeMs = nowMs;

    // A clock stepped back gives no usable interval either: start again.
    if (previousMs === undefined || nowMs <= previousMs) {
      this.rebase(totals);
      return;
    }
    this.addIncreases(totals);
    this.readings.push({
      seconds: (nowMs - previousMs) / 1000,
      host: readHost(this.store),
    });
  }

  /** Takes these totals as the point later increases count from. */
  private rebase(totals: Map<string, ModelReading>): void {
    for (const [key, { labels, counts }] of totals) {
      const known = this.series.get(key);
      if (known) known.previous = counts;
      else this.series.set(key, this.newSeries(labels, counts));
    }
  }

  /** One increase per series, so that every series lines up in time. */
  private addIncreases(totals: Map<string, ModelReading>): void {
    const buckets = latencyBounds(this.store).length + 1;
    for (const [key, { labels, counts }] of totals) {
      let known = this.series.get(key);
      if (!known) {
        // Created since the previous reading, so it stood at zero then.
        known = this.newSeries(labels, zeroCounts(buckets));
        this.series.set(key, known);
      }
      known.increases.push(increase(known.previous, counts));
      known.previous = counts;
    }
    for (const [key, known] of this.series) {
      if (!totals.has(key)) known.increases.push(zeroCounts(buckets));
    }
  }

  /** A series padded with empty increases for the readings before it. */
  private newSeries(labels: ModelLabels, previous: ServingCounts): Series {
    const increases = new RingBuffer<ServingCounts>(this.points);
    const empty = zeroCounts(previous.latencyBuckets.length);
    for (let i = 0; i < this.readings.length; i++) increases.push(empty);
    return { labels, increases, previous };
  }

  /** Figures over the kept span and per reading, for the page. */
  report(): StatusHistoryReport {
    const readings = this.readings.toArray();
    const seconds = readings.map((r) => r.seconds);
    const windowSeconds = seconds.reduce((a, b) => a + b, 0);
    const bounds = latencyBounds(this.store);

    const models: ModelHistory[] = [];
    for (const { labels, increases } of this.series.values()) {
      const points = increases.toArray();
      const perPoint = points.map((p, i) => figures(p, seconds[i]!, bounds));
      models.push({
        ...labels,
        ...figures(sumCounts(points), windowSeconds, bounds),
        history: {
          qps: perPoint.map((f) => f.qps),
          p99: perPoint.map((f) => f.latencyP99Seconds),
          precision: perPoint.map((f) => f.precision),
        },
      });
    }
    models.sort(byLabels);
    return { windowSeconds, models, host: hostHistory(readings) };
  }
}

/**
 * How much a counter grew; a total below the previous one means the
 * counter started again, so all of it is new, as PromQL's `increase` says.
 */
function grew(previous: number, current: number): number {
  return current >= previous ? current - previous : current;
}

function increase(
  previous: ServingCounts,
  current: ServingCounts,
): ServingCounts {
  const previousObserved = previous.latencyBuckets.reduce((a, b) => a + b, 0);
  const currentObserved = current.latencyBuckets.reduce((a, b) => a + b, 0);
  const latencyReset = currentObserved < previousObserved;
  return {
    requests: grew(previous.requests, current.requests),
    errors: grew(previous.errors, current.errors),
    latencyBuckets: current.latencyBuckets.map((c, i) =>
      latencyReset ? c : grew(previous.latencyBuckets[i] ?? 0, c),
    ),
    recommended: grew(previous.recommended, current.recommended),
    relevant: grew(previous.relevant, current.relevant),
    hits: grew(previous.hits, current.hits),
  };
}

function sumCounts(points: readonly ServingCounts[]): ServingCounts {
  const sum = zeroCounts(points[0]?.latencyBuckets.length ?? 0);
  for (const p of points) {
    sum.requests += p.requests;
    sum.errors += p.errors;
    p.latencyBuckets.forEach((c, i) => (sum.latencyBuckets[i]! += c));
    sum.recommended += p.recommended;
    sum.relevant += p.relevant;
    sum.hits += p.hits;
  }
  return sum;
}

/** A ratio, or null when nothing was counted below the line. */
function ratioOrNull(numerator: number, denominator: number): number | null {
  return denominator > 0 ? numerator / denominator : null;
}

function quantileOrNull(
  q: number,
  bounds: readonly number[],
  perBucket: readonly number[],
): number | null {
  const value = histogramQuantile(q, cumulativeBuckets(bounds, perBucket));
  return Number.isFinite(value) ? value : null;
}

/** The page's figures from increases over `seconds`. */
export function figures(
  counts: ServingCounts,
  seconds: number,
  bounds: readonly number[],
): ServingFigures {
  const precision = ratioOrNull(counts.hits, counts.recommended);
  const recall = ratioOrNull(counts.hits, counts.relevant);
  let f1: number | null = null;
  if (precision !== null && recall !== null) {
    const sum = precision + recall;
    f1 = sum > 0 ? (2 * precision * recall) / sum : 0;
  }
  return {
    qps: seconds > 0 ? counts.requests / seconds : null,
    latencyP50Seconds: quantileOrNull(0.5, bounds, counts.latencyBuckets),
    latencyP99Seconds: quantileOrNull(0.99, bounds, counts.latencyBuckets),
    errorRatio: ratioOrNull(counts.errors, counts.requests),
    precision,
    recall,
    f1,
  };
}

function hostHistory(readings: readonly Reading[]): HostHistory {
  return {
    cpuUtilization: readings.map((r) => r.host.cpuUtilization),
    memoryUtilization: readings.map((r) => r.host.memoryUtilization),
    networkReceiveBytesPerSecond: readings.map(
      (r) => r.host.networkReceiveBytesPerSecond,
    ),
    networkTransmitBytesPerSecond: readings.map(
      (r) => r.host.networkTransmitBytesPerSecond,
    ),
  };
}

function byLabels(a: ModelLabels, b: ModelLabels): number {
  for (const name of ['model', 'version', 'scene'] as const) {
    if (a[name] !== b[name]) return a[name] < b[name] ? -1 : 1;
  }
  return 0;
}
