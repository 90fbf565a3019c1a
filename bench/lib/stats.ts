/**
 * Order statistics for benchmark samples: the median, and the 99th percentile on the side that
 * hurts (the slowest 1% of a time, the lowest 1% of a rate).
 *
 * Percentiles interpolate linearly between the two nearest ranks (numpy's default), so a handful
 * of samples still gives a stable figure; with one sample every percentile is that sample.
 */

/** Whether a larger figure is better (a rate) or worse (a time, a size). */
export type Better = 'higher' | 'lower';

/** The `p`-th percentile (0 to 100) of `samples`, which need not be sorted. */
export function percentile(samples: readonly number[], p: number): number {
  return percentileOfSorted(sortedCopy(samples), p);
}

/** The samples in ascending order (a typed array sorts numerically, and fast). */
export function sortedCopy(samples: readonly number[]): number[] {
  return Array.from(Float64Array.from(samples).sort());
}

/** The `p`-th percentile (0 to 100) of samples sorted in ascending order. */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be from 0 to 100, got ${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (rank - below);
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** The 99th percentile in the bad direction: p99 of a time, p1 of a rate. */
export function worstP99(samples: readonly number[], better: Better): number {
  return percentile(samples, better === 'lower' ? 99 : 1);
}
