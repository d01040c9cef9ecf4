/**
 * Timestamps as model servers and proxies print them: log4j's ISO 8601
 * with a comma before the milliseconds, RFC 3339 with nanoseconds, or epoch
 * numbers. Kept to whole seconds plus nanoseconds so that two close
 * instants can be subtracted without losing the digits past a millisecond.
 */
import { dateMillis } from './fields.js';

/** A point in time: whole epoch seconds and the nanoseconds past them. */
export interface Instant {
  seconds: number;
  nanos: number;
}

const LOG_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

/** Minutes east of UTC from `Z`, `+02:00` or `-0530`. */
function zoneMinutes(zone: string): number {
  if (zone === 'Z') return 0;
  const digits = zone.replace(':', '');
  const minutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5));
  return digits.startsWith('-') ? -minutes : minutes;
}

/**
 * Reads `2018-10-15 13:56:18,976`, `2021-04-10T00:23:26.080736102Z` and the
 * like. A time without a zone is taken as `utcOffsetMinutes` east of UTC,
 * because log4j and nginx print the server's local time without one.
 */
export function parseInstant(
  text: string,
  utcOffsetMinutes = 0,
): Instant | undefined {
  const m = LOG_TIME.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m
    .slice(1, 7)
    .map(Number) as [number, number, number, number, number, number];
  const utcMs = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(utcMs);
  const sameFields =
    check.getUTCFullYear() === year &&
    check.getUTCMonth() === month - 1 &&
    check.getUTCDate() === day &&
    check.getUTCHours() === hour &&
    check.getUTCMinutes() === minute;
  if (!sameFields || second > 59) return undefined;

  const offset = m[8] === undefined ? utcOffsetMinutes : zoneMinutes(m[8]);
  const nanos = m[7] === undefined ? 0 : Number(m[7].padEnd(9, '0'));
  return { seconds: utcMs / 1000 - offset * 60, nanos };
}

/** Epoch milliseconds of an instant, sub-millisecond digits dropped. */
export function instantMillis(instant: Instant): number {
  return instant.seconds * 1000 + Math.floor(instant.nanos / 1e6);
}

/** `later - earlier` in seconds, exact to the nanosecond digits given. */
export function secondsBetween(earlier: Instant, later: Instant): number {
  // Whole nanoseconds stay exact up to about 104 days apart, so the one
  // rounding left is the final division.
  const nanos =
    (later.seconds - earlier.seconds) * 1e9 + (later.nanos - earlier.nanos);
  return nanos / 1e9;
}

/** Milliseconds from 1e11 on: below it an epoch number is read as seconds. */
const EPOCH_MS_THRESHOLD = 1e11;

/**
 * Epoch milliseconds from a log value: a timestamp text as above, or an
 * epoch number (or numeric text such as nginx's `$msec`) in seconds or
 * milliseconds by size. NaN when it cannot be read.
 */
export function logTimeMillis(value: unknown, utcOffsetMinutes = 0): number {
  const numeric =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+(?:\.\d+)?$/.test(value)
        ? Number(value)
        : undefined;
  if (numeric !== undefined) {
    if (!Number.isFinite(numeric)) return NaN;
    return dateMillis(numeric < EPOCH_MS_THRESHOLD ? numeric * 1000 : numeric);
  }
  if (typeof value !== 'string') return NaN;
  const instant = parseInstant(value, utcOffsetMinutes);
  return instant === undefined ? NaN : dateMillis(instantMillis(instant));
}
