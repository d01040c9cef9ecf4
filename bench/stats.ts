/**
 * Small statistics for benchmark figures: a figure repeated several times
 * is reported as its median and its spread, and sample sets as percentiles.
 */

/** One figure over its repetitions. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Every repetition, in the order measured. */
  runs: number[];
}

/** The value at quantile `q` (0..1) of `values`, by nearest rank. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Median, minimum and maximum of the repetitions of one figure. */
export function spread(runs: readonly number[]): Spread {
  if (runs.length === 0) throw new Error('spread of no runs');
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? sorted[mid]!
      : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, runs: [...runs] };
}

/** Runs `measure` `times` times in a row and collects each figure. */
export async function repeat<T>(
  times: number,
  measure: (run: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  for (let run = 0; run < times; run++) results.push(await measure(run));
  return results;
}

/** The spread of one numeric field over a list of results. */
export function spreadOf<T>(
  results: readonly T[],
  pick: (r: T) => number,
): Spread {
  return spread(results.map(pick));
}
