/**
 * Ranking arithmetic: the discount of a position and the quality ratios.
 * Pure functions, shared by the join, the window gauges and the tests.
 */

/** Gain of a hit at a 1-based rank: 1 / log2(rank + 1). */
export function discount(rank: number): number {
  return 1 / Math.log2(rank + 1);
}

/** A ratio that is 0, not NaN, when nothing was counted. */
export function ratio(numerator: number, denominator: number): number {
  return denominator > 0 ? numerator / denominator : 0;
}

/** Harmonic mean of precision and recall, 0 when both are 0. */
export function f1(precision: number, recall: number): number {
  const sum = precision + recall;
  return sum > 0 ? (2 * precision * recall) / sum : 0;
}
