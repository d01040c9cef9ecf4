import { describe, expect, it } from 'vitest';
import {
  cumulativeBuckets,
  histogramQuantile,
  type CumulativeBucket,
} from '../../src/server/histogram-quantile.js';

/** Cumulative buckets from [bound, count] pairs. */
function buckets(...pairs: Array<[number, number]>): CumulativeBucket[] {
  return pairs.map(([upperBound, cumulativeCount]) => ({
    upperBound,
    cumulativeCount,
  }));
}

// 2 observations <= 0.1, 4 in (0.1, 0.5], 2 in (0.5, 1], 2 above 1.
const TEN = buckets([0.1, 2], [0.5, 6], [1, 8], [Infinity, 10]);

describe('histogramQuantile', () => {
  it('interpolates linearly inside the bucket that holds the rank', () => {
    // rank 5: bucket (0.1, 0.5] holds ranks 3..6; 3 of its 4 -> 0.1 + 0.4 * 3/4.
    expect(histogramQuantile(0.5, TEN)).toBeCloseTo(0.4, 12);
    // rank 1: first bucket, from 0, 1 of its 2 -> 0.05.
    expect(histogramQuantile(0.1, TEN)).toBeCloseTo(0.05, 12);
    // rank 2 is the first bucket's last observation: its upper bound.
    expect(histogramQuantile(0.2, TEN)).toBeCloseTo(0.1, 12);
    // rank 8 fills (0.5, 1] exactly.
    expect(histogramQuantile(0.8, TEN)).toBeCloseTo(1, 12);
    // rank 7: 1 of the 2 in (0.5, 1] -> 0.75.
    expect(histogramQuantile(0.7, TEN)).toBeCloseTo(0.75, 12);
  });

  it('answers the highest finite bound for ranks in the +Inf bucket', () => {
    expect(histogramQuantile(0.81, TEN)).toBe(1);
    expect(histogramQuantile(0.99, TEN)).toBe(1);
    expect(histogramQuantile(1, TEN)).toBe(1);
  });

  it('gives the figures PromQL gives for its own test histograms', () => {
    const positive = buckets([0.1, 50], [0.2, 70], [1, 110], [Infinity, 120]);
    // rank 60 is 10 of the 20 in (0.1, 0.2].
    expect(histogramQuantile(0.5, positive)).toBeCloseTo(0.15, 12);
    // rank 30 is 30 of the 50 in [0, 0.1].
    expect(histogramQuantile(0.25, positive)).toBeCloseTo(0.06, 12);
    const negative = buckets([-0.2, 10], [-0.1, 20], [0.3, 20], [Infinity, 30]);
    // rank 15 is 5 of the 10 in (-0.2, -0.1].
    expect(histogramQuantile(0.5, negative)).toBeCloseTo(-0.15, 12);
    // rank 3 falls in a first bucket bounded at or below 0: its bound.
    expect(histogramQuantile(0.1, negative)).toBe(-0.2);
  });

  it('follows PromQL at the edges', () => {
    expect(histogramQuantile(-0.1, TEN)).toBe(-Infinity);
    expect(histogramQuantile(1.1, TEN)).toBe(Infinity);
    expect(histogramQuantile(NaN, TEN)).toBeNaN();
    expect(histogramQuantile(0.5, buckets([0.1, 0], [Infinity, 0]))).toBeNaN();
    expect(histogramQuantile(0.5, buckets([0.1, 1], [1, 2]))).toBeNaN();
    expect(histogramQuantile(0.5, buckets([Infinity, 4]))).toBeNaN();
    expect(histogramQuantile(0, TEN)).toBe(0);
    expect(
      histogramQuantile(0, buckets([0.1, 0], [0.5, 4], [Infinity, 4])),
    ).toBe(0);
  });

  it('raises a count that dips below the bucket before it', () => {
    const dipping = buckets([0.1, 2], [0.5, 1], [1, 8], [Infinity, 10]);
    // read as 2, 2, 8, 10: rank 5 is 3 of the 6 in (0.5, 1] -> 0.75.
    expect(histogramQuantile(0.5, dipping)).toBeCloseTo(0.75, 12);
  });
});

describe('cumulativeBuckets', () => {
  it('adds per-bucket counts up and closes with +Inf', () => {
    expect(cumulativeBuckets([0.1, 0.5], [2, 4, 1])).toEqual(
      buckets([0.1, 2], [0.5, 6], [Infinity, 7]),
    );
  });
});
