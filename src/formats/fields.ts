/**
 * Reading typed values out of parsed log objects by dotted path, with the
 * conversions the field mapping allows (time units, latency units).
 */
import type { FieldMapping } from '../config/schema.js';

/** A dotted path split once, so each line costs only property reads. */
export type Path = readonly string[];

export function compilePath(path: string): Path {
  return path === '' ? [] : path.split('.');
}

export function readPath(obj: unknown, path: Path): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return path.length === 0 ? undefined : cur;
}

/** Milliseconds from 1e11 on: below it a number is read as seconds. */
const EPOCH_MS_THRESHOLD = 1e11;

/** Event time in epoch milliseconds, or NaN when it cannot be read. */
export function toEpochMillis(
  value: unknown,
  unit: FieldMapping['timeUnit'],
): number {
  return dateMillis(rawEpochMillis(value, unit));
}

/** The largest distance from the epoch a JavaScript date can hold. */
const MAX_DATE_MILLIS = 8.64e15;

/** `ms` when a date can hold it, NaN for overflow and the like. */
export function dateMillis(ms: number): number {
  return Math.abs(ms) <= MAX_DATE_MILLIS ? ms : NaN;
}

function rawEpochMillis(
  value: unknown,
  unit: FieldMapping['timeUnit'],
): number {
  if (typeof value === 'string') {
    if (unit === 's' || unit === 'ms') {
      const n = Number(value);
      return unit === 's' ? n * 1000 : n;
    }
    return isoMillis(value);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return NaN;
  if (unit === 'iso') return NaN;
  if (unit === 's') return value * 1000;
  if (unit === 'ms') return value;
  return value < EPOCH_MS_THRESHOLD ? value * 1000 : value;
}

const DASH = 0x2d;
const DOT = 0x2e;
const COLON = 0x3a;
const T = 0x54;
const Z = 0x5a;

/** The number in `text[start, start + count)` if all digits, else -1. */
function digits(text: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function daysInMonth(year: number, month: number): number {
  if (month === 4 || month === 6 || month === 9 || month === 11) return 30;
  if (month !== 2) return 31;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return leap ? 29 : 28;
}

/**
 * `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ` with every field in
 * range, the form most loggers write, read without Date.parse, which costs
 * several times more per line. Anything else, even valid ISO 8601, is left
 * to Date.parse (undefined), so the result always equals Date.parse's.
 */
export function parseIsoUtc(text: string): number | undefined {
  const length = text.length;
  if (length !== 20 && length !== 24) return undefined;
  const at = (i: number): number => text.charCodeAt(i);
  if (at(length - 1) !== Z || at(10) !== T) return undefined;
  if (at(4) !== DASH || at(7) !== DASH) return undefined;
  if (at(13) !== COLON || at(16) !== COLON) return undefined;
  if (length === 24 && at(19) !== DOT) return undefined;

  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const millis = length === 24 ? digits(text, 20, 3) : 0;
  // Date.UTC reads years below 100 as 19xx, so those go to Date.parse.
  if (year < 100 || month < 1 || month > 12 || millis < 0) return undefined;
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
  if (second < 0 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis);
}

/** The last UTC time read by parseIsoUtc; lines of one burst share it. */
let lastIsoText = '';
let lastIsoMillis = NaN;

function isoMillis(text: string): number {
  if (text === lastIsoText) return lastIsoMillis;
  const millis = parseIsoUtc(text);
  if (millis === undefined) return Date.parse(text);
  lastIsoText = text;
  lastIsoMillis = millis;
  return millis;
}

const LATENCY_SCALE: Record<FieldMapping['latencyUnit'], number> = {
  s: 1,
  ms: 1e-3,
  us: 1e-6,
};

/** Latency in seconds; NaN for a value that is not a non-negative number. */
export function toSeconds(
  value: unknown,
  unit: FieldMapping['latencyUnit'],
): number {
  const n = typeof value === 'string' && value !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return NaN;
  return n * LATENCY_SCALE[unit];
}

/** A label-like string from a string or number; undefined otherwise. */
export function toLabel(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
