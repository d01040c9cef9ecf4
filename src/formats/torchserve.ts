/**
 * TorchServe's own logs. The access log has one line per HTTP call
 * (`<time> ... /<client>:<port> "POST /predictions/m HTTP/1.1" 200 118`, the
 * last number the milliseconds from request to response). The metrics
 * logs (`model_metrics.log`, `ts_metrics.log`) have StatsD-like lines
 * (`PredictionTime.Milliseconds:109.74|#ModelName:bert,Level:Model|#
 * hostname:h,requestID:r,timestamp:1630079103`, one line in the log), of
 * which one chosen per-request metric becomes the inference event.
 */
import type { InferenceEvent, LineResult } from './events.js';
import {
  accessEvent,
  durationSeconds,
  malformed,
  MODEL_PATH_REGEX,
  ModelPaths,
  skipped,
  statusCode,
  type LabelDefaults,
} from './http.js';
import { MAX_LABEL_LENGTH } from './jsonl.js';
import { logTimeMillis } from './log-time.js';

/**
 * TorchServe's prediction API (`/predictions/<model>[/<version>]`) and its
 * KServe-compatible v1/v2 paths.
 */
export const TORCHSERVE_PATH_REGEXES: readonly string[] = [
  '^/predictions/(?<model>[^/]+)(?:/(?<version>[^/]+))?/?$',
  MODEL_PATH_REGEX,
];

export interface TorchServeAccessOptions {
  defaults: LabelDefaults;
  /** Patterns with named groups `model`, `version`, `scene`; first match wins. */
  pathRegex?: string | readonly string[];
  /**
   * Minutes east of UTC of the server's clock: log4j prints local time
   * without a zone. 0 (UTC) unless set.
   */
  utcOffsetMinutes?: number;
}

/** A log4j `%d{ISO8601}` time, with `T` or a space, anywhere before the message. */
const LOG4J_TIME = /(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?)/;

/** The quoted request line and whatever follows it. */
const REQUEST_LINE = /"([A-Za-z]+) (\S+) ([^"\s]+)"(.*)$/;

/** Event time from the line's log4j prefix; `nowMs` when it has none. */
function prefixTime(
  head: string,
  nowMs: number,
  utcOffsetMinutes: number,
): number {
  const m = LOG4J_TIME.exec(head);
  return m ? logTimeMillis(m[1], utcOffsetMinutes) : nowMs;
}

/** Parses `access_log.log` lines (or the same lines on the console). */
export class TorchServeAccessParser {
  private readonly paths: ModelPaths;
  private readonly utcOffsetMinutes: number;

  constructor(options: TorchServeAccessOptions) {
    const patterns = options.pathRegex ?? TORCHSERVE_PATH_REGEXES;
    this.paths = new ModelPaths(patterns, options.defaults);
    this.utcOffsetMinutes = options.utcOffsetMinutes ?? 0;
  }

  parse(line: string, nowMs: number): LineResult {
    if (line.trim() === '') return skipped('blank');
    const request = REQUEST_LINE.exec(line);
    if (!request) return skipped('not_access');

    const [statusText, durationText] = request[4]!.trim().split(/\s+/);
    if (!statusText) return malformed('missing_field', 'status');
    const status = statusCode(statusText);
    if (Number.isNaN(status)) return malformed('bad_value', 'status');
    if (durationText === undefined)
      return malformed('missing_field', 'latency');
    if (!/^\d+$/.test(durationText)) return malformed('bad_value', 'latency');

    const head = line.slice(0, request.index);
    const timeMs = prefixTime(head, nowMs, this.utcOffsetMinutes);
    if (Number.isNaN(timeMs)) return malformed('bad_time', 'time');

    // The remote address before the request line is never read.
    return accessEvent(
      {
        timeMs,
        target: request[2]!,
        status,
        latencySeconds: durationSeconds(durationText, 'ms'),
      },
      this.paths,
    );
  }
}

export interface TorchServeMetricsOptions {
  defaults: LabelDefaults;
  /**
   * The per-request metric that stands for one inference, its value the
   * latency: `PredictionTime` (default; backend time for the request,
   * model_metrics.log), `HandlerTime` (the handler alone), or
   * `ts_inference_latency_microseconds` (frontend, ts_metrics.log).
   */
  latencyMetric?: string;
  utcOffsetMinutes?: number;
}

/** Metric units as TorchServe writes them, onto our latency units. */
const UNIT_SCALE: Record<string, 's' | 'ms' | 'us'> = {
  Milliseconds: 'ms',
  ms: 'ms',
  Microseconds: 'us',
  us: 'us',
  Seconds: 's',
  s: 's',
};

/** `Name.Unit:value|#dimensions...` at line start or after log4j's ` - `. */
const METRIC_LINE = /(?:^|\s-\s)([A-Za-z_]\w*)\.(\w+):([^|\s]+)\|#(\S*)/;

/** Every `key:value` dimension of the `|#`-separated sections. */
function dimensionsOf(sections: string): Map<string, string> {
  const dims = new Map<string, string>();
  for (const section of sections.split('|#')) {
    for (const pair of section.split(',')) {
      const colon = pair.indexOf(':');
      if (colon > 0) dims.set(pair.slice(0, colon), pair.slice(colon + 1));
    }
  }
  return dims;
}

/** Parses `model_metrics.log` / `ts_metrics.log` lines. */
export class TorchServeMetricsParser {
  private readonly metric: string;
  private readonly utcOffsetMinutes: number;

  constructor(private readonly options: TorchServeMetricsOptions) {
    this.metric = options.latencyMetric ?? 'PredictionTime';
    if (!/^[A-Za-z_]\w*$/.test(this.metric)) {
      throw new Error(`latency_metric: not a metric name: "${this.metric}"`);
    }
    this.utcOffsetMinutes = options.utcOffsetMinutes ?? 0;
  }

  parse(line: string, nowMs: number): LineResult {
    if (line.trim() === '') return skipped('blank');
    const m = METRIC_LINE.exec(line);
    if (!m) return skipped('not_metric');
    const [, name, unit, valueText, sections] = m as unknown as string[] as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (name !== this.metric) return skipped('other_metric');

    const scale = UNIT_SCALE[unit];
    if (scale === undefined) return malformed('bad_value', 'unit');
    const latencySeconds = durationSeconds(valueText, scale);
    if (Number.isNaN(latencySeconds)) return malformed('bad_value', 'value');

    const dims = dimensionsOf(sections);
    const timeMs = this.timeOf(dims, line.slice(0, m.index), nowMs);
    if (Number.isNaN(timeMs)) return malformed('bad_time', 'timestamp');
    return this.event(dims, timeMs, latencySeconds);
  }

  /**
   * The `timestamp` dimension (epoch seconds, free of time zones) when the
   * line has one; else the log4j prefix; else the read time.
   */
  private timeOf(
    dims: Map<string, string>,
    head: string,
    nowMs: number,
  ): number {
    const stamp = dims.get('timestamp');
    if (stamp !== undefined && /^\d{1,12}$/.test(stamp))
      return Number(stamp) * 1000;
    return prefixTime(head, nowMs, this.utcOffsetMinutes);
  }

  private event(
    dims: Map<string, string>,
    timeMs: number,
    latencySeconds: number,
  ): LineResult {
    const d = this.options.defaults;
    const model = dims.get('ModelName') ?? dims.get('model_name') ?? d.model;
    if (model === '') return malformed('missing_field', 'ModelName');
    const version = dims.get('model_version') || d.version;
    for (const [field, value] of [
      ['ModelName', model],
      ['model_version', version],
    ] as const) {
      if (value.length > MAX_LABEL_LENGTH) return malformed('bad_value', field);
    }

    // The metrics log says nothing of the response: the outcome is the
    // source's default, and there are no items.
    const event: InferenceEvent = {
      kind: 'inference',
      timeMs,
      model,
      version,
      scene: d.scene,
      latencySeconds,
      outcome: d.outcome,
      items: [],
    };
    const requestId = dims.get('requestID');
    if (requestId) event.requestId = requestId;
    return { ok: true, event };
  }
}
