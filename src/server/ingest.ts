/**
 * Push endpoints, for model servers that cannot write a log file the
 * exporter can tail:
 *
 * - `POST /ingest` takes JSON Lines, parsed and counted exactly like
 *   tailed lines. A batch is recorded whole or not at all: a body cut off
 *   by the size limit records nothing, so a client may resend it.
 *   200 means every line was taken or skipped on purpose; 200 with
 *   `"status": "partial"` means some lines were rejected, listed by line
 *   number; 400 means every line was rejected, or there was none.
 * - `POST /data` takes one flat JSON object of numbers from a push agent
 *   and exposes each as a gauge labelled with the pushing source.
 */
import { Router, type Request, type Response } from 'express';

import { defaultSource } from '../config/schema.js';
import type { LineResult } from '../formats/events.js';
import { JsonLineParser } from '../formats/jsonl.js';
import { errText, silentLogger, type Logger } from '../log.js';
import { push as pushDefinitions } from '../metrics/definitions.js';
import type { MetricStore } from '../metrics/store.js';
import { LineSplitter, type TailedLine } from '../sources/line-splitter.js';

/** The push metrics, as defined in definitions.ts. */
export const ingestMetrics = pushDefinitions;

/** What the push endpoints need; only `recorder` and `store` are required. */
export interface IngestRouterOptions {
  /** Counts and records each parsed line, as for tailed files. */
  recorder: { line(result: LineResult): void };
  store: MetricStore;
  log?: Logger;
  /** Parser for pushed lines; the default field mapping unless given. */
  parser?: JsonLineParser;
  /** Largest request body; past it the answer is 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Longest line, as `tail.max_line_bytes`; longer ones are `too_long`. */
  maxLineBytes?: number;
  /** Most line errors listed in one answer. Default 100. */
  maxErrors?: number;
  /** Most distinct (source, field) gauges from /data. Default 1000. */
  maxPushedSeries?: number;
  /** Wall clock in milliseconds; tests pass their own. */
  now?: () => number;
}

/** Defaults of the optional limits. */
export const INGEST_DEFAULTS = {
  maxBodyBytes: 1024 * 1024,
  maxLineBytes: 1024 * 1024,
  maxErrors: 100,
  maxPushedSeries: 1000,
} as const;

/** Media types /ingest reads as JSON Lines. */
const LINE_TYPES = [
  'application/x-ndjson',
  'application/jsonl',
  'application/json',
  'text/plain',
];

/** A label-safe source name. */
const SOURCE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A field name that is a valid label value and reads like a metric. */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

type Settings = Required<Omit<IngestRouterOptions, 'parser'>> & {
  parser: JsonLineParser;
};

function resolveOptions(options: IngestRouterOptions): Settings {
  const settings: Settings = {
    ...INGEST_DEFAULTS,
    log: silentLogger,
    now: Date.now,
    parser: new JsonLineParser(defaultSource([])),
    ...Object.fromEntries(
      Object.entries(options).filter(([, v]) => v !== undefined),
    ),
  } as Settings;
  for (const key of [
    'maxBodyBytes',
    'maxLineBytes',
    'maxErrors',
    'maxPushedSeries',
  ] as const) {
    const value = settings[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(
        `ingest option ${key} must be a whole number >= 1, got ${value}`,
      );
    }
  }
  return settings;
}

function mediaType(req: Request): string {
  const header = req.headers['content-type'] ?? '';
  return header.split(';')[0]!.trim().toLowerCase();
}

/**
 * Streams the body to `onChunk` until its end, or stops reading once it
 * passes `limit` bytes, so no more than the limit is ever held.
 */
function streamBody(
  req: Request,
  limit: number,
  onChunk: (chunk: Buffer) => void,
): Promise<'done' | 'too_large'> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        resolve('too_large');
        return;
      }
      onChunk(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve('done');
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Sends a JSON answer and counts it by route and code. */
type Reply = (
  res: Response,
  route: string,
  status: number,
  body: object,
) => void;

function replier(store: MetricStore): Reply {
  const requests = store.counter(ingestMetrics.requests);
  return (res, route, status, body) => {
    requests.labels(route, String(status)).inc();
    res.status(status).json(body);
  };
}

/** Rejects a body before reading it: wrong type or declared too large. */
function refuseUpfront(
  req: Request,
  accepted: readonly string[],
  limit: number,
): { status: number; error: string } | undefined {
  const type = mediaType(req);
  if (!accepted.includes(type)) {
    const got = type === '' ? 'none' : type;
    const want = accepted.join(', ');
    return {
      status: 415,
      error: `content type ${got} not accepted; use one of ${want}`,
    };
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim();
  if (encoding.toLowerCase() !== 'identity') {
    return {
      status: 415,
      error: `content encoding ${encoding} not accepted; send the body uncompressed`,
    };
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return { status: 413, error: tooLargeMessage(limit) };
  }
  return undefined;
}

function tooLargeMessage(limit: number): string {
  return `body over the limit of ${limit} bytes; send smaller batches`;
}

/** The answer to a body cut off at the limit; the connection is closed. */
function refuseTooLarge(
  res: Response,
  reply: Reply,
  route: string,
  limit: number,
): void {
  // The unread rest of the body is not wanted on this connection.
  res.set('Connection', 'close');
  reply(res, route, 413, { error: tooLargeMessage(limit) });
}

/** One rejected line of a batch, by its 1-based line number. */
export interface LineError {
  line: number;
  reason: string;
  field?: string;
}

/** The answer to `POST /ingest`. */
export interface IngestSummary {
  /** `partial` when some lines were rejected, `rejected` when all were. */
  status: 'ok' | 'partial' | 'rejected';
  accepted: number;
  rejected: number;
  /** Blank lines and lines of other types, skipped as when tailing. */
  skipped: number;
  /** The first rejected lines, up to the limit. */
  errors: LineError[];
  /** Rejected lines beyond the limit, not listed. */
  errors_omitted: number;
}

const NEWLINE = Buffer.from('\n');

/** A pushed batch, parsed as it streams in and recorded only when whole. */
class LineBatch {
  readonly results: LineResult[] = [];
  readonly errors: LineError[] = [];
  accepted = 0;
  rejected = 0;
  skipped = 0;
  blank = 0;
  private readonly splitter: LineSplitter;
  private readonly lines: TailedLine[] = [];

  constructor(
    private readonly parser: JsonLineParser,
    maxLineBytes: number,
    private readonly maxErrors: number,
    private readonly nowMs: number,
  ) {
    this.splitter = new LineSplitter(maxLineBytes, 0, 0);
  }

  push(chunk: Buffer): void {
    this.splitter.push(chunk, chunk.length, 'push', this.lines);
    for (const line of this.lines) this.add(line);
    this.lines.length = 0;
  }

  /** Completes a last line that has no newline. */
  end(): void {
    if (this.splitter.lineStart < this.splitter.readOffset) this.push(NEWLINE);
  }

  private add(line: TailedLine): void {
    const result: LineResult = line.tooLong
      ? { ok: false, skipped: false, reason: 'too_long' }
      : this.parser.parse(line.text, this.nowMs);
    this.results.push(result);
    if (result.ok) {
      this.accepted++;
    } else if (result.skipped) {
      this.skipped++;
      if (result.reason === 'blank') this.blank++;
    } else {
      this.rejected++;
      if (this.errors.length < this.maxErrors) {
        const { reason } = result;
        const error: LineError = { line: line.line ?? 0, reason };
        if (result.field !== undefined) error.field = result.field;
        this.errors.push(error);
      }
    }
  }

  summary(): IngestSummary {
    const status =
      this.rejected === 0 ? 'ok' : this.accepted === 0 ? 'rejected' : 'partial';
    return {
      status,
      accepted: this.accepted,
      rejected: this.rejected,
      skipped: this.skipped,
      errors: this.errors,
      errors_omitted: this.rejected - this.errors.length,
    };
  }
}

async function ingestLines(
  req: Request,
  res: Response,
  s: Settings,
  reply: Reply,
): Promise<void> {
  const route = '/ingest';
  const limit = s.maxBodyBytes;
  const refusal = refuseUpfront(req, LINE_TYPES, limit);
  if (refusal?.status === 413) return refuseTooLarge(res, reply, route, limit);
  if (refusal) {
    return reply(res, route, refusal.status, { error: refusal.error });
  }

  const batch = new LineBatch(s.parser, s.maxLineBytes, s.maxErrors, s.now());
  const read = await streamBody(req, limit, (c) => batch.push(c));
  if (read === 'too_large') return refuseTooLarge(res, reply, route, limit);
  batch.end();
  if (batch.results.length === batch.blank) {
    return reply(res, route, 400, { error: 'empty body: no lines to ingest' });
  }

  for (const result of batch.results) s.recorder.line(result);
  const summary = batch.summary();
  s.log.debug('lines pushed', {
    accepted: summary.accepted,
    rejected: summary.rejected,
    skipped: summary.skipped,
  });
  reply(res, route, summary.status === 'rejected' ? 400 : 200, summary);
}

/** Why a pushed field was not kept. */
export type IgnoreReason = 'not_number' | 'bad_name' | 'over_limit';

/** The answer to `POST /data`. */
export interface DataSummary {
  source: string;
  accepted: number;
  ignored: number;
  /** The fields not kept and why, up to the error limit. */
  ignored_fields: Array<{ field: string; reason: IgnoreReason }>;
}

/** A refusal of a whole /data body, before any value is kept. */
class DataError extends Error {}

function parseDataBody(text: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new DataError('body is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new DataError('body must be a JSON object of fields');
  }
  for (const [key, value] of Object.entries(body)) {
    if (value !== null && typeof value === 'object') {
      const kind = Array.isArray(value) ? 'a list' : 'an object';
      throw new DataError(
        `field "${key}" holds ${kind}; /data takes a flat object of numbers`,
      );
    }
  }
  return body as Record<string, unknown>;
}

/** The source from the body's `source` field, else the query string. */
function dataSource(body: Record<string, unknown>, req: Request): string {
  const raw = body.source ?? req.query.source;
  if (raw === undefined) {
    throw new DataError('no source: give a "source" field or ?source=');
  }
  if (typeof raw !== 'string' || !SOURCE_NAME.test(raw)) {
    const shown = JSON.stringify(
      typeof raw === 'string' ? raw.slice(0, 80) : raw,
    );
    throw new DataError(
      `source must be 1-64 letters, digits, "_", ".", ":" or "-", got ${shown}`,
    );
  }
  return raw;
}

/** Gauges from /data, with a cap on how many distinct ones there are. */
class PushedValues {
  private readonly known = new Set<string>();
  private readonly value;
  private readonly ignored;
  private readonly last;
  private warned = false;

  constructor(
    store: MetricStore,
    private readonly s: Settings,
  ) {
    this.value = store.gauge(ingestMetrics.pushedValue);
    this.ignored = store.counter(ingestMetrics.pushedIgnored);
    this.last = store.gauge(ingestMetrics.pushedLast);
    for (const reason of ['not_number', 'bad_name', 'over_limit']) {
      this.ignored.labels(reason);
    }
  }

  apply(source: string, body: Record<string, unknown>): DataSummary {
    const summary: DataSummary = {
      source,
      accepted: 0,
      ignored: 0,
      ignored_fields: [],
    };
    for (const [field, value] of Object.entries(body)) {
      if (field === 'source') continue;
      const reason = this.keep(source, field, value);
      if (reason === undefined) {
        summary.accepted++;
        continue;
      }
      this.ignored.labels(reason).inc();
      summary.ignored++;
      if (summary.ignored_fields.length < this.s.maxErrors) {
        summary.ignored_fields.push({ field: field.slice(0, 80), reason });
      }
    }
    if (summary.accepted > 0) this.last.labels(source).set(this.s.now() / 1000);
    return summary;
  }

  /** Sets the gauge, or says why not. */
  private keep(
    source: string,
    field: string,
    value: unknown,
  ): IgnoreReason | undefined {
    if (!FIELD_NAME.test(field)) return 'bad_name';
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return 'not_number';
    }
    const key = `${source}\u0000${field}`;
    if (!this.known.has(key)) {
      if (this.known.size >= this.s.maxPushedSeries) {
        this.warnFull();
        return 'over_limit';
      }
      this.known.add(key);
    }
    this.value.labels(source, field).set(value);
    return undefined;
  }

  private warnFull(): void {
    if (this.warned) return;
    this.warned = true;
    this.s.log.warn('pushed value limit reached; new fields are ignored', {
      limit: this.s.maxPushedSeries,
    });
  }
}

async function pushData(
  req: Request,
  res: Response,
  s: Settings,
  reply: Reply,
  values: PushedValues,
): Promise<void> {
  const route = '/data';
  const limit = s.maxBodyBytes;
  const refusal = refuseUpfront(req, ['application/json'], limit);
  if (refusal?.status === 413) return refuseTooLarge(res, reply, route, limit);
  if (refusal) {
    return reply(res, route, refusal.status, { error: refusal.error });
  }

  const chunks: Buffer[] = [];
  const read = await streamBody(req, limit, (c) => chunks.push(c));
  if (read === 'too_large') return refuseTooLarge(res, reply, route, limit);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    return reply(res, route, 400, { error: 'empty body' });
  }

  let summary: DataSummary;
  try {
    const body = parseDataBody(text);
    summary = values.apply(dataSource(body, req), body);
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    return reply(res, route, 400, { error: err.message });
  }
  s.log.debug('values pushed', {
    source: summary.source,
    accepted: summary.accepted,
    ignored: summary.ignored,
  });
  reply(res, route, 200, summary);
}

/**
 * The push endpoints as an express Router, to mount on the exporter's
 * app. Counts go to the same recorder and store as tailed lines. Throws
 * only for bad options.
 */
export function ingestRouter(options: IngestRouterOptions): Router {
  const s = resolveOptions(options);
  const reply = replier(s.store);
  const values = new PushedValues(s.store, s);
  const router = Router();

  const guarded =
    (route: string, handle: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        await handle(req, res);
      } catch (err) {
        // A client that went away mid-body cannot be answered; any other
        // fault is ours.
        s.log.warn('push request failed', { route, err: errText(err) });
        if (!res.headersSent && !req.destroyed) {
          reply(res, route, 500, { error: 'internal error' });
        }
      }
    };

  router.post(
    '/ingest',
    guarded('/ingest', (req, res) => ingestLines(req, res, s, reply)),
  );
  router.post(
    '/data',
    guarded('/data', (req, res) => pushData(req, res, s, reply, values)),
  );
  // Both take only POST; say so rather than answer "not found".
  router.all(['/ingest', '/data'], (_req: Request, res: Response) => {
    res.status(405).set('Allow', 'POST').json({ error: 'use POST' });
  });
  return router;
}
