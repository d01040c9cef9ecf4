/**
 * Readings of the metric store for the status page: the serving and
 * quality counters of every (model, version, scene), the host gauges and
 * the probe state. Reads only; nothing here changes a metric.
 */
import * as defs from '../metrics/definitions.js';
import {
  CounterFamily,
  GaugeFamily,
  HistogramFamily,
  type MetricStore,
} from '../metrics/store.js';

/** Outcomes that count as failed requests in the error ratio. */
export const ERROR_OUTCOMES: ReadonlySet<string> = new Set([
  'error',
  'timeout',
]);

/** The probe metric another module may register, read when present. */
export const PROBE_UP_METRIC = 'inference_probe_up';

/** What served a request. */
export interface ModelLabels {
  model: string;
  version: string;
  scene: string;
}

/**
 * Counter values of one label set: totals when read from the store,
 * increases once two readings are subtracted.
 */
export interface ServingCounts {
  requests: number;
  /** Requests whose outcome is in ERROR_OUTCOMES. */
  errors: number;
  /** Latency observations per bucket, not cumulative, the +Inf one last. */
  latencyBuckets: number[];
  recommended: number;
  relevant: number;
  hits: number;
}

/** One label set's counters, as read at one moment. */
export interface ModelReading {
  labels: ModelLabels;
  counts: ServingCounts;
}

/** Host gauges; null when the host collector is off or has not run. */
export interface HostReading {
  cpuUtilization: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  memoryUtilization: number | null;
  /** Summed over the reported interfaces. */
  networkReceiveBytesPerSecond: number | null;
  networkTransmitBytesPerSecond: number | null;
}

/** One probed target and whether its last probe succeeded. */
export interface ProbeReading {
  target: string;
  up: boolean;
}

const SEP = '\u0000';

/** The key a label set is filed under. */
export function modelKey(labels: ModelLabels): string {
  return [labels.model, labels.version, labels.scene].join(SEP);
}

/** Empty counts with room for `latencyBuckets` buckets. */
export function zeroCounts(latencyBuckets: number): ServingCounts {
  return {
    requests: 0,
    errors: 0,
    latencyBuckets: new Array<number>(latencyBuckets).fill(0),
    recommended: 0,
    relevant: 0,
    hits: 0,
  };
}

/** The latency histogram's finite bucket bounds. */
export function latencyBounds(store: MetricStore): readonly number[] {
  const family = store.get(defs.serving.duration.name);
  if (family instanceof HistogramFamily) return family.bounds;
  return defs.LATENCY_BUCKETS_SECONDS;
}

/** Current totals of every label set seen in the serving metrics. */
export function readModels(store: MetricStore): Map<string, ModelReading> {
  const readings = new Map<string, ModelReading>();
  const buckets = latencyBounds(store).length + 1;
  const entry = (values: readonly string[]): ServingCounts => {
    const labels = {
      model: values[0]!,
      version: values[1]!,
      scene: values[2]!,
    };
    const key = modelKey(labels);
    let found = readings.get(key);
    if (!found) {
      found = { labels, counts: zeroCounts(buckets) };
      readings.set(key, found);
    }
    return found.counts;
  };

  readRequests(store, entry);
  readLatency(store, entry);
  const quality = [
    ['recommended', defs.quality.recommended.name],
    ['relevant', defs.quality.relevant.name],
    ['hits', defs.quality.hits.name],
  ] as const;
  for (const [field, name] of quality) {
    const family = store.get(name);
    if (!(family instanceof CounterFamily)) continue;
    for (const { values, child } of family.children.values()) {
      entry(values)[field] += child.value;
    }
  }
  return readings;
}

type CountsOf = (values: readonly string[]) => ServingCounts;

function readRequests(store: MetricStore, countsOf: CountsOf): void {
  const family = store.get(defs.serving.requests.name);
  if (!(family instanceof CounterFamily)) return;
  const outcomeAt = family.def.labels.indexOf('outcome');
  for (const { values, child } of family.children.values()) {
    const counts = countsOf(values);
    counts.requests += child.value;
    if (ERROR_OUTCOMES.has(values[outcomeAt] ?? ''))
      counts.errors += child.value;
  }
}

function readLatency(store: MetricStore, countsOf: CountsOf): void {
  const family = store.get(defs.serving.duration.name);
  if (!(family instanceof HistogramFamily)) return;
  for (const { values, child } of family.children.values()) {
    const buckets = countsOf(values).latencyBuckets;
    let finite = 0;
    child.counts.forEach((c, i) => {
      buckets[i] = c;
      finite += c;
    });
    buckets[child.counts.length] = child.count - finite;
  }
}

/** The single value of an unlabelled gauge, or null. */
function gaugeValue(store: MetricStore, name: string): number | null {
  const family = store.get(name);
  if (!(family instanceof GaugeFamily)) return null;
  for (const { child } of family.children.values()) return child.value;
  return null;
}

/** A labelled gauge summed over its children, or null when it has none. */
function gaugeSum(store: MetricStore, name: string): number | null {
  const family = store.get(name);
  if (!(family instanceof GaugeFamily) || family.children.size === 0) {
    return null;
  }
  let sum = 0;
  for (const { child } of family.children.values()) sum += child.value;
  return sum;
}

/** The host gauges as they stand now. */
export function readHost(store: MetricStore): HostReading {
  const h = defs.host;
  return {
    cpuUtilization: gaugeValue(store, h.cpuUtilization.name),
    memoryUsedBytes: gaugeValue(store, h.memoryUsed.name),
    memoryTotalBytes: gaugeValue(store, h.memoryTotal.name),
    memoryUtilization: gaugeValue(store, h.memoryUtilization.name),
    networkReceiveBytesPerSecond: gaugeSum(store, h.networkReceiveRate.name),
    networkTransmitBytesPerSecond: gaugeSum(store, h.networkTransmitRate.name),
  };
}

/**
 * Probe state from `inference_probe_up{target}`, sorted by target; empty
 * when no prober registered the metric.
 */
export function readProbes(store: MetricStore): ProbeReading[] {
  const family = store.get(PROBE_UP_METRIC);
  if (!(family instanceof GaugeFamily)) return [];
  const targetAt = Math.max(0, family.def.labels.indexOf('target'));
  const probes: ProbeReading[] = [];
  for (const { values, child } of family.children.values()) {
    probes.push({ target: values[targetAt] ?? '', up: child.value >= 1 });
  }
  return probes.sort((a, b) =>
    a.target < b.target ? -1 : a.target > b.target ? 1 : 0,
  );
}
