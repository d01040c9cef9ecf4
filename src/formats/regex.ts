/**
 * Any line format, described by a regular expression whose named groups
 * say which part of the line is which field. Fields without a group are
 * absent (or the source's default label), exactly as in the JSON format.
 */
import type { FieldMapping, SourceConfig } from '../config/schema.js';
import type { FeedbackEvent, InferenceEvent, LineResult } from './events.js';
import {
  compilePattern,
  durationSeconds,
  groupNames,
  malformed,
  outcomeOfStatus,
  skipped,
  statusCode,
} from './http.js';
import { ACTION_SYNONYMS, MAX_LABEL_LENGTH } from './jsonl.js';
import { logTimeMillis, parseInstant } from './log-time.js';

/** The group names a pattern may use. */
export const REGEX_GROUPS = [
  'time',
  'model',
  'version',
  'scene',
  'latency',
  'status',
  'outcome',
  'request_id',
  'user',
  'items',
  'item',
  'action',
  'kind',
] as const;

export interface RegexOptions {
  /** The pattern, with named groups from `REGEX_GROUPS`. */
  pattern: string;
  /** What the lines hold; `auto` reads the `kind` group, else guesses. */
  type: SourceConfig['type'];
  defaults: SourceConfig['defaults'];
  /** How the `time` group is read. */
  timeUnit: FieldMapping['timeUnit'];
  /** The unit of the `latency` group. */
  latencyUnit: FieldMapping['latencyUnit'];
  /** Minutes east of UTC for times without a zone. */
  utcOffsetMinutes?: number;
}

type Groups = Record<string, string | undefined>;

/** Checks the pattern's groups against what the source needs. */
function checkGroups(
  pattern: string,
  names: Set<string>,
  options: RegexOptions,
): void {
  const known = new Set<string>(REGEX_GROUPS);
  for (const name of names) {
    if (!known.has(name)) {
      throw new Error(
        `pattern: unknown group (?<${name}>) in "${pattern}"; known groups: ${REGEX_GROUPS.join(', ')}`,
      );
    }
  }
  const needsModel =
    options.type !== 'feedback' && options.defaults.model === '';
  if (needsModel && !names.has('model')) {
    throw new Error(
      `pattern: "${pattern}" has no (?<model>) group and the source has no default model`,
    );
  }
  if (
    options.type === 'feedback' &&
    !(names.has('item') && names.has('action'))
  ) {
    throw new Error(
      `pattern: "${pattern}" needs (?<item>) and (?<action>) groups for feedback`,
    );
  }
}

export class RegexLineParser {
  private readonly pattern: RegExp;

  constructor(private readonly options: RegexOptions) {
    this.pattern = compilePattern(options.pattern, 'pattern');
    checkGroups(options.pattern, groupNames(this.pattern), options);
  }

  parse(line: string, nowMs: number): LineResult {
    if (line.trim() === '') return skipped('blank');
    const groups = this.pattern.exec(line)?.groups;
    if (!groups) return skipped('no_match');

    const kind = this.kindOf(groups);
    if (kind === 'other') return skipped('other_type');
    const timeMs = this.timeOf(groups.time, nowMs);
    if (Number.isNaN(timeMs)) return malformed('bad_time', 'time');
    return kind === 'inference'
      ? this.inference(groups, timeMs)
      : this.feedback(groups, timeMs);
  }

  private kindOf(groups: Groups): 'inference' | 'feedback' | 'other' {
    if (this.options.type !== 'auto') return this.options.type;
    const declared = groups.kind?.toLowerCase();
    if (declared === 'inference' || declared === 'feedback') return declared;
    if (declared) return 'other';
    return groups.action ? 'feedback' : 'inference';
  }

  private timeOf(raw: string | undefined, nowMs: number): number {
    if (!raw) return nowMs;
    const { timeUnit, utcOffsetMinutes } = this.options;
    if (timeUnit === 's' || timeUnit === 'ms') {
      const n = /^\d+(?:\.\d+)?$/.test(raw) ? Number(raw) : NaN;
      const ms = timeUnit === 's' ? n * 1000 : n;
      // A run of digits long enough reads as Infinity: no instant.
      return Number.isFinite(ms) ? ms : NaN;
    }
    if (timeUnit === 'iso' && parseInstant(raw) === undefined) return NaN;
    return logTimeMillis(raw, utcOffsetMinutes);
  }

  private inference(groups: Groups, timeMs: number): LineResult {
    const d = this.options.defaults;
    const labels = {
      model: groups.model || d.model,
      version: groups.version || d.version,
      scene: groups.scene || d.scene,
      outcome: groups.outcome || d.outcome,
    };
    if (!groups.outcome && groups.status) {
      const code = statusCode(groups.status);
      labels.outcome = Number.isNaN(code)
        ? groups.status
        : outcomeOfStatus(code);
    }
    for (const name of ['model', 'version', 'scene', 'outcome'] as const) {
      if (labels[name] === '') return malformed('missing_field', name);
      if (labels[name].length > MAX_LABEL_LENGTH)
        return malformed('bad_value', name);
    }

    const event: InferenceEvent = {
      kind: 'inference',
      timeMs,
      ...labels,
      items: [],
    };
    if (groups.latency) {
      const seconds = durationSeconds(groups.latency, this.options.latencyUnit);
      if (Number.isNaN(seconds)) return malformed('bad_value', 'latency');
      event.latencySeconds = seconds;
    }
    if (groups.items) {
      event.items = groups.items
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id !== '');
    }
    if (groups.request_id) event.requestId = groups.request_id;
    if (groups.user) event.userKey = groups.user;
    return { ok: true, event };
  }

  private feedback(groups: Groups, timeMs: number): LineResult {
    if (!groups.action) return malformed('missing_field', 'action');
    const word = groups.action.toLowerCase();
    const action = Object.hasOwn(ACTION_SYNONYMS, word)
      ? ACTION_SYNONYMS[word]
      : undefined;
    if (action === undefined) return malformed('bad_value', 'action');
    if (!groups.item) return malformed('missing_field', 'item');

    const event: FeedbackEvent = {
      kind: 'feedback',
      timeMs,
      itemId: groups.item,
      action,
    };
    if (groups.request_id) event.requestId = groups.request_id;
    if (groups.user) event.userKey = groups.user;
    if (!event.requestId && !event.userKey)
      return malformed('missing_field', 'user');
    return { ok: true, event };
  }
}
