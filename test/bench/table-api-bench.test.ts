/**
 * The table API benchmarks (issue 4) at scale `tiny`, so they keep working (STYLE 12): a few
 * thousand rows, a few milliseconds a figure. The workloads share one loaded database, in suite
 * order (the last removes it). Figures are only checked to be there, finite and positive; speed
 * is `npm run bench`'s business, never a test's.
 */
import { describe, expect, it } from 'vitest';
import { suite } from '../../bench/table-api.bench.js';
import { formatTable, type Metric } from '../../bench/lib/report.js';

/** The figures that are missing, not finite or not positive, named. */
function badFigures(metrics: readonly Metric[]): string[] {
  return metrics.flatMap((m) =>
    [m.median, m.p99Worst, m.baseline?.ratio ?? 1, ...m.samples]
      .filter((v) => !(Number.isFinite(v) && v > 0))
      .map((v) => `${m.workload} / ${m.name}: ${v}`),
  );
}

describe('table API benchmarks (tiny)', () => {
  it.each(suite.workloads.map((w) => [w.name, w] as const))(
    '%s runs and reports positive figures',
    async (_, workload) => {
      const metrics = await workload.run('tiny', () => {});
      expect(metrics.length).toBeGreaterThan(0);
      expect(badFigures(metrics)).toEqual([]);
      expect(formatTable(metrics).split('\n')).toHaveLength(metrics.length + 2);
    },
  );

  it('measures what the issue asks for', async () => {
    const names = suite.workloads.map((w) => w.name);
    expect(names).toEqual(['load', 'pool-holds-data', 'pool-tenth']);
  });
});
