/**
 * The two kinds of event every input format is turned into. Formats parse,
 * the attribution join and the metrics recorder consume; nothing here knows
 * where a line came from.
 */

/** One answer a model server gave: a ranked list for a user in a scene. */
export interface InferenceEvent {
  kind: 'inference';
  /** Event time, milliseconds since the Unix epoch. */
  timeMs: number;
  /** Request id, when the server logs one; joins feedback exactly. */
  requestId?: string;
  model: string;
  version: string;
  /** Where the list was shown, such as `search` or `recommend`. */
  scene: string;
  /** Server-side latency in seconds, absent when the log has none. */
  latencySeconds?: number;
  /** `ok`, `error`, `timeout`, `empty` or another short word from the log. */
  outcome: string;
  /** Returned item ids, best first. */
  items: string[];
  /** Opaque user or session key. Never exported, never logged raw. */
  userKey?: string;
}

/** What the user then did with an item. */
export const FEEDBACK_ACTIONS = ['click', 'cart', 'purchase'] as const;
export type FeedbackAction = (typeof FEEDBACK_ACTIONS)[number];

export interface FeedbackEvent {
  kind: 'feedback';
  timeMs: number;
  requestId?: string;
  userKey?: string;
  itemId: string;
  action: FeedbackAction;
}

export type ModelEvent = InferenceEvent | FeedbackEvent;

/** Why a line did not become an event. Short, fixed words: a label value. */
export type RejectReason =
  | 'not_json'
  | 'not_object'
  | 'missing_field'
  | 'bad_type'
  | 'bad_value'
  | 'bad_time'
  | 'too_long'
  | 'unknown_kind';

export type LineResult =
  | { ok: true; event: ModelEvent }
  | { ok: false; skipped: true; reason: string }
  | { ok: false; skipped: false; reason: RejectReason; field?: string };
