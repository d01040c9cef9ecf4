/**
 * Envoy (and Istio, Envoy Gateway) in front of a model server. Reads JSON
 * access logs with the keys of Envoy Gateway's default format
 * (`x-envoy-origin-path`, `x-request-id`, `x-envoy-upstream-service-time`)
 * or of Istio's (`path`, `request_id`, `upstream_service_time`), and also
 * Envoy's default text format. Envoy's times are milliseconds.
 */
import type { LineResult } from './events.js';
import {
  accessEvent,
  durationSeconds,
  firstPresent,
  isFail,
  jsonObject,
  malformed,
  MODEL_PATH_REGEX,
  ModelPaths,
  skipped,
  statusCode,
  type Fail,
  type HttpAccess,
  type LabelDefaults,
} from './http.js';
import { logTimeMillis } from './log-time.js';

/** Where each value is in the logged object; the first key present wins. */
export interface EnvoyKeys {
  /** `%START_TIME%`. */
  time: readonly string[];
  /** `%REQ(X-REQUEST-ID)%`. */
  requestId: readonly string[];
  /** `%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%`. */
  path: readonly string[];
  /** `%RESPONSE_CODE%`. */
  status: readonly string[];
  /** `%DURATION%`: start of request to last byte out. */
  duration: readonly string[];
  /** `%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%`: the model server's own time. */
  upstreamTime: readonly string[];
}

export const ENVOY_KEYS: EnvoyKeys = {
  time: ['start_time'],
  requestId: ['x-request-id', 'request_id'],
  path: ['x-envoy-origin-path', 'path'],
  status: ['response_code'],
  duration: ['duration'],
  upstreamTime: ['x-envoy-upstream-service-time', 'upstream_service_time'],
};

export interface EnvoyOptions {
  defaults: LabelDefaults;
  /** Patterns with named groups `model`, `version`, `scene`; first match wins. */
  pathRegex?: string | readonly string[];
  /**
   * `upstream` (default): the upstream service time, absent when the
   * server's header is missing (Envoy Gateway strips it unless enabled);
   * `total`: Envoy's duration.
   */
  latencyFrom?: 'upstream' | 'total';
  keys?: Partial<EnvoyKeys>;
  /** Minutes east of UTC for times without a zone. */
  utcOffsetMinutes?: number;
}

/**
 * The default text format: `[%START_TIME%] "%REQ(:METHOD)% <path> %PROTOCOL%"
 * %RESPONSE_CODE% %RESPONSE_FLAGS% [Istio's three extra fields]
 * %BYTES_RECEIVED% %BYTES_SENT% %DURATION% <upstream time> "<forwarded for>"
 * "<user agent>" "<request id>" ...`. The forwarded-for and user agent are
 * matched without capture so that they are never held.
 */
const TEXT_LINE = new RegExp(
  '^\\[(?<time>[^\\]]+)\\] "\\S+ (?<path>\\S+) [^"]*" (?<status>\\d+) \\S+ ' +
    '(?:\\S+ \\S+ "[^"]*" )?\\d+ \\d+ (?<duration>\\d+|-) (?<upstream>\\d+|-) ' +
    '"[^"]*" "[^"]*" "(?<requestId>[^"]*)"',
);

/** Milliseconds as text or number, in seconds; undefined for `-`. */
function millisToSeconds(raw: unknown): number | undefined {
  return raw === undefined || raw === '-'
    ? undefined
    : durationSeconds(raw, 'ms');
}

export class EnvoyParser {
  private readonly paths: ModelPaths;
  private readonly keys: EnvoyKeys;
  private readonly useTotal: boolean;

  constructor(private readonly options: EnvoyOptions) {
    this.paths = new ModelPaths(
      options.pathRegex ?? MODEL_PATH_REGEX,
      options.defaults,
    );
    this.keys = { ...ENVOY_KEYS, ...options.keys };
    this.useTotal = options.latencyFrom === 'total';
  }

  parse(line: string, nowMs: number): LineResult {
    if (line.trim() === '') return skipped('blank');
    const access = line.startsWith('[')
      ? this.fromText(line)
      : this.fromJson(line, nowMs);
    return isFail(access) ? access : accessEvent(access, this.paths);
  }

  private fromJson(line: string, nowMs: number): HttpAccess | Fail {
    const parsed = jsonObject(line);
    if (isFail(parsed)) return parsed;
    const obj = parsed.fields;
    const k = this.keys;

    const target = firstPresent(obj, k.path);
    if (target === undefined) return malformed('missing_field', k.path[0]);
    if (typeof target !== 'string') return malformed('bad_type', k.path[0]);
    const status = statusCode(firstPresent(obj, k.status));
    if (Number.isNaN(status)) return malformed('bad_value', k.status[0]);

    const rawTime = firstPresent(obj, k.time);
    const timeMs =
      rawTime === undefined
        ? nowMs
        : logTimeMillis(rawTime, this.options.utcOffsetMinutes);
    if (Number.isNaN(timeMs)) return malformed('bad_time', k.time[0]);

    const latencyKeys = this.useTotal ? k.duration : k.upstreamTime;
    const latencySeconds = millisToSeconds(firstPresent(obj, latencyKeys));
    if (Number.isNaN(latencySeconds))
      return malformed('bad_value', latencyKeys[0]);

    const requestId = firstPresent(obj, k.requestId);
    return {
      timeMs,
      target,
      status,
      latencySeconds,
      requestId: typeof requestId === 'string' ? requestId : undefined,
    };
  }

  private fromText(line: string): HttpAccess | Fail {
    const groups = TEXT_LINE.exec(line)?.groups;
    if (!groups) return malformed('bad_value', 'line');
    const status = statusCode(groups.status);
    if (Number.isNaN(status)) return malformed('bad_value', 'response_code');
    const timeMs = logTimeMillis(groups.time, this.options.utcOffsetMinutes);
    if (Number.isNaN(timeMs)) return malformed('bad_time', 'start_time');

    const latencySeconds = millisToSeconds(
      this.useTotal ? groups.duration : groups.upstream,
    );
    const requestId = groups.requestId === '-' ? undefined : groups.requestId;
    return { timeMs, target: groups.path!, status, latencySeconds, requestId };
  }
}
