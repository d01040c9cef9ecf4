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
export function toEpochMillis(value: unknown, unit: FieldMapping['timeUnit']): number {
  if (typeof value === 'string') {
    if (unit === 's' || unit === 'ms') {
      const n = Number(value);
      return unit === 's' ? n * 1000 : n;
    }
    return Date.parse(value);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return NaN;
  if (unit === 'iso') return NaN;
  if (unit === 's') return value * 1000;
  if (unit === 'ms') return value;
  return value < EPOCH_MS_THRESHOLD ? value * 1000 : value;
}

const LATENCY_SCALE: Record<FieldMapping['latencyUnit'], number> = {
  s: 1,
  ms: 1e-3,
  us: 1e-6,
};

/** Latency in seconds; NaN for a value that is not a non-negative number. */
export function toSeconds(value: unknown, unit: FieldMapping['latencyUnit']): number {
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
