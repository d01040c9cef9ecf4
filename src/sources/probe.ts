/**
 * Health probes of model servers. Each target is fetched on its own timer,
 * apart from scrapes: a scrape reads the outcome of the last probe and never
 * waits for a model server. A probe that fails for any reason marks its
 * target down and counts the reason; it never throws out of the timer.
 *
 * The default interval is 15 s, the bundle's scrape interval: every scrape
 * sees a fresh result, and the two-minute ModelServerDown alert needs eight
 * failed probes in a row, so one lost packet does not page anyone.
 */
import { performance } from 'node:perf_hooks';

import { Agent, request } from 'undici';

import { errText, silentLogger, type Logger } from '../log.js';
import { probe as probeDefinitions } from '../metrics/definitions.js';
import type { MetricStore } from '../metrics/store.js';
import { VERSION } from '../version.js';

/** The probe's metrics, as defined in definitions.ts. */
export const probeMetrics = probeDefinitions;

/** Why a probe failed: a fixed set, used as a label value. */
export const PROBE_FAILURE_REASONS = [
  'timeout',
  'connection_refused',
  'reset',
  'dns',
  'unreachable',
  'tls',
  'http_status',
  'bad_json',
  'body_too_large',
  'other',
] as const;
export type ProbeFailureReason = (typeof PROBE_FAILURE_REASONS)[number];

/** Which fields of a JSON health body become gauges. */
export interface ProbeFieldFilter {
  /** Flattened names (`queue_pending`) or dotted paths (`queue.pending`). */
  allow: string[];
  /** Flattened names starting with this are kept too; empty keeps none. */
  prefix: string;
}

/** One model server to probe. YAML keys are the snake_case twins. */
export interface ProbeTarget {
  /** The `target` label: a short name, never the URL. */
  name: string;
  /** An http or https URL, such as `http://127.0.0.1:8080/health`. */
  url: string;
  /** Seconds from the end of one probe to the start of the next. */
  intervalSeconds: number;
  /** Longest a probe may take, connection and body included. */
  timeoutSeconds: number;
  /** Fields exported from a JSON body; with neither set, none are. */
  fields: ProbeFieldFilter;
}

/** Defaults for the optional keys of a probe target. */
export const PROBE_DEFAULTS = {
  path: '/health',
  intervalSeconds: 15,
  timeoutSeconds: 5,
} as const;

/** Most fields one target exports, whatever its filter lets through. */
export const MAX_PROBE_FIELDS = 64;

/** Largest health body read; a bigger one fails as `body_too_large`. */
export const MAX_PROBE_BODY_BYTES = 256 * 1024;

/** How deep nested objects are followed when flattening a body. */
const MAX_FIELD_DEPTH = 8;

/** A label-safe target name: letters, digits and `_ . : -`. */
const TARGET_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A bad probe setting; `key` is its full path, such as `probes[1].url`. */
export class ProbeConfigError extends Error {
  constructor(
    readonly key: string,
    readonly detail: string,
  ) {
    super(`${key}: ${detail}`);
    this.name = 'ProbeConfigError';
  }
}

/** A key in snake_case: `queueDepth` and `Queue-Depth` give `queue_depth`. */
export function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

/** An allowlist entry as a flattened name; dots mark nesting. */
function flatName(entry: string): string {
  return entry.split('.').map(snakeCase).filter(Boolean).join('_');
}

/** Whether a filter lets any field through. */
export function fieldsEnabled(filter: ProbeFieldFilter): boolean {
  return filter.allow.length > 0 || filter.prefix !== '';
}

function fieldWanted(name: string, filter: ProbeFieldFilter): boolean {
  if (filter.prefix !== '' && name.startsWith(filter.prefix)) return true;
  return filter.allow.some((entry) => flatName(entry) === name);
}

/**
 * The numbers and booleans of a JSON value, keyed by their flattened
 * snake_case path, that the filter lets through, at most `max` of them in
 * document order. Arrays and strings are left out; on a clash of two
 * paths that flatten alike, the first wins.
 */
export function flattenFields(
  body: unknown,
  filter: ProbeFieldFilter,
  max = MAX_PROBE_FIELDS,
): Map<string, number> {
  const out = new Map<string, number>();
  const visit = (value: unknown, path: string, depth: number): void => {
    if (out.size >= max) return;
    if (typeof value === 'number' || typeof value === 'boolean') {
      const number = typeof value === 'boolean' ? Number(value) : value;
      const wanted = path !== '' && fieldWanted(path, filter);
      if (wanted && Number.isFinite(number) && !out.has(path)) {
        out.set(path, number);
      }
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return;
    }
    if (depth >= MAX_FIELD_DEPTH) return;
    for (const [key, child] of Object.entries(value)) {
      const part = snakeCase(key);
      if (part === '') continue;
      visit(child, path === '' ? part : `${path}_${part}`, depth + 1);
    }
  };
  if (fieldsEnabled(filter)) visit(body, '', 0);
  return out;
}

/** The URL without user, password, query or fragment, for log lines. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

type Raw = Record<string, unknown>;

const TARGET_KEYS = [
  'name',
  'url',
  'interval_seconds',
  'timeout_seconds',
  'fields',
];
const FIELD_KEYS = ['allow', 'prefix'];

function checkKeys(raw: Raw, known: string[], path: string): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new ProbeConfigError(`${path}.${key}`, 'unknown key');
    }
  }
}

function isMapping(value: unknown): value is Raw {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function seconds(raw: unknown, fallback: number, key: string): number {
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw <= 0) {
    const got = JSON.stringify(raw);
    throw new ProbeConfigError(
      key,
      `must be a number of seconds > 0, got ${got}`,
    );
  }
  return raw;
}

function targetUrl(raw: unknown, key: string): string {
  if (typeof raw !== 'string' || raw === '') {
    throw new ProbeConfigError(key, 'is required: an http or https URL');
  }
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ProbeConfigError(key, `is not a URL: "${redactUrl(raw)}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ProbeConfigError(
      key,
      `must be http or https, got "${parsed.protocol}"`,
    );
  }
  // A bare origin probes the conventional health path.
  if (parsed.pathname === '/' && !/\/\/[^/]+\/$/.test(raw)) {
    parsed.pathname = PROBE_DEFAULTS.path;
  }
  return parsed.toString();
}

function fieldFilter(raw: unknown, path: string): ProbeFieldFilter {
  if (raw === undefined || raw === null) return { allow: [], prefix: '' };
  if (!isMapping(raw)) throw new ProbeConfigError(path, 'must be a mapping');
  checkKeys(raw, FIELD_KEYS, path);
  const allow = raw.allow ?? [];
  const prefix = raw.prefix ?? '';
  const names = Array.isArray(allow) ? (allow as unknown[]) : [];
  if (!Array.isArray(allow) || names.some((a) => typeof a !== 'string' || !a)) {
    const key = `${path}.allow`;
    throw new ProbeConfigError(key, 'must be a list of field names');
  }
  // Compared with flattened names, so it is written the way they read.
  if (typeof prefix !== 'string' || !/^[a-z0-9_]*$/.test(prefix)) {
    throw new ProbeConfigError(
      `${path}.prefix`,
      `must be snake_case (a-z, 0-9, _), got ${JSON.stringify(prefix)}`,
    );
  }
  return { allow: names as string[], prefix };
}

function probeTargetAt(raw: unknown, path: string): ProbeTarget {
  if (!isMapping(raw)) throw new ProbeConfigError(path, 'must be a mapping');
  checkKeys(raw, TARGET_KEYS, path);
  const name = raw.name;
  if (typeof name !== 'string' || !TARGET_NAME.test(name)) {
    throw new ProbeConfigError(
      `${path}.name`,
      `must be 1-64 letters, digits, "_", ".", ":" or "-", got ${JSON.stringify(name ?? null)}`,
    );
  }
  const url = targetUrl(raw.url, `${path}.url`);
  const intervalSeconds = seconds(
    raw.interval_seconds,
    PROBE_DEFAULTS.intervalSeconds,
    `${path}.interval_seconds`,
  );
  // Without its own timeout, a probe gives up by its next turn at the latest.
  const timeoutSeconds = seconds(
    raw.timeout_seconds,
    Math.min(PROBE_DEFAULTS.timeoutSeconds, intervalSeconds),
    `${path}.timeout_seconds`,
  );
  if (timeoutSeconds > intervalSeconds) {
    throw new ProbeConfigError(
      `${path}.timeout_seconds`,
      `must not exceed interval_seconds (${intervalSeconds}), got ${timeoutSeconds}`,
    );
  }
  const fields = fieldFilter(raw.fields, `${path}.fields`);
  return { name, url, intervalSeconds, timeoutSeconds, fields };
}

/**
 * Probe targets from the plain value of the `probes` key (YAML turned into
 * JavaScript, snake_case keys), with defaults filled in. Throws a
 * ProbeConfigError naming the key, the rule and the bad value.
 */
export function parseProbeConfig(raw: unknown, path = 'probes'): ProbeTarget[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ProbeConfigError(path, 'must be a list');
  const targets = raw.map((item, i) => probeTargetAt(item, `${path}[${i}]`));
  const seen = new Set<string>();
  targets.forEach((target, i) => {
    if (seen.has(target.name)) {
      throw new ProbeConfigError(
        `${path}[${i}].name`,
        `"${target.name}" is used twice`,
      );
    }
    seen.add(target.name);
  });
  return targets;
}

/** What one probe found. */
export interface ProbeOutcome {
  up: boolean;
  durationSeconds: number;
  /** Absent when no response came. */
  statusCode?: number;
  /** Set when the probe failed. */
  reason?: ProbeFailureReason;
  /** The error or status behind the reason, for the log. */
  detail?: string;
  /** Fields of a JSON body that the target's filter kept. */
  fields: Map<string, number>;
}

/** Error codes of Node and undici, by the failure they mean. */
const CODE_REASONS: Record<string, ProbeFailureReason> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
};

/**
 * The reason for a failed request, from the error's code or the code of
 * an error it wraps (undici wraps socket errors; a host with several
 * addresses gives an AggregateError).
 */
export function classifyProbeError(err: unknown): ProbeFailureReason {
  let current: unknown = err;
  for (let depth = 0; current && depth < 4; depth++) {
    const { code, cause, errors } = current as {
      code?: unknown;
      cause?: unknown;
      errors?: unknown;
    };
    if (typeof code === 'string') {
      const reason = CODE_REASONS[code];
      if (reason) return reason;
      if (/^ERR_(TLS|SSL)|CERT/.test(code)) return 'tls';
    }
    current = cause ?? (Array.isArray(errors) ? errors[0] : undefined);
  }
  return 'other';
}

interface Fetched {
  statusCode?: number;
  body?: Record<string, unknown>;
  reason?: ProbeFailureReason;
  detail?: string;
}

const REQUEST_HEADERS = {
  accept: 'application/json, text/plain;q=0.9, */*;q=0.5',
  'user-agent': `inference-exporter/${VERSION}`,
};

/** The body as text, or undefined once it passes `limit` bytes. */
async function readCapped(
  body: AsyncIterable<Buffer>,
  limit: number,
): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    // Leaving the loop early destroys the stream and frees the socket.
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** The body is read as JSON when fields are wanted or it says it is JSON. */
function wantsJson(target: ProbeTarget, contentType: unknown): boolean {
  if (fieldsEnabled(target.fields)) return true;
  return /[/+]json\b/i.test(String(contentType ?? ''));
}

async function fetchHealth(
  target: ProbeTarget,
  agent: Agent,
  signal: AbortSignal,
): Promise<Fetched> {
  const { statusCode, headers, body } = await request(target.url, {
    method: 'GET',
    dispatcher: agent,
    signal,
    headers: REQUEST_HEADERS,
  });
  if (statusCode < 200 || statusCode > 299) {
    await body.dump();
    return {
      statusCode,
      reason: 'http_status',
      detail: `status ${statusCode}`,
    };
  }
  if (!wantsJson(target, headers['content-type'])) {
    await body.dump();
    return { statusCode };
  }

  const text = await readCapped(body, MAX_PROBE_BODY_BYTES);
  if (text === undefined) {
    const detail = `body over ${MAX_PROBE_BODY_BYTES} bytes`;
    return { statusCode, reason: 'body_too_large', detail };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { statusCode, reason: 'bad_json', detail: 'body is not JSON' };
  }
  if (!isMapping(parsed)) {
    const detail = 'body is not a JSON object';
    return { statusCode, reason: 'bad_json', detail };
  }
  return { statusCode, body: parsed };
}

/**
 * Probes one target once through `agent`. Never rejects: a refused
 * connection, a reset, a timeout or a bad answer is an outcome that says
 * why, timed from the start of the request to the end of its body.
 */
export async function probeOnce(
  target: ProbeTarget,
  agent: Agent,
): Promise<ProbeOutcome> {
  const started = performance.now();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, target.timeoutSeconds * 1000);

  let fetched: Fetched;
  try {
    fetched = await fetchHealth(target, agent, controller.signal);
  } catch (err) {
    fetched = timedOut
      ? {
          reason: 'timeout',
          detail: `no answer within ${target.timeoutSeconds}s`,
        }
      : { reason: classifyProbeError(err), detail: errText(err) };
  } finally {
    clearTimeout(timer);
  }

  const durationSeconds = (performance.now() - started) / 1000;
  const fields = fetched.body
    ? flattenFields(fetched.body, target.fields)
    : new Map<string, number>();
  const outcome: ProbeOutcome = {
    up: fetched.reason === undefined,
    durationSeconds,
    fields,
  };
  if (fetched.statusCode !== undefined) outcome.statusCode = fetched.statusCode;
  if (fetched.reason !== undefined) outcome.reason = fetched.reason;
  if (fetched.detail !== undefined) outcome.detail = fetched.detail;
  return outcome;
}

/** Running probes. */
export interface ProbeHandle {
  /** One probe of every target; joins the probes in progress. */
  probeAll(): Promise<void>;
  /** Stops the timers and closes the connections. */
  stop(): Promise<void>;
}

interface TargetRun {
  target: ProbeTarget;
  agent: Agent;
  last?: ProbeOutcome;
  failing: boolean;
  inFlight?: Promise<void>;
  timer?: NodeJS.Timeout;
}

type ProbeFamilies = ReturnType<typeof probeFamilies>;

function probeFamilies(store: MetricStore) {
  return {
    up: store.gauge(probeMetrics.up),
    duration: store.gauge(probeMetrics.duration),
    statusCode: store.gauge(probeMetrics.statusCode),
    failures: store.counter(probeMetrics.failures),
    field: store.gauge(probeMetrics.field),
  };
}

/**
 * Status codes and fields are rebuilt from every target's last outcome,
 * so a field that left the body, or a target that stopped answering,
 * leaves no stale series behind.
 */
function publishResponses(f: ProbeFamilies, runs: readonly TargetRun[]): void {
  f.statusCode.reset();
  f.field.reset();
  for (const { target, last } of runs) {
    if (last?.statusCode !== undefined) {
      f.statusCode.labels(target.name).set(last.statusCode);
    }
    for (const [field, value] of last?.fields ?? []) {
      f.field.labels(target.name, field).set(value);
    }
  }
}

/** Logs a target going down once, and its recovery. */
function logTransition(
  run: TargetRun,
  outcome: ProbeOutcome,
  log: Logger,
): void {
  const target = run.target.name;
  if (!outcome.up && !run.failing) {
    log.warn('probe failed', {
      target,
      url: redactUrl(run.target.url),
      reason: outcome.reason,
      err: outcome.detail,
    });
  } else if (outcome.up && run.failing) {
    log.info('probe recovered', { target });
  }
  run.failing = !outcome.up;
}

function agentFor(target: ProbeTarget): Agent {
  const millis = target.timeoutSeconds * 1000;
  return new Agent({
    connect: { timeout: millis },
    headersTimeout: millis,
    bodyTimeout: millis,
  });
}

/**
 * Starts probing `targets` into `store`: each target once now, then
 * `intervalSeconds` after its previous probe ends, so probes of one
 * target never overlap. Targets come from `parseProbeConfig`.
 */
export function startProbes(
  store: MetricStore,
  targets: readonly ProbeTarget[],
  log: Logger = silentLogger,
): ProbeHandle {
  const probeLog = log.child('probe');
  const f = probeFamilies(store);
  const runs: TargetRun[] = targets.map((target) => ({
    target,
    agent: agentFor(target),
    failing: false,
  }));
  for (const { target } of runs) {
    for (const reason of PROBE_FAILURE_REASONS) {
      f.failures.labels(target.name, reason);
    }
  }
  let stopped = false;

  const record = (run: TargetRun, outcome: ProbeOutcome): void => {
    const name = run.target.name;
    f.up.labels(name).set(outcome.up ? 1 : 0);
    f.duration.labels(name).set(outcome.durationSeconds);
    if (outcome.reason) f.failures.labels(name, outcome.reason).inc();
    run.last = outcome;
    publishResponses(f, runs);
    logTransition(run, outcome, probeLog);
  };
  const probe = (run: TargetRun): Promise<void> => {
    run.inFlight ??= probeOnce(run.target, run.agent)
      .then((outcome) => {
        if (!stopped) record(run, outcome);
      })
      .catch((err: unknown) => {
        probeLog.error('probe bookkeeping failed', {
          target: run.target.name,
          err: errText(err),
        });
      })
      .finally(() => {
        run.inFlight = undefined;
      });
    return run.inFlight;
  };
  const scheduleNext = (run: TargetRun): void => {
    if (stopped) return;
    run.timer = setTimeout(
      () => void probe(run).then(() => scheduleNext(run)),
      run.target.intervalSeconds * 1000,
    );
    // The exporter's server keeps the process alive; probes should not.
    run.timer.unref();
  };

  for (const run of runs) {
    probeLog.info('probing', {
      target: run.target.name,
      url: redactUrl(run.target.url),
      interval_seconds: run.target.intervalSeconds,
      timeout_seconds: run.target.timeoutSeconds,
    });
    void probe(run).then(() => scheduleNext(run));
  }
  return {
    probeAll: async () => {
      await Promise.all(runs.map(probe));
    },
    stop: async () => {
      stopped = true;
      for (const run of runs) clearTimeout(run.timer);
      await Promise.all(runs.map((run) => run.agent.destroy()));
    },
  };
}
