/**
 * What any parser must answer for any line: an event that holds together,
 * or a skip or a rejection with a reason from the documented set.
 */
import { expect } from 'vitest';
import { FEEDBACK_ACTIONS } from '../../src/formats/events.js';
import type { LineResult, ModelEvent } from '../../src/formats/events.js';
import { MAX_LABEL_LENGTH } from '../../src/formats/jsonl.js';

/** The reasons docs/log-format.md lists, and the two kinds of skipped line. */
export const REJECT_REASONS = [
  'not_json',
  'not_object',
  'missing_field',
  'bad_type',
  'bad_value',
  'bad_time',
  'too_long',
  'unknown_kind',
];
export const SKIP_REASONS = ['blank', 'other_type'];

/** Fails the property unless `result` is one of the documented shapes. */
export function checkResult(result: LineResult, fieldNames?: Set<string>) {
  if (result.ok) return checkEvent(result.event);
  if (result.skipped) {
    expect(SKIP_REASONS).toContain(result.reason);
    return;
  }
  expect(REJECT_REASONS).toContain(result.reason);
  if (result.field !== undefined && fieldNames) {
    expect(fieldNames).toContain(result.field);
  }
}

function isLabel(value: string): boolean {
  return value !== '' && value.length <= MAX_LABEL_LENGTH;
}

/** What any accepted event must hold, whatever its line looked like. */
export function checkEvent(event: ModelEvent): void {
  expect(Number.isFinite(event.timeMs)).toBe(true);
  if (event.requestId !== undefined) expect(event.requestId).not.toBe('');
  if (event.kind === 'feedback') {
    expect(FEEDBACK_ACTIONS).toContain(event.action);
    expect(event.itemId).not.toBe('');
    expect(event.requestId ?? event.userKey).toBeTruthy();
    return;
  }
  for (const label of [
    event.model,
    event.version,
    event.scene,
    event.outcome,
  ]) {
    expect(isLabel(label)).toBe(true);
  }
  if (event.latencySeconds !== undefined) {
    expect(event.latencySeconds).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(event.latencySeconds)).toBe(true);
  }
  expect(event.items.every((id) => typeof id === 'string')).toBe(true);
}
