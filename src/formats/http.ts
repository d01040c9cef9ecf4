/**
 * What every HTTP access log shares, whoever writes it (TorchServe, nginx,
 * Envoy): the model and version taken from the request path, and the
 * outcome taken from the status code. Client addresses are never read into
 * anything kept here.
 */
import type { SourceConfig } from '../config/schema.js';
import type { InferenceEvent, LineResult } from './events.js';
import { MAX_LABEL_LENGTH } from './jsonl.js';

/**
 * KServe v1/v2, Triton and TF-Serving inference calls:
 * `/v1/models/<model>[/versions/<version>]:predict` (also `:classify`,
 * `:regress`, `:explain`) and `/v2/models/<model>[/versions/<version>]/infer`
 * (also `/explain`, `/generate`, `/generate_stream`). The verb is required
 * so that readiness and metadata calls on the same prefix are not counted.
 */
export const MODEL_PATH_REGEX =
  '^/v[12]/models/(?<model>[^/:]+)(?:/versions/(?<version>[^/:]+))?' +
  '(?::(?:predict|classify|regress|explain)|/(?:infer|explain|generate|generate_stream))$';

/** Label values a source falls back on: `SourceConfig.defaults`. */
export type LabelDefaults = SourceConfig['defaults'];

export type Fail = Extract<LineResult, { ok: false }>;
export type Malformed = Extract<Fail, { skipped: false }>;

export function malformed(
  reason: Malformed['reason'],
  field?: string,
): Malformed {
  return { ok: false, skipped: false, reason, field };
}

export function skipped(reason: string): Fail {
  return { ok: false, skipped: true, reason };
}

const UNIT_DECIMALS: Record<'s' | 'ms' | 'us', number> = { s: 0, ms: 3, us: 6 };

/**
 * A non-negative duration in seconds from a number or numeric text in
 * `unit`; NaN otherwise. The decimal point is moved in the text rather
 * than the value multiplied, so that `109.74` ms reads as exactly the
 * double nearest 0.10974, the value a reader of the log would expect.
 */
export function durationSeconds(raw: unknown, unit: 's' | 'ms' | 'us'): number {
  const text = typeof raw === 'number' ? String(raw) : raw;
  if (
    typeof text !== 'string' ||
    !/^\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/.test(text)
  )
    return NaN;
  const [mantissa, exponent = '0'] = text.toLowerCase().split('e');
  const seconds = Number(
    `${mantissa}e${Number(exponent) - UNIT_DECIMALS[unit]}`,
  );
  return Number.isFinite(seconds) ? seconds : NaN;
}

/** Tells a failed parse step from its value. */
export function isFail(value: object): value is Fail {
  return (value as { ok?: unknown }).ok === false;
}

/**
 * The outcome word for an HTTP status. 1xx-3xx are answers (`ok`); 408
 * and 504 are `timeout`; other 4xx are `client_error`, kept apart so that a
 * caller sending bad input does not look like a failing model; 5xx, and
 * Envoy's 0 (no response was sent at all), are `error`.
 */
export function outcomeOfStatus(status: number): string {
  if (status === 408 || status === 504) return 'timeout';
  if (status >= 100 && status < 400) return 'ok';
  if (status >= 400 && status < 500) return 'client_error';
  return 'error';
}

/** A status code from text or number; NaN when it is not 0 or 100-599. */
export function statusCode(raw: unknown): number {
  const text = typeof raw === 'number' ? String(raw) : raw;
  if (typeof text !== 'string' || !/^\d{1,3}$/.test(text)) return NaN;
  const code = Number(text);
  return code === 0 || (code >= 100 && code <= 599) ? code : NaN;
}

/** The model, version and scene labels of one request. */
export interface RequestLabels {
  model: string;
  version: string;
  scene: string;
}

/**
 * Named groups `model`, `version` and `scene` from the first of a list of
 * path patterns that matches. A path no pattern matches is not an
 * inference call (a health check, a management call) and is skipped.
 */
export class ModelPaths {
  private readonly patterns: RegExp[];

  /**
   * @param option the configuration key the patterns came from, named in
   *   the error thrown for a pattern that does not compile.
   */
  constructor(
    patterns: string | readonly string[],
    private readonly defaults: LabelDefaults,
    option = 'path_regex',
  ) {
    const list = typeof patterns === 'string' ? [patterns] : patterns;
    if (list.length === 0)
      throw new Error(`${option}: needs at least one pattern`);
    this.patterns = list.map((source) => compilePattern(source, option));
    if (defaults.model !== '') return;
    for (const [i, pattern] of this.patterns.entries()) {
      if (!groupNames(pattern).has('model')) {
        throw new Error(
          `${option}: "${list[i]}" has no (?<model>...) group and the source has no default model`,
        );
      }
    }
  }

  /** Labels for a request target (path with optional query), or why not. */
  labels(target: string): RequestLabels | Fail {
    const path = decodedPath(target);
    if (path === undefined) return malformed('bad_value', 'path');
    for (const pattern of this.patterns) {
      const m = pattern.exec(path);
      if (m) return this.fromGroups(m.groups ?? {});
    }
    return skipped('other_path');
  }

  private fromGroups(
    groups: Record<string, string | undefined>,
  ): RequestLabels | Fail {
    const labels: RequestLabels = {
      model: groups.model || this.defaults.model,
      version: groups.version || this.defaults.version,
      scene: groups.scene || this.defaults.scene,
    };
    for (const name of ['model', 'version', 'scene'] as const) {
      if (labels[name] === '') return malformed('missing_field', name);
      if (labels[name].length > MAX_LABEL_LENGTH)
        return malformed('bad_value', name);
    }
    return labels;
  }
}

/** Compiles a user pattern, naming the option and the value when it fails. */
export function compilePattern(source: string, option: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${option}: not a valid regular expression: "${source}" (${why})`,
    );
  }
}

/** The named groups of a pattern. */
export function groupNames(pattern: RegExp): Set<string> {
  // An empty alternative lets the pattern match '', and exec then lists
  // every named group, set or not.
  const groups = new RegExp(`${pattern.source}|`).exec('')?.groups ?? {};
  return new Set(Object.keys(groups));
}

/** The path without query or fragment, percent-decoded; undefined if bad. */
function decodedPath(target: string): string | undefined {
  const end = target.search(/[?#]/);
  const raw = end === -1 ? target : target.slice(0, end);
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** The parts of one access log entry the formats agree on. */
export interface HttpAccess {
  timeMs: number;
  /** Request URI or path, as logged. */
  target: string;
  status: number;
  latencySeconds?: number;
  requestId?: string;
}

/** Turns one access entry into an inference event, or says why not. */
export function accessEvent(access: HttpAccess, paths: ModelPaths): LineResult {
  const labels = paths.labels(access.target);
  if (isFail(labels)) return labels;

  const event: InferenceEvent = {
    kind: 'inference',
    timeMs: access.timeMs,
    model: labels.model,
    version: labels.version,
    scene: labels.scene,
    outcome: outcomeOfStatus(access.status),
    items: [],
  };
  if (access.latencySeconds !== undefined)
    event.latencySeconds = access.latencySeconds;
  if (access.requestId) event.requestId = access.requestId;
  return { ok: true, event };
}

/**
 * The first of `keys` that a JSON access log object has a value for.
 * Proxies write `-` (or null in typed JSON) for a value they do not have;
 * those count as absent.
 */
export function firstPresent(
  obj: Record<string, unknown>,
  keys: readonly string[],
): unknown {
  for (const key of keys) {
    const value = obj[key];
    if (value !== undefined && value !== null && value !== '-' && value !== '')
      return value;
  }
  return undefined;
}

/**
 * A parsed JSON object line, or why the line is not one. Wrapped, so that
 * a logged object with an `ok` key cannot pass for a failure.
 */
export function jsonObject(
  line: string,
): { fields: Record<string, unknown> } | Fail {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return malformed('not_json');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return malformed('not_object');
  }
  return { fields: parsed as Record<string, unknown> };
}
