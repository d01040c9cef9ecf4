/**
 * KServe's inference logger. It posts each request and each response of
 * an InferenceService as a binary-mode CloudEvent: the body is the payload,
 * the attributes are `ce-*` headers (`ce-type`, `ce-id`, `ce-time`,
 * `ce-inferenceservicename`, `ce-endpoint`, `ce-component`, ...). The two
 * halves share `ce-id`; this module pairs them into one inference event.
 */
import express, {
  Router,
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import type { InferenceEvent, LineResult } from './events.js';
import { malformed, skipped, type LabelDefaults } from './http.js';
import { MAX_LABEL_LENGTH } from './jsonl.js';
import {
  instantMillis,
  parseInstant,
  secondsBetween,
  type Instant,
} from './log-time.js';

export const KSERVE_REQUEST_TYPE = 'org.kubeflow.serving.inference.request';
export const KSERVE_RESPONSE_TYPE = 'org.kubeflow.serving.inference.response';

export interface KServeOptions {
  defaults: LabelDefaults;
  /** Most request halves held while their response is awaited. */
  maxPending?: number;
  /** How long a request half waits for its response before it is dropped. */
  maxPendingSeconds?: number;
}

/** HTTP headers as Node gives them: lower-case names. */
export type CloudEventHeaders = Record<string, string | string[] | undefined>;

function header(headers: CloudEventHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/**
 * True when a response body is KServe's error shape, `{"error": "..."}`,
 * rather than predictions or outputs.
 */
function isErrorBody(body: string): boolean {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      return false;
    return (
      'error' in parsed && !('predictions' in parsed) && !('outputs' in parsed)
    );
  } catch {
    return false;
  }
}

interface Held {
  /** The half's `ce-time`, when it had one. */
  instant?: Instant;
  /** When it arrived here, for the age limit. */
  arrivedMs: number;
}

/**
 * Pairs request and response events by `ce-id` (and `ce-component`, since
 * a transformer and its predictor log under the same id). Every response
 * becomes one event; latency is the response's `ce-time` minus the
 * request's when the request came first and both carry a time. A request
 * arriving after its response is ignored. Both waiting lists are bounded:
 * past `maxPending` or `maxPendingSeconds` the oldest entries go, counted
 * in `evicted`.
 */
export class KServeEventParser {
  /** Entries dropped for age or size since start. */
  evicted = 0;
  private readonly requests = new Map<string, Held>();
  private readonly answered = new Map<string, Held>();
  private readonly maxPending: number;
  private readonly maxAgeMs: number;

  constructor(private readonly options: KServeOptions) {
    this.maxPending = options.maxPending ?? 10_000;
    this.maxAgeMs = (options.maxPendingSeconds ?? 60) * 1000;
    if (!Number.isInteger(this.maxPending) || this.maxPending < 1) {
      throw new Error(
        `max_pending: must be a whole number >= 1, got ${this.maxPending}`,
      );
    }
    if (!(this.maxAgeMs > 0)) {
      throw new Error(
        `max_pending_seconds: must be > 0, got ${options.maxPendingSeconds}`,
      );
    }
  }

  /** Request halves waiting for their response. */
  get pending(): number {
    return this.requests.size;
  }

  /** Reads one CloudEvent. `nowMs` stands in for a missing `ce-time`. */
  parseKServeEvent(
    headers: CloudEventHeaders,
    body: string | Buffer | undefined,
    nowMs: number,
  ): LineResult {
    const type = header(headers, 'ce-type');
    if (type === undefined) return malformed('missing_field', 'ce-type');
    if (type !== KSERVE_REQUEST_TYPE && type !== KSERVE_RESPONSE_TYPE) {
      return skipped('other_type');
    }
    const id = header(headers, 'ce-id');
    if (id === undefined) return malformed('missing_field', 'ce-id');
    const time = header(headers, 'ce-time');
    const instant = time === undefined ? undefined : parseInstant(time);
    if (time !== undefined && instant === undefined)
      return malformed('bad_time', 'ce-time');

    this.expire(nowMs);
    const key = `${id}\u0000${header(headers, 'ce-component') ?? ''}`;
    const held: Held = { instant, arrivedMs: nowMs };
    if (type === KSERVE_REQUEST_TYPE) {
      if (this.answered.delete(key)) return skipped('late_request');
      this.hold(this.requests, key, held);
      return skipped('awaiting_response');
    }

    const request = this.requests.get(key);
    this.requests.delete(key);
    if (!request) this.hold(this.answered, key, held);
    const text = body === undefined ? '' : body.toString();
    return this.event(headers, id, request, held, isErrorBody(text), nowMs);
  }

  private event(
    headers: CloudEventHeaders,
    id: string,
    request: Held | undefined,
    response: Held,
    failed: boolean,
    nowMs: number,
  ): LineResult {
    const d = this.options.defaults;
    const model = header(headers, 'ce-inferenceservicename') ?? d.model;
    if (model === '')
      return malformed('missing_field', 'ce-inferenceservicename');
    if (model.length > MAX_LABEL_LENGTH) {
      return malformed('bad_value', 'ce-inferenceservicename');
    }
    // The endpoint names the revision split (`default` or `canary`).
    const version = header(headers, 'ce-endpoint') ?? d.version;
    if (version.length > MAX_LABEL_LENGTH)
      return malformed('bad_value', 'ce-endpoint');

    const first = request?.instant ?? response.instant;
    const event: InferenceEvent = {
      kind: 'inference',
      timeMs: first ? instantMillis(first) : nowMs,
      requestId: id,
      model,
      version,
      scene: d.scene,
      outcome: failed ? 'error' : d.outcome,
      items: [],
    };
    if (request?.instant && response.instant) {
      const seconds = secondsBetween(request.instant, response.instant);
      if (seconds >= 0) event.latencySeconds = seconds;
    }
    return { ok: true, event };
  }

  private hold(list: Map<string, Held>, key: string, held: Held): void {
    list.delete(key);
    list.set(key, held);
    if (list.size > this.maxPending) {
      list.delete(list.keys().next().value!);
      this.evicted++;
    }
  }

  /** Drops entries older than the age limit; maps keep arrival order. */
  private expire(nowMs: number): void {
    for (const list of [this.requests, this.answered]) {
      for (const [key, held] of list) {
        if (nowMs - held.arrivedMs <= this.maxAgeMs) break;
        list.delete(key);
        this.evicted++;
      }
    }
  }
}

export function createKServeParser(options: KServeOptions): KServeEventParser {
  return new KServeEventParser(options);
}

export interface KServeRouterOptions extends KServeOptions {
  /** Largest event body accepted; larger ones get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Wall clock in milliseconds; tests pass their own. */
  now?: () => number;
}

/**
 * An express router taking KServe's logger posts on `POST /kserve`. Every
 * event's result goes to `onEvent`, as a tailed line's would. Answers 200
 * for events taken or skipped (KServe's logger treats anything else as a
 * failed send), 400 for malformed ones and 413 for oversized ones.
 */
export function kserveRouter(
  onEvent: (result: LineResult) => void,
  options: KServeRouterOptions,
): Router {
  const parser = new KServeEventParser(options);
  const now = options.now ?? Date.now;
  const router = Router();

  router.post(
    '/kserve',
    express.raw({
      type: () => true,
      limit: options.maxBodyBytes ?? 1024 * 1024,
    }),
    (req: Request, res: Response) => {
      const body = Buffer.isBuffer(req.body) ? req.body : undefined;
      const result = parser.parseKServeEvent(req.headers, body, now());
      onEvent(result);
      if (!result.ok && !result.skipped) {
        res
          .status(400)
          .type('text/plain')
          .send(`${result.reason} ${result.field ?? ''}\n`);
        return;
      }
      res.status(200).type('text/plain').send('ok\n');
    },
  );

  router.use(
    (err: unknown, _req: Request, res: Response, next: NextFunction) => {
      const type = (err as { type?: unknown } | null)?.type;
      if (type !== 'entity.too.large') return next(err);
      onEvent({ ok: false, skipped: false, reason: 'too_long' });
      res.status(413).type('text/plain').send('too_long\n');
    },
  );
  return router;
}
