/**
 * The native format: one JSON object per line, inference or feedback, with
 * field names taken from the source's field mapping.
 */
import type { SourceConfig } from '../config/schema.js';
import {
  FEEDBACK_ACTIONS,
  type FeedbackAction,
  type FeedbackEvent,
  type InferenceEvent,
  type LineResult,
} from './events.js';
import {
  compilePath,
  readPath,
  toEpochMillis,
  toLabel,
  toSeconds,
  type Path,
} from './fields.js';

/** Longest model, version, scene or outcome value kept as a label. */
export const MAX_LABEL_LENGTH = 128;

/** Longest latency accepted, in seconds. */
export const MAX_LATENCY_SECONDS = 86_400;

/** Action words other systems use, folded onto ours. */
export const ACTION_SYNONYMS: Record<string, FeedbackAction> = {
  click: 'click',
  clicked: 'click',
  view: 'click',
  cart: 'cart',
  add_to_cart: 'cart',
  addtocart: 'cart',
  purchase: 'purchase',
  buy: 'purchase',
  order: 'purchase',
  checkout: 'purchase',
};

interface CompiledPaths {
  type: Path;
  time: Path;
  requestId: Path;
  model: Path;
  version: Path;
  scene: Path;
  latency: Path;
  outcome: Path;
  items: Path;
  user: Path;
  item: Path;
  action: Path;
}

type Fail = Extract<LineResult, { ok: false }>;

function malformed(
  reason: Extract<Fail, { skipped: false }>['reason'],
  field?: string,
): Fail {
  return { ok: false, skipped: false, reason, field };
}

/** A parser for one source: compile the mapping once, then parse lines. */
export class JsonLineParser {
  private readonly paths: CompiledPaths;

  constructor(private readonly source: SourceConfig) {
    const f = source.fields;
    this.paths = {
      type: compilePath(f.type),
      time: compilePath(f.time),
      requestId: compilePath(f.requestId),
      model: compilePath(f.model),
      version: compilePath(f.version),
      scene: compilePath(f.scene),
      latency: compilePath(f.latency),
      outcome: compilePath(f.outcome),
      items: compilePath(f.items),
      user: compilePath(f.user),
      item: compilePath(f.item),
      action: compilePath(f.action),
    };
  }

  /** Parses one line. `nowMs` is used when a line carries no time. */
  parse(line: string, nowMs: number): LineResult {
    // A line opening with a brace cannot be blank: the trim is skipped.
    const blank = line.charCodeAt(0) !== 0x7b && line.trim() === '';
    if (blank) return { ok: false, skipped: true, reason: 'blank' };
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      return malformed('not_json');
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      return malformed('not_object');
    }

    const kind = this.kindOf(obj);
    if (kind === 'other')
      return { ok: false, skipped: true, reason: 'other_type' };
    if (kind === 'unknown')
      return malformed('unknown_kind', this.source.fields.type);

    const timeMs = this.timeOf(obj, nowMs);
    // "Infinity" or "1e400" in seconds is a number, but no instant.
    if (!Number.isFinite(timeMs))
      return malformed('bad_time', this.source.fields.time);

    return kind === 'inference'
      ? this.inference(obj, timeMs)
      : this.feedback(obj, timeMs);
  }

  private kindOf(obj: object): 'inference' | 'feedback' | 'other' | 'unknown' {
    if (this.source.type !== 'auto') return this.source.type;
    const declared = readPath(obj, this.paths.type);
    if (declared === 'inference' || declared === 'feedback') return declared;
    if (declared !== undefined) return 'other';
    if (readPath(obj, this.paths.action) !== undefined) return 'feedback';
    if (readPath(obj, this.paths.items) !== undefined) return 'inference';
    if (readPath(obj, this.paths.model) !== undefined) return 'inference';
    return 'unknown';
  }

  private timeOf(obj: object, nowMs: number): number {
    const raw = readPath(obj, this.paths.time);
    if (raw === undefined || raw === null) return nowMs;
    return toEpochMillis(raw, this.source.fields.timeUnit);
  }

  private inference(obj: object, timeMs: number): LineResult {
    const f = this.source.fields;
    const d = this.source.defaults;
    const labels: Record<'model' | 'version' | 'scene' | 'outcome', string> = {
      model: d.model,
      version: d.version,
      scene: d.scene,
      outcome: d.outcome,
    };
    for (const name of ['model', 'version', 'scene', 'outcome'] as const) {
      const raw = readPath(obj, this.paths[name]);
      if (raw === undefined || raw === null) {
        if (labels[name] === '') return malformed('missing_field', f[name]);
        continue;
      }
      const value = toLabel(raw);
      if (value === undefined) return malformed('bad_type', f[name]);
      if (value === '' || value.length > MAX_LABEL_LENGTH) {
        return malformed('bad_value', f[name]);
      }
      labels[name] = value;
    }

    const event: InferenceEvent = {
      kind: 'inference',
      timeMs,
      model: labels.model,
      version: labels.version,
      scene: labels.scene,
      outcome: labels.outcome,
      items: [],
    };

    const rawLatency = readPath(obj, this.paths.latency);
    if (rawLatency !== undefined && rawLatency !== null) {
      const seconds = toSeconds(rawLatency, f.latencyUnit);
      if (Number.isNaN(seconds)) {
        const numeric =
          typeof rawLatency === 'number' ||
          (typeof rawLatency === 'string' &&
            rawLatency.trim() !== '' &&
            !Number.isNaN(Number(rawLatency)));
        return malformed(numeric ? 'bad_value' : 'bad_type', f.latency);
      }
      // A latency beyond a day is a unit mistake or garbage; one such value
      // would dwarf every other in the histogram's sum for good.
      if (seconds > MAX_LATENCY_SECONDS)
        return malformed('bad_value', f.latency);
      event.latencySeconds = seconds;
    }

    const items = this.itemsOf(readPath(obj, this.paths.items));
    if (items === undefined) return malformed('bad_type', f.items);
    event.items = items;

    const requestId = toLabel(readPath(obj, this.paths.requestId));
    if (requestId) event.requestId = requestId;
    const userKey = toLabel(readPath(obj, this.paths.user));
    if (userKey) event.userKey = userKey;
    return { ok: true, event };
  }

  /** Items as an array of ids, objects with an id key, or a comma list. */
  private itemsOf(raw: unknown): string[] | undefined {
    if (raw === undefined || raw === null) return [];
    if (typeof raw === 'string') return raw === '' ? [] : raw.split(',');
    if (!Array.isArray(raw)) return undefined;
    const out: string[] = [];
    for (const entry of raw) {
      const id =
        entry !== null && typeof entry === 'object'
          ? toLabel(
              (entry as Record<string, unknown>)[this.source.fields.itemIdKey],
            )
          : toLabel(entry);
      if (id === undefined) return undefined;
      out.push(id);
    }
    return out;
  }

  private feedback(obj: object, timeMs: number): LineResult {
    const f = this.source.fields;
    const rawAction = readPath(obj, this.paths.action);
    if (rawAction === undefined || rawAction === null) {
      return malformed('missing_field', f.action);
    }
    if (typeof rawAction !== 'string') return malformed('bad_type', f.action);
    const action = ACTION_SYNONYMS[rawAction.toLowerCase()];
    if (action === undefined || !FEEDBACK_ACTIONS.includes(action)) {
      return malformed('bad_value', f.action);
    }

    const rawItem = readPath(obj, this.paths.item);
    if (rawItem === undefined || rawItem === null)
      return malformed('missing_field', f.item);
    const itemId = toLabel(rawItem);
    if (itemId === undefined || itemId === '')
      return malformed('bad_type', f.item);

    const event: FeedbackEvent = { kind: 'feedback', timeMs, itemId, action };
    const requestId = toLabel(readPath(obj, this.paths.requestId));
    if (requestId) event.requestId = requestId;
    const userKey = toLabel(readPath(obj, this.paths.user));
    if (userKey) event.userKey = userKey;
    if (!event.requestId && !event.userKey)
      return malformed('missing_field', f.user);
    return { ok: true, event };
  }
}
