/**
 * nginx in front of a model server, logging JSON with `escape=json`. The
 * expected `log_format` is in docs/log-format.md; its keys can be renamed.
 * Times in nginx variables are seconds.
 */
import type { LineResult } from './events.js';
import {
  accessEvent,
  firstPresent,
  isFail,
  jsonObject,
  malformed,
  MODEL_PATH_REGEX,
  ModelPaths,
  skipped,
  statusCode,
  type LabelDefaults,
} from './http.js';
import { logTimeMillis } from './log-time.js';

/** Where each value is in the logged object. */
export interface NginxKeys {
  /** `$time_iso8601` (or `$msec`). */
  time: string;
  /** `$request_id`. */
  requestId: string;
  /** `$request_uri`. */
  uri: string;
  /** `$status`. */
  status: string;
  /** `$request_time`: first byte read from the client to last byte sent. */
  requestTime: string;
  /** `$upstream_response_time`: time spent waiting on the model server. */
  upstreamTime: string;
}

export const NGINX_KEYS: NginxKeys = {
  time: 'time',
  requestId: 'request_id',
  uri: 'uri',
  status: 'status',
  requestTime: 'request_time',
  upstreamTime: 'upstream_response_time',
};

export interface NginxOptions {
  defaults: LabelDefaults;
  /** Patterns with named groups `model`, `version`, `scene`; first match wins. */
  pathRegex?: string | readonly string[];
  /**
   * `upstream` (default): the model server's own time, absent when nginx
   * answered by itself; `total`: nginx's whole request time.
   */
  latencyFrom?: 'upstream' | 'total';
  keys?: Partial<NginxKeys>;
  /** Minutes east of UTC for times without a zone (`$time_iso8601` has one). */
  utcOffsetMinutes?: number;
}

/**
 * `$upstream_response_time` in seconds. nginx lists one time per upstream
 * tried, separated by `, ` (retries) or ` : ` (internal redirects); the
 * model server's share of the request is their sum. `-` entries are
 * upstreams never reached. Undefined when none was; NaN when unreadable.
 */
export function upstreamSeconds(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw >= 0 ? raw : NaN;
  if (typeof raw !== 'string') return NaN;
  let total: number | undefined;
  for (const part of raw.split(/[,:]/)) {
    const text = part.trim();
    if (text === '-') continue;
    if (!/^\d+(?:\.\d+)?$/.test(text)) return NaN;
    total = (total ?? 0) + Number(text);
  }
  return total;
}

export class NginxParser {
  private readonly paths: ModelPaths;
  private readonly keys: NginxKeys;

  constructor(private readonly options: NginxOptions) {
    this.paths = new ModelPaths(
      options.pathRegex ?? MODEL_PATH_REGEX,
      options.defaults,
    );
    this.keys = { ...NGINX_KEYS, ...options.keys };
  }

  parse(line: string, nowMs: number): LineResult {
    if (line.trim() === '') return skipped('blank');
    const parsed = jsonObject(line);
    if (isFail(parsed)) return parsed;
    const obj = parsed.fields;
    const k = this.keys;

    const target = firstPresent(obj, [k.uri]);
    if (target === undefined) return malformed('missing_field', k.uri);
    if (typeof target !== 'string') return malformed('bad_type', k.uri);
    const status = statusCode(firstPresent(obj, [k.status]));
    if (Number.isNaN(status)) return malformed('bad_value', k.status);

    const rawTime = firstPresent(obj, [k.time]);
    const timeMs =
      rawTime === undefined
        ? nowMs
        : logTimeMillis(rawTime, this.options.utcOffsetMinutes);
    if (Number.isNaN(timeMs)) return malformed('bad_time', k.time);

    const latencyKey =
      this.options.latencyFrom === 'total' ? k.requestTime : k.upstreamTime;
    const rawLatency = firstPresent(obj, [latencyKey]);
    const latencySeconds =
      rawLatency === undefined ? undefined : upstreamSeconds(rawLatency);
    if (Number.isNaN(latencySeconds)) return malformed('bad_value', latencyKey);

    const requestId = firstPresent(obj, [k.requestId]);
    return accessEvent(
      {
        timeMs,
        target,
        status,
        latencySeconds,
        requestId: typeof requestId === 'string' ? requestId : undefined,
      },
      this.paths,
    );
  }
}
