/**
 * Quantiles from histogram buckets, estimated the way PromQL's
 * `histogram_quantile` does, so that the status page and a Prometheus
 * query over the same increases agree.
 */

/** One cumulative bucket: observations at or below `upperBound`. */
export interface CumulativeBucket {
  upperBound: number;
  cumulativeCount: number;
}

/**
 * The q-quantile of cumulative buckets sorted by bound, the last being
 * +Inf. Within a bucket, observations are taken as spread evenly; the first
 * bucket starts at 0 when its bound is positive. A quantile in the +Inf
 * bucket is the highest finite bound, since nothing is known above it.
 * NaN when there are no observations or no +Inf bucket; -Inf or +Inf for q
 * below 0 or above 1, as PromQL answers.
 */
export function histogramQuantile(
  q: number,
  buckets: readonly CumulativeBucket[],
): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const last = buckets.length - 1;
  if (last < 1 || buckets[last]!.upperBound !== Infinity) return NaN;

  const counts = monotonic(buckets.map((b) => b.cumulativeCount));
  const observations = counts[last]!;
  if (!(observations > 0)) return NaN;

  const rank = q * observations;
  let b = 0;
  while (b < last && counts[b]! < rank) b++;
  if (b === last) return buckets[last - 1]!.upperBound;
  if (b === 0 && buckets[0]!.upperBound <= 0) return buckets[0]!.upperBound;

  const start = b === 0 ? 0 : buckets[b - 1]!.upperBound;
  const end = buckets[b]!.upperBound;
  const below = b === 0 ? 0 : counts[b - 1]!;
  const inBucket = counts[b]! - below;
  // Only q = 0 over an empty first bucket lands here with nothing in it.
  if (inBucket <= 0) return start;
  return start + (end - start) * ((rank - below) / inBucket);
}

/**
 * Cumulative counts can dip when buckets are read while being written;
 * PromQL raises each to its predecessor, and so does this.
 */
function monotonic(counts: number[]): number[] {
  for (let i = 1; i < counts.length; i++) {
    if (counts[i]! < counts[i - 1]!) counts[i] = counts[i - 1]!;
  }
  return counts;
}

/**
 * Cumulative buckets from per-bucket counts as the metric store keeps
 * them: one count per finite bound, then the +Inf bucket's own count.
 */
export function cumulativeBuckets(
  bounds: readonly number[],
  perBucket: readonly number[],
): CumulativeBucket[] {
  const out: CumulativeBucket[] = [];
  let running = 0;
  for (let i = 0; i <= bounds.length; i++) {
    running += perBucket[i] ?? 0;
    out.push({ upperBound: bounds[i] ?? Infinity, cumulativeCount: running });
  }
  return out;
}
