/**
 * What a benchmark test at scale `tiny` checks of its figures: there, finite and positive (speed is
 * `npm run bench`'s business, never a test's).
 */
import type { Metric } from '../../bench/lib/report.js';

/** The figures that are missing, not finite or not positive, named. */
export function badFigures(metrics: readonly Metric[]): string[] {
  return metrics.flatMap((m) =>
    [m.median, m.p99Worst, m.baseline?.ratio ?? 1, ...m.samples]
      .filter((v) => !(Number.isFinite(v) && v > 0))
      .map((v) => `${m.workload} / ${m.name}: ${v}`),
  );
}
